"""DuckDB reads and writes the files itself: `run --engine duckdb` on CSV or Parquet.

The rows never pass through Python on the way in or out. DuckDB's own readers load the
file, a SQL pass converts and checks every value, and `COPY ... TO` writes the results.
The Python loader (runtime/data.py) stays the reference, and this path gives exactly its
answer the way the columnar strategy does (runtime/fastload.py):

- SQL converts only the value shapes whose meaning it can prove equal to data.py's: the
  fast-path patterns of fastload (plain keys, integers, decimals, true/false words, ISO 8601
  timestamps), converted with integer arithmetic. Every other value flags its row, and the
  flagged rows (a few, or none, in a clean file) are fetched as raw text with their row
  numbers and go through data.py's own row functions, which accept them or make the reject.
  Rows sharing a key are flagged together, so data.py reports duplicates as it would.
- A CSV file whose layout could make DuckDB and Python's csv module split rows differently
  (fastload's `screen_csv` decides), a Parquet column type outside the simple ones, or
  anything else unusual, and the file is read by the Python loader instead (`load` returns
  None) and handed to DuckDB as Arrow: slower, same answer.
- Output values are formatted in SQL as `output.format_value` formats them (whole numbers
  without `.0`, other numbers in shortest round-trip form, which DuckDB's cast to text
  shares with Python's repr), so the files are byte for byte those the Python writer makes.

tests/test_native.py holds the two paths to identical rejects, counts and output bytes on
a corpus of hostile files.
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compiler import ir
from ..compiler.text import fold
from . import data
from .csvscreen import CsvLayout, screen_csv
from .data import Reject
from .shapes import FALSE_WORDS, FLOAT, INT, ISO_IN_RANGE, PLAIN_KEY, TRUE_WORDS

US_PER_DAY = 86_400_000_000
# Parquet column types converted in SQL; any other sends the file to the Python loader
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
             "UBIGINT", "HUGEINT", "UHUGEINT"}
_FLOATS = {"FLOAT", "DOUBLE"}
_TIMES = {"TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "DATE"}
_SIMPLE = _INTEGERS | _FLOATS | _TIMES | {"VARCHAR", "BOOLEAN", '"NULL"', "NULL"}
_NEWLINES = {"\n": "'\\n'", "\r\n": "'\\r\\n'"}  # as read_csv spells them


class Unusual(Exception):
    """The file needs the Python loader: something this path cannot prove it reads alike."""


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal; DuckDB has no backslash escapes, so doubling quotes suffices."""
    if "\x00" in text:
        raise Unusual  # a NUL cannot be passed in DuckDB SQL text
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Side:
    """One input file loaded into a DuckDB table: how many rows it had and what was rejected."""

    table: str
    read: int
    rejects: list[Reject]
    extra: list[str] = field(default_factory=list)  # the file's columns not in the schema


# ---------------------------------------------------------------- raw columns
@dataclass
class _Source:
    """Where the raw values come from: a SELECT of the file's columns as c0..cN, the file's
    header, which header position each wanted column has, and whether values are typed."""

    path: str
    header: list[str]
    sql: str  # a SELECT giving c0..cN, and __row (the file row number) if `row` is None
    row: str | None  # the row number of the SELECT's rows, counted in file order
    index: dict[str, int]
    types: dict[str, str]  # wanted column -> DuckDB type of its raw values
    extra: list[str]
    csv: bool
    lines: int | None = None  # a CSV file's records, as the screen counted them


def _require(header: list[str], wanted: dict[str, str], path: str, schema: ir.Schema,
             side: str, row_key: str | None) -> tuple[dict[str, int], list[str]]:
    if row_key is not None:
        if row_key in header:
            raise Unusual  # the Python loader says why
        header = header + [row_key]
    index, extra = data._require(header, wanted, path, schema, side)
    return {w: index[w] for w in wanted if w != row_key}, extra


def _csv_source(path: Path, layout: CsvLayout, wanted: dict[str, str], schema: ir.Schema,
                side: str, row_key: str | None) -> _Source:
    index, extra = _require(layout.header, wanted, str(path), schema, side, row_key)
    cols = ", ".join(f"{literal(f'c{i}')}: 'VARCHAR'" for i in range(len(layout.header)))
    # explicit dialect, nothing sniffed: the layout screen_csv saw is the one read
    sql = (f"SELECT * FROM read_csv({literal(str(path))}, "
           f"header = true, auto_detect = false, columns = {{{cols}}}, "
           f"delim = {literal(layout.delimiter)}, quote = '\"', escape = '\"', "
           f"new_line = {_NEWLINES[layout.newline]}, strict_mode = true, null_padding = false, "
           # a longer line is an error, and the Python loader reads the file: the csv module
           # refuses a field over its limit (in characters, never more than the bytes)
           f"ignore_errors = false, comment = '', max_line_size = {csv.field_size_limit()}, "
           # an empty field is empty text, as the csv module reads it, not a NULL
           f"force_not_null = [{', '.join(literal(f'c{i}') for i in range(len(layout.header)))}])")
    # numbered above the conversions: a streaming row_number() runs on one thread, and the
    # rows reach it in file order (DuckDB preserves insertion order)
    return _Source(str(path), layout.header, sql, "row_number() OVER () + 1", index,
                   dict.fromkeys(index, "VARCHAR"), extra, True, layout.lines)


def _parquet_source(con: Any, path: Path, wanted: dict[str, str], schema: ir.Schema,
                    side: str, row_key: str | None) -> _Source:
    import duckdb

    src = f"read_parquet({literal(str(path))}, file_row_number = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    except duckdb.Error:
        raise Unusual from None  # unreadable: the Python loader reports it
    described = [(n, t) for n, t, *_ in described if n != "file_row_number"]
    header = [n for n, _ in described]
    if len(set(header)) != len(header) or "__row" in header:
        raise Unusual
    if any(t not in _SIMPLE for _, t in described):
        raise Unusual  # lists, structs, decimals, nanoseconds...: the Python loader
    index, extra = _require(header, wanted, str(path), schema, side, row_key)
    times = [n for n, t in described if t in _TIMES]
    if times:  # the Python loader refuses a file whose times Python cannot hold
        us = [f"epoch_us({quote(n)})" if t.startswith("TIMESTAMP WITH") else
              f"epoch_us(CAST({quote(n)} AS TIMESTAMP))" for n, t in described if t in _TIMES]
        bounds = ", ".join(f"min({u}), max({u})" for u in us)
        ends = con.execute(f"SELECT {bounds} FROM {src}").fetchall()[0]
        if any(v is not None and not data.MIN_TIMESTAMP_US <= v <= data.MAX_TIMESTAMP_US
               for v in ends):
            raise Unusual  # the Python loader makes each one a reject
    cols = ", ".join(f"{quote(n)} AS {quote(f'c{i}')}" for i, n in enumerate(header))
    sql = f"SELECT file_row_number + 1 AS __row, {cols} FROM {src}"
    types = {w: dict(described)[w] for w in index}
    return _Source(str(path), header, sql, None, index, types, extra, False)


# ---------------------------------------------------------------- conversions
@dataclass
class _Col:
    """One column's conversion: its value, and where data.py must decide instead (SQL over
    the raw value and the converted one, the column named by `slow`'s argument)."""

    value: str
    slow: Callable[[str], str]


def _never(v: str) -> str:
    return "false"


def _unconverted(s: str) -> Callable[[str], str]:
    """A text value the fast path did not convert: data.py says what it is."""
    return lambda v: f"({s} IS NOT NULL AND {s} <> '' AND {v} IS NULL)"


def _matches(s: str, pattern: str) -> str:
    return f"coalesce(regexp_full_match({s}, {literal(pattern)}), false)"


_NULL_TYPES = ("NULL", '"NULL"')  # an all-null Parquet column


def _has_nul(s: str) -> str:
    return f"coalesce(contains({s}, chr(0)), false)"


def _key(s: str, raw_type: str) -> _Col:
    if raw_type != "VARCHAR":
        raise Unusual  # numbers as keys: data.py normalises 7.0 to "7"
    # length counts code points, as Python's len does
    return _Col(s, lambda v: f"(NOT {_matches(s, PLAIN_KEY)} OR {_has_nul(s)} OR "
                             f"coalesce(length({s}) > {data.MAX_KEY_CHARS}, false))")


def _text(s: str, raw_type: str) -> _Col:
    if raw_type in _NULL_TYPES:
        return _Col("CAST(NULL AS VARCHAR)", _never)
    if raw_type != "VARCHAR":
        raise Unusual
    # strlen counts UTF-8 bytes
    return _Col(f"nullif({s}, '')", lambda v: f"({_has_nul(s)} OR "
                                              f"coalesce(strlen({s}) > {data.MAX_TEXT_BYTES}, false))")


def _number(s: str, raw_type: str, whole: bool) -> _Col:
    if raw_type in _NULL_TYPES:
        return _Col("CAST(NULL AS DOUBLE)", _never)
    most = data.MAX_NUMBER
    if raw_type in _INTEGERS:  # beyond MAX_NUMBER, compared exactly: data.py's reject
        return _Col(f"CAST({s} AS DOUBLE)",
                    lambda v: f"coalesce({s} > {most} OR {s} < -{most}, false)")
    if raw_type in _FLOATS:  # NaN is missing; infinities, huge numbers (and fractions in an
        x = f"CAST({s} AS DOUBLE)"  # int) are data.py's
        fits = f"isfinite({x}) AND abs({x}) <= {most}" + (f" AND {x} = trunc({x})" if whole else "")
        return _Col(f"CASE WHEN {fits} THEN {x} END",
                    lambda v: f"({s} IS NOT NULL AND NOT isnan({s}) AND {v} IS NULL)")
    if raw_type != "VARCHAR":
        raise Unusual
    if whole:
        return _Col(f"CASE WHEN {_matches(s, INT)} AND abs(TRY_CAST({s} AS BIGINT)) <= {most} "
                    f"THEN CAST(CAST({s} AS BIGINT) AS DOUBLE) END", _unconverted(s))
    x = f"TRY_CAST({s} AS DOUBLE)"
    return _Col(f"CASE WHEN {_matches(s, FLOAT)} AND isfinite({x}) AND abs({x}) <= {most} "
                f"THEN {x} END", _unconverted(s))


def _bool(s: str, raw_type: str) -> _Col:
    if raw_type in _NULL_TYPES:
        return _Col("CAST(NULL AS BOOLEAN)", _never)
    if raw_type == "BOOLEAN":
        return _Col(s, _never)
    if raw_type != "VARCHAR":
        raise Unusual
    # no character but A-Z lower-cases into these words, in DuckDB's mapping or Python's
    return _Col(f"CASE WHEN lower({s}) IN ({', '.join(map(literal, TRUE_WORDS))}) THEN true "
                f"WHEN lower({s}) IN ({', '.join(map(literal, FALSE_WORDS))}) THEN false END",
                _unconverted(s))


def _timestamp(s: str, raw_type: str) -> _Col:
    """A TIMESTAMP (naive UTC). Text is DuckDB's cast of the ISO 8601 shapes fastload
    converts, where every part is in the range Python's parser accepts: on those the two
    parsers cannot disagree, and any other spelling is data.py's to decide."""
    if raw_type in _NULL_TYPES:
        return _Col("CAST(NULL AS TIMESTAMP)", _never)
    if raw_type == "TIMESTAMP WITH TIME ZONE":  # the instant, without a time zone lookup
        return _Col(f"make_timestamp(epoch_us({s}))", _never)
    if raw_type == "DATE" or raw_type.startswith("TIMESTAMP"):
        return _Col(f"CAST({s} AS TIMESTAMP)", _never)
    if raw_type != "VARCHAR":
        raise Unusual
    # TIMESTAMP drops an offset, TIMESTAMPTZ applies it (at twice the cost): on the shapes
    # matched, an offset is there exactly when the sixth character from the end is a sign
    zoned = f"length({s}) > 16 AND substr({s}, -6, 1) IN ('+', '-')"
    return _Col(f"CASE WHEN NOT {_matches(s, ISO_IN_RANGE)} THEN NULL WHEN {zoned} THEN "
                f"CAST(TRY_CAST({s} AS TIMESTAMPTZ) AS TIMESTAMP) "
                f"ELSE TRY_CAST({s} AS TIMESTAMP) END", _unconverted(s))


def _convert(s: str, raw_type: str, type_: str) -> _Col:
    if type_ == "key":
        return _key(s, raw_type)
    if type_ == "text":
        return _text(s, raw_type)
    if type_ in ("int", "float"):
        return _number(s, raw_type, type_ == "int")
    if type_ == "bool":
        return _bool(s, raw_type)
    return _timestamp(s, raw_type)


# ---------------------------------------------------------------- loading one side
def _load(con: Any, schema: ir.Schema, src: _Source, table: str, wanted: dict[str, str],
          row_key: str | None,
          key: str | None, required: tuple[str, ...], strict: bool,
          from_records: Callable[[str, list[str], list, bool], Any]) -> Side:
    """Convert `src` into `table` (columns named as the schema's), flag what data.py must
    decide, and let it: accepted flagged rows are inserted, the others become rejects.
    A missing value in a `required` column is a reject, so it flags its row too."""
    if any(w.startswith("__") for w in wanted):
        raise Unusual  # the names of this module's own columns
    raw = {w: quote(f"c{i}") for w, i in src.index.items()}
    fields = {w: t for w, t in wanted.items() if w != row_key}
    cols = {w: _convert(raw[w], src.types[w], type_) for w, type_ in fields.items()}
    values = {w: quote(f"__v_{w}") for w in cols}
    flags = [f for w, c in cols.items() if (f := c.slow(values[w])) != "false"]
    flags += [f"{values[w]} IS NULL" for w in required]
    slow = " OR ".join(flags) or "false"
    # each value computed once, then the flags read it
    keep = ", ".join([quote(f"c{i}") for i in range(len(src.header))]
                     + ([] if src.row else ["__row"]))
    level1 = (f"SELECT {', '.join(f'{c.value} AS {values[w]}' for w, c in cols.items())}, "
              f"{keep} FROM ({src.sql})")
    select = ", ".join(f"{values[w]} AS {quote(w)}" for w in cols)
    converted = f"SELECT {select}, {slow} AS __slow{'' if src.row else ', __row'} FROM ({level1})"
    numbered = "SELECT * EXCLUDE (__slow), __slow"
    row = "__row"
    if src.row and key is None and row_key is None:
        # nothing here needs the number but the flagged rows: the table's rowid is the row's
        # place in the file (insertion order is kept), and no streaming row_number() holds
        # the whole load on one thread
        row = "(rowid + 2)"
    elif src.row:
        numbered += f", {src.row} AS __row"
    if row_key is not None:  # the key is the row number
        numbered = (f"SELECT *, CAST(__row AS VARCHAR) AS {quote(row_key)} "
                    f"FROM ({numbered} FROM ({converted}))")
    elif key is not None:  # rows sharing a key: data.py, together, in order
        numbered = (f"SELECT * EXCLUDE (__slow), __slow OR count(*) OVER (PARTITION BY "
                    f"{quote(key)}) > 1 AS __slow FROM ({numbered} FROM ({converted}))")
    else:
        numbered = f"{numbered} FROM ({converted})"
    con.execute(f"CREATE TEMP TABLE {quote(table)} AS {numbered}")
    read, flagged = con.execute(f"SELECT count(*), count(*) FILTER (WHERE __slow) "
                                f"FROM {quote(table)}").fetchall()[0]
    if src.csv and read != src.lines:
        raise Unusual  # DuckDB split the rows otherwise than the screen counted
    rejects: list[Reject] = []
    if flagged:  # their raw values, read again from the file (a clean file has none)
        scan = f"SELECT *, {src.row} AS __row FROM ({src.sql})" if src.row else src.sql
        rows = con.execute(f"SELECT __row, {', '.join(raw.values())} FROM ({scan}) WHERE "
                           f"__row IN (SELECT {row} FROM {quote(table)} WHERE __slow) "
                           "ORDER BY __row").fetchall()
        header = src.header + ([row_key] if row_key is not None else [])
        records = []
        for rowno, *values in rows:
            rec: list[Any] = [""] * len(header) if src.csv else [None] * len(header)
            for w, v in zip(raw, values):
                rec[src.index[w]] = v
            if row_key is not None:
                rec[-1] = str(rowno)
            records.append((rowno, rec))
        con.execute(f"DELETE FROM {quote(table)} WHERE __slow")
        if key is not None and row_key is None:
            _same_key_both_ways(con, table, key, records, src.index[key])
        got = from_records(src.path, header, records, strict)
        rejects = got.rejects
        _insert(con, table, schema, got)
    return Side(table, read, rejects, src.extra)


def _same_key_both_ways(con: Any, table: str, key: str, records: list, at: int) -> None:
    """` L1` (data.py's key L1) flagged while `L1` loaded: only a sequential read can say
    which row is the duplicate, so the Python loader reads the file."""
    keys = set()
    for _, rec in records:
        try:
            k = data.lead_key(rec[at])
        except ValueError:
            continue
        if k is not None:
            keys.add(k)
    if keys:
        import pyarrow as pa

        from .columnar import array  # pa.array of Python values would import pandas

        con.register("__flagged_keys", pa.table({"k": array(sorted(keys), pa.string())}))
        clash = con.execute(f"SELECT count(*) FROM {quote(table)} WHERE {quote(key)} IN "
                            "(SELECT k FROM __flagged_keys)").fetchall()[0][0]
        con.unregister("__flagged_keys")
        if clash:
            raise Unusual


def _insert(con: Any, table: str, schema: ir.Schema, got: Any) -> None:
    """The rows data.py accepted, appended to `table` with the same column types (the
    Arrow columns every engine loads, runtime/columnar.py)."""
    from .columnar import event_table, lead_table

    leads = isinstance(got, data.Leads)
    t = lead_table(schema, got) if leads else event_table(schema, got)
    if not t.num_rows:
        return
    fields = schema.lead_fields if leads else {**schema.event_fields, schema.event_time: "timestamp"}
    stamps = {n for n, ty in fields.items() if ty == "timestamp"}
    names = t.column_names
    cols = ", ".join(f"make_timestamp({quote(n)})" if n in stamps else quote(n) for n in names)
    con.register("__accepted", t)
    con.execute(f"INSERT INTO {quote(table)} ({', '.join(map(quote, names))}) "
                f"SELECT {cols} FROM __accepted")
    con.unregister("__accepted")


def _source(con: Any, path: Path, wanted: dict[str, str], schema: ir.Schema, side: str,
            delimiter: str | None, row_key: str | None) -> _Source:
    if not path.is_file():
        raise Unusual  # the Python loader says what is wrong with the path
    if path.suffix.lower() in (".parquet", ".pq"):
        return _parquet_source(con, path, wanted, schema, side, row_key)
    layout = screen_csv(path, delimiter)
    if layout is None:
        raise Unusual
    return _csv_source(path, layout, wanted, schema, side, row_key)


def load_leads(con: Any, path: str | Path, schema: ir.Schema, table: str,
               delimiter: str | None, strict: bool, row_key: bool) -> Side | None:
    """The leads file in `table`, or None when the Python loader must read it."""
    import duckdb

    key = schema.lead_key

    def load(s: ir.Schema) -> Side:
        wanted = {key: "key", **s.lead_fields}
        src = _source(con, Path(path), wanted, s, "lead", delimiter, key if row_key else None)
        return _load(con, s, src, table, wanted, key if row_key else None, key, (), strict,
                     lambda p, h, r, st: data.leads_from_records(p, h, r, s, st))

    try:
        side = data.optional_absent(load, schema)
        for c in ir.OPTIONAL_LEAD_COLUMNS & set(schema.lead_fields):  # absent: all null
            con.execute(f"ALTER TABLE {quote(table)} ADD COLUMN IF NOT EXISTS {quote(c)} VARCHAR")
        return side
    except (Unusual, duckdb.Error):
        _drop(con, table)
        return None


def load_events(con: Any, path: str | Path, schema: ir.Schema, table: str,
                delimiter: str | None, strict: bool) -> Side | None:
    """The events file in `table`, or None when the Python loader must read it."""
    import duckdb

    wanted = {schema.event_lead: "key", schema.event_time: "timestamp",
              schema.event_type: "text", **schema.event_fields}
    try:
        src = _source(con, Path(path), wanted, schema, "event", delimiter, None)
        return _load(con, schema, src, table, wanted, None, None,
                     (schema.event_time, schema.event_type), strict,
                     lambda p, h, r, s: data.events_from_records(p, h, r, schema, s))
    except (Unusual, duckdb.Error):
        _drop(con, table)
        return None


def _drop(con: Any, table: str) -> None:
    con.execute(f"DROP TABLE IF EXISTS {quote(table)}")


# ---------------------------------------------------------------- counts
def event_counts(con: Any, schema: ir.Schema, leads: str, events: str,
                 as_of_us: int) -> tuple[int, int, Counter]:
    """As columnar.event_counts: (events for unknown leads, after as_of, undeclared types),
    from one pass joining the events to the lead keys."""
    lead, time, typ, key = (quote(schema.event_lead), quote(schema.event_time),
                            quote(schema.event_type), quote(schema.lead_key))
    groups = con.execute(
        f"SELECT l.k IS NULL, epoch_us(e.{time}) > {as_of_us}, e.{typ}, count(*) "
        f"FROM {quote(events)} e LEFT JOIN (SELECT {key} AS k FROM {quote(leads)}) l "
        f"ON e.{lead} = l.k GROUP BY ALL").fetchall()
    unknown = late = 0
    undeclared: Counter = Counter()
    declared = set(schema.event_types)
    for is_unknown, is_late, t, n in groups:
        if is_unknown:
            unknown += n
        elif is_late:
            late += n
        elif declared and (t := fold(t)) not in declared:
            undeclared[t] += n
    return unknown, late, undeclared


# ---------------------------------------------------------------- writing
def formatted(query: str, columns: list[str], numeric: set[str]) -> str:
    """The query's rows with each value as `output.format_value` writes it."""
    cols = []
    for c in columns:
        v = f"q.{quote(c)}"
        if c in numeric:
            cols.append(f"CASE WHEN isnan({v}) THEN NULL WHEN {v} = trunc({v}) AND abs({v}) < 1e15 "
                        f"THEN CAST(CAST({v} AS BIGINT) AS VARCHAR) ELSE CAST({v} AS VARCHAR) END "
                        f"AS {quote(c)}")
        else:  # an empty text and a missing one are both written as nothing
            cols.append(f"nullif(CAST({v} AS VARCHAR), '') AS {quote(c)}")
    return f"SELECT {', '.join(cols)} FROM ({query}) q ORDER BY 1"


def typed(query: str, columns: list[str], numeric: set[str]) -> str:
    """The query's rows as the Parquet writer stores them: DOUBLE numbers (NaN missing),
    text for the rest; a zero as +0, as output.rows_table writes it."""
    cols = [f"CASE WHEN isnan(q.{quote(c)}) THEN NULL ELSE CAST(q.{quote(c)} AS DOUBLE) + 0.0 END "
            f"AS {quote(c)}" if c in numeric else f"CAST(q.{quote(c)} AS VARCHAR) AS {quote(c)}"
            for c in columns]
    return f"SELECT {', '.join(cols)} FROM ({query}) q ORDER BY 1"


def copy_to(con: Any, query: str, columns: list[str], numeric: set[str], path: str) -> int | None:
    """Write the query's rows to `path` atomically, byte for byte as output.write_rows
    would: how many; None for a format the engine does not write alike (the caller does).

    CSV is written by DuckDB's COPY. Parquet goes from DuckDB to pyarrow's writer as Arrow
    columns (no Python values): the same writer as the Python path, so the same bytes."""
    from .output import _atomic_write

    ext = Path(path).suffix.lower()
    written: list[int] = []
    if ext == ".csv":
        sql = formatted(query, columns, numeric)
        options = "FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', COMMENT ''"

        def write(tmp: Path) -> None:
            written.append(con.execute(f"COPY ({sql}) TO {literal(str(tmp))} ({options})")
                           .fetchall()[0][0])
    elif ext in (".parquet", ".pq"):
        def write(tmp: Path) -> None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([(c, pa.float64() if c in numeric else pa.string()) for c in columns])
            table = con.sql(typed(query, columns, numeric)).to_arrow_table()
            table = pa.Table.from_arrays([table.column(i).cast(f.type).combine_chunks()
                                          for i, f in enumerate(schema)], schema=schema)
            pq.write_table(table, tmp)
            written.append(table.num_rows)
    else:
        return None
    _atomic_write(Path(path), write)
    return written[0]


# ---------------------------------------------------------------- the whole job
@dataclass
class NativeRun:
    """What `run_files` did: the sides as loaded, the counts, and the rows when the caller
    asked for them (no `out`) or the writer could not write the format itself."""

    leads: Side
    events: Side | None
    unknown: int
    late: int
    undeclared: Counter
    count: int  # lead rows scored (and written, with `out`)
    rows: list[tuple] | None
    account_rows: list[tuple] | None
    accounts_count: int | None


def _side_from_python(con: Any, model: ir.Model, table: str, leads: Any, events: Any) -> Side:
    """Data the Python loader read, handed to DuckDB as an Arrow table (no copy)."""
    from .columnar import arrow_tables

    lead_t, event_t = arrow_tables(model, leads, events, None)
    con.register(table, lead_t if events is None else event_t)
    got = leads if events is None else events
    return Side(table, got.read, got.rejects, got.extra)


def run_files(model: ir.Model, leads_path: str | Path, events_path: str | Path | None,
              as_of_us: int, delimiter: str | None = None, strict: bool = False,
              row_key: bool = False, out: str | None = None, accounts: str | None = None,
              progress: data.Progress | None = None,
              memory_limit: str | None = None) -> NativeRun:
    """Load, validate, count, score and write, all in one DuckDB connection; a file the SQL
    path cannot prove it reads alike is read by the Python loader and handed over as Arrow.
    With `memory_limit` (DuckDB's setting, e.g. "2GB") the engine spills to a temporary
    directory beyond it."""
    import duckdb

    from .warehouses import EngineError

    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        with limited(con, memory_limit):
            return _run(con, model, leads_path, events_path, as_of_us, delimiter, strict,
                        row_key, out, accounts, progress)
    except duckdb.Error as err:  # out of memory, a disk full while spilling, ...
        raise EngineError(f"duckdb: {str(err).splitlines()[0]}") from None
    finally:
        con.close()


@contextmanager
def limited(con: Any, memory_limit: str | None) -> Iterator[None]:
    """With `memory_limit`, DuckDB's memory capped and spilling to a temporary directory of
    its own, removed after; a limit DuckDB does not understand is a clear error."""
    if memory_limit is None:
        yield
        return
    import duckdb

    from .warehouses import EngineError

    with tempfile.TemporaryDirectory(prefix="leadscore-spill-") as spill:
        try:
            con.execute(f"SET memory_limit = {literal(memory_limit)}")
        except (duckdb.Error, Unusual) as err:
            raise EngineError(f"--memory-limit {memory_limit!r}: {str(err).splitlines()[0]} "
                              "(write a size such as 2GB or 500MB)") from None
        con.execute(f"SET temp_directory = {literal(spill)}")
        yield


def _run(con: Any, model: ir.Model, leads_path: str | Path, events_path: str | Path | None,
         as_of_us: int, delimiter: str | None, strict: bool, row_key: bool, out: str | None,
         accounts: str | None, progress: data.Progress | None) -> NativeRun:
    from ..backends.sql import build_query
    from ..engines import DIALECTS
    from .warehouses import Job

    dialect = DIALECTS["duckdb"]
    schema = model.schema
    lt, et = "leadscore_leads", "leadscore_events"
    if progress:
        progress(f"reading {Path(leads_path).name}", 0, 1)
    leads = load_leads(con, leads_path, schema, lt, delimiter, strict, row_key)
    if leads is None:
        got = data.read_leads(leads_path, schema, delimiter, strict, row_key)
        leads = _side_from_python(con, model, lt, got, None)
    events = None
    if schema.has_events:
        if progress:
            progress(f"reading {Path(events_path).name}", 0, 1)
        if events_path is not None:
            events = load_events(con, events_path, schema, et, delimiter, strict)
        if events is None:
            got_e = (data.read_events(events_path, schema, delimiter, strict)
                     if events_path is not None else data.empty_events(schema))
            empty = data.Leads([], {n: [] for n in schema.lead_fields}, [])
            events = _side_from_python(con, model, et, empty, got_e)
        unknown, late, undeclared = event_counts(con, schema, lt, et, as_of_us)
    else:
        unknown, late, undeclared = 0, 0, Counter()
    if progress:
        progress("scoring on duckdb", 0, 1)
    job = Job(model, None, None, as_of_us)
    query = dialect.render(build_query(model, dialect, as_of_us, lt, et, previous_tier=True),
                           pretty=False)
    columns = [schema.lead_key] + [c for c, _ in model.outputs]
    numeric = {*model.scores, "total"}
    rows = None
    count = None if out is None else copy_to(con, query, columns, numeric, out)
    if count is None:
        rows = job.normalize(con.execute(query).fetchall())
        count = len(rows)
    account_rows = accounts_count = None
    if accounts is not None:
        from ..backends.account_sql import account_query

        acc_query = dialect.render(account_query(model, dialect, as_of_us, lt, et,
                                                 previous_tier=True), pretty=False)
        acc_cols = [model.account.field] + [c for c, _ in model.account.outputs]
        accounts_count = copy_to(con, acc_query, acc_cols, {"score", "total"}, accounts)
        if accounts_count is None:
            account_rows = Job(model, None, None, as_of_us, "accounts").normalize(
                con.execute(acc_query).fetchall())
            accounts_count = len(account_rows)
    return NativeRun(leads, events, unknown, late, undeclared, count, rows, account_rows,
                     accounts_count)


def score_tables(model: ir.Model, db: str | None, as_of_us: int, out: str,
                 memory_limit: str | None = None) -> int | None:
    """Score the schema's own tables in the DuckDB file `db` (opened read-only) and write the
    rows to `out` from the engine: how many; None for a format it does not write alike."""
    import duckdb

    from ..backends.sql import build_query
    from ..engines import DIALECTS
    from .warehouses import EngineError, Job

    if Path(out).suffix.lower() not in (".csv", ".parquet", ".pq"):
        return None
    dialect = DIALECTS["duckdb"]
    tables = Job(model, None, None, as_of_us).own_tables()
    try:
        con = duckdb.connect(db or ":memory:", read_only=db is not None)
    except duckdb.Error as err:
        raise EngineError(f"duckdb: cannot open {db}: {err}") from None
    try:
        con.execute("SET TimeZone = 'UTC'")
        query = dialect.render(build_query(model, dialect, as_of_us, tables.leads, tables.events),
                               pretty=False)
        columns = [model.schema.lead_key] + [c for c, _ in model.outputs]
        try:
            with limited(con, memory_limit):
                return copy_to(con, query, columns, {*model.scores, "total"}, out)
        except duckdb.Error as err:
            raise EngineError(f"duckdb: {str(err).splitlines()[0]}") from None
    finally:
        con.close()
