"""Reading lead and event data: typed, validated, and nothing dropped silently.

Every row either loads or becomes a `Reject` with its file, row number (the
line it starts on, the header being line 1), column, value and reason.

`read_leads`/`read_events` are the one way to read a file. They try the columnar strategy
(runtime/fastload.py: Arrow, several times faster, used only where it gives exactly this
module's answer) and fall back to the row strategy here, which defines that answer.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from ..compiler import ir
from ..compiler.diagnostics import did_you_mean

Progress = Callable[[str, int, int], None]  # (stage, done, total)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}

# The limits of a value every engine stores and computes with alike (docs/language.md, "Data
# values"). A value beyond them is a reject with its row number, on every reader.
# Instants: UTC years 1..9999, what Python's datetime, Spark's TIMESTAMP and the DATETIME(6)
# MariaDB accepts hold (SQLite's and PostgreSQL's runners bind datetimes; ISO text has 4 digits).
MIN_TIMESTAMP_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
MAX_TIMESTAMP_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z
# Numbers: |x| <= 2^53, where every whole number is exact in float64 (and in JSON readers);
# sums of such values cannot overflow float64 (PostgreSQL raises "value out of range").
MAX_NUMBER = 2 ** 53
# Text: MySQL/MariaDB TEXT holds 65 535 bytes and refuses a longer value in strict mode.
MAX_TEXT_BYTES = 65_535
# Keys: the MySQL/MariaDB key column is VARCHAR(255) (characters), indexed for the join.
MAX_KEY_CHARS = 255
NUL = "\x00"  # SQLite's C strings and PostgreSQL's text end at it: never in a value


class DataError(Exception):
    """Input data that cannot be used at all (missing file or columns, bad row in --strict)."""


class _Absent(Exception):
    """The leads lack optional columns (`ir.OPTIONAL_LEAD_COLUMNS`): read without them."""

    def __init__(self, columns: list[str]):
        super().__init__(columns)
        self.columns = columns


def optional_absent(read: Callable[[ir.Schema], Any], schema: ir.Schema) -> Any:
    """`read(schema)`, or, when the leads lack an optional column, `read` of the schema
    without it and the column added all null: what a leads input without a previous tier
    means (docs/language.md, "Sticky tiers")."""
    try:
        return read(schema)
    except _Absent as err:
        absent = err.columns
    got = read(replace(schema, lead_fields={n: t for n, t in schema.lead_fields.items()
                                            if n not in absent}))
    if not isinstance(got, Leads):
        return got  # a table the caller completes (runtime/native.py)
    from .fastload import ArrowLeads

    if isinstance(got, ArrowLeads):  # its lists come from its Arrow table
        import pyarrow as pa

        for c in absent:
            got.table = got.table.append_column(c, pa.nulls(got.table.num_rows, pa.string()))
    else:
        got.columns = {n: got.columns[n] if n in got.columns else [None] * len(got.keys)
                       for n in schema.lead_fields}
    return got


@dataclass
class Reject:
    file: str
    row: int
    column: str | None
    value: str | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.row}"
        col = f" column {self.column!r}" if self.column else ""
        value = self.value
        if value is not None and len(value) > 80:  # a runaway field: enough to find it
            value = value[:77] + "…"
        val = f" value {value!r}" if value is not None else ""
        return f"{where}:{col}{val}: {self.reason}"


@dataclass
class Leads:
    keys: list[str]
    columns: dict[str, list[Any]]  # field -> typed values (timestamps as microseconds)
    rows: list[int]  # source row number per lead
    read: int = 0
    rejects: list[Reject] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # columns not in the schema (ignored)


@dataclass
class Events:
    leads: list[str]
    times: list[int]  # microseconds since epoch, UTC
    types: list[str]
    columns: dict[str, list[Any]]
    read: int = 0
    rejects: list[Reject] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # columns not in the schema (ignored)


def to_us(dt: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Instant(int):
    """Microseconds since the epoch (UTC) of a typed timestamp that Python's datetime may not
    hold (a Parquet or Arrow value of year 10000 UTC): `convert` checks it like any other."""

    def __str__(self) -> str:
        """ISO 8601 in UTC, for any year (H. Hinnant's civil_from_days)."""
        days, us = divmod(int(self), 86_400_000_000)
        z = days + 719_468
        era, doe = divmod(z, 146_097)
        yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        month = mp + 3 if mp < 10 else mp - 9
        year = yoe + era * 400 + (month <= 2)
        secs, frac = divmod(us, 1_000_000)
        clock = f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}" + (f".{frac:06d}" if frac
                                                                               else "")
        return f"{year:04d}-{month:02d}-{doy - (153 * mp + 2) // 5 + 1:02d}T{clock}Z"


_CYCLE_US = 146_097 * 86_400_000_000  # 400 Gregorian years: the calendar repeats


def in_range(us: int) -> int:
    """`us` if it is an instant of the accepted years; else ValueError, the reject's reason."""
    if not MIN_TIMESTAMP_US <= us <= MAX_TIMESTAMP_US:
        raise ValueError("the instant is outside the years 0001..9999 UTC")
    return us


def parse_timestamp(text: str) -> int:
    """ISO 8601 (`Z`, an offset, or none meaning UTC; a bare date is midnight UTC), an
    instant of UTC years 1..9999 (`0000-12-31T23:00:00-02:00` is one: year 1 in UTC)."""
    s = text.strip()
    if not s:
        raise ValueError("empty timestamp")
    if s.startswith("0000-"):  # Python has no year 0: read it 400 years on, then go back
        try:
            us = _parse("0400" + s[4:]) - _CYCLE_US
        except ValueError:
            pass  # not a timestamp at all: said below
        else:
            return in_range(us)
    return in_range(_parse(s))


def _parse(s: str) -> int:
    try:
        return to_us(datetime.fromisoformat(s))
    except ValueError:
        pass
    try:
        d = date.fromisoformat(s)
    except ValueError:
        raise ValueError("not an ISO 8601 timestamp such as 2026-03-01T09:30:00Z") from None
    return to_us(datetime(d.year, d.month, d.day))


def convert(value: Any, type_: str) -> Any:
    """Convert one raw value (CSV text or a typed value) to the schema type; None is missing.

    Anything that does not fit raises ValueError with the reason a user reads.
    """
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):  # Parquet binary columns
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("found binary data that is not UTF-8 text") from None
    if isinstance(value, (list, tuple, dict, set)):  # Parquet list, struct and map columns
        raise ValueError(f"expected {_TYPE_WORDS[type_]}, found a {type(value).__name__}")
    try:
        return _convert(value, type_)
    except OverflowError:
        raise ValueError("the number is too large") from None
    except TypeError:
        raise ValueError(f"expected {_TYPE_WORDS[type_]}, found a {type(value).__name__}") from None


_TOO_BIG = "the number is beyond ±2^53 (9007199254740992), the exact range of every engine"


def _checked_text(value: str) -> str:
    if NUL in value:
        raise ValueError("text holds a NUL character (U+0000)")
    if len(value) > MAX_TEXT_BYTES // 4 and len(value.encode("utf-8")) > MAX_TEXT_BYTES:
        raise ValueError(f"text longer than {MAX_TEXT_BYTES} bytes (UTF-8), the most MySQL's "
                         "TEXT holds")
    return value


_TYPE_WORDS = {"text": "text", "int": "a whole number", "float": "a number", "bool": "true/false",
               "timestamp": "a timestamp"}


def _convert(value: Any, type_: str) -> Any:
    if isinstance(value, Instant) and type_ != "timestamp":
        raise ValueError(f"expected {_TYPE_WORDS[type_]}, found a timestamp outside the years "
                         "0001..9999")
    if type_ == "text":
        if isinstance(value, str):
            return _checked_text(value) if value != "" else None
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if type_ == "int":
        if isinstance(value, bool):
            raise ValueError("expected a whole number, found a boolean")
        if isinstance(value, int):
            whole = value
        elif isinstance(value, (float, Decimal)):
            if not math.isfinite(value) or value != int(value):  # int(Decimal) would truncate
                raise ValueError("expected a whole number")
            whole = int(value)
        else:
            try:
                whole = int(value)
            except ValueError:
                raise ValueError("expected a whole number") from None
        if abs(whole) > MAX_NUMBER:  # the exact value: float() would round it into range
            raise ValueError(_TOO_BIG)
        return float(whole)
    if type_ == "float":
        if isinstance(value, bool):
            raise ValueError("expected a number, found a boolean")
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        if not math.isfinite(f):
            raise ValueError("expected a finite number")
        if abs(f) > MAX_NUMBER:
            raise ValueError(_TOO_BIG)
        return f
    if type_ == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError("expected true/false (or yes/no, 1/0)")
    if type_ == "timestamp":
        if isinstance(value, Instant):
            return in_range(int(value))
        if isinstance(value, datetime):
            return in_range(to_us(value))
        if isinstance(value, date):
            return to_us(datetime(value.year, value.month, value.day))
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            raise ValueError("expected an ISO 8601 timestamp, found a number")
        return parse_timestamp(str(value))
    raise AssertionError(type_)


# ---------------------------------------------------------------- reading records
class BadRecord(list):
    """A CSV record that cannot be split into fields: rejected with `reason`, never dropped.

    An (empty) list, so code that only wants values sees a row of missing values.
    """

    def __init__(self, reason: str, raw: str) -> None:
        super().__init__()
        self.reason = reason
        self.raw = raw


def _csv_records(path: Path, delimiter: str | None) -> tuple[list[str], Iterable[tuple[int, list]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not valid UTF-8 (byte {err.start})") from None
    try:
        return csv_text_records(text, delimiter)
    except DataError as err:
        raise DataError(f"{path}: {err}") from None


def _unclosed(lines: list[str], delimiter: str) -> bool:
    """Whether a quoted field opened in `lines` is still open at the end of them."""
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        try:
            for _ in reader:
                pass
            return False
        except csv.Error as err:  # strict mode also objects to `"a"b`; keep looking
            if "end of data" in str(err):
                return True


def _shown(line: str) -> str:
    line = line.rstrip("\r\n")
    return line if len(line) <= 200 else line[:200] + "…"


DELIMITERS = (",", ";", "\t", "|")


def detect_delimiter(header: str) -> str:
    """The delimiter of a CSV file from its header line: the one of DELIMITERS found most
    often outside quotes (a quoted column name may hold `;` or `,`), else a comma."""
    outside = "".join(header.split('"')[0::2])  # `""` inside quotes splits twice: still inside
    best = max(DELIMITERS, key=outside.count)
    return best if outside.count(best) else ","


def csv_text_records(text: str, delimiter: str | None = None):
    """(header, numbered records) of CSV text; row numbers are file line numbers.

    A record that cannot be read becomes a `BadRecord` and reading goes on: a field over
    the csv module's size limit, or a quote opened and never closed (which would otherwise
    swallow every following row into one value).
    """
    lines = io.StringIO(text, newline="").readlines()  # "\n", "\r\n" and "\r", as csv counts
    start = 0
    while start < len(lines) and not lines[start].strip():  # blank lines before the header
        start += 1
    if start == len(lines):
        raise DataError("the file is empty (expected a header row)")
    if delimiter is None:
        delimiter = detect_delimiter(lines[start])
    reader = csv.reader(lines[start:], delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as err:
        raise DataError(f"line {start + 1}: cannot read the header row: {err}") from None
    body = start + reader.line_num  # index of the first line after the header
    if body == len(lines) and _unclosed(lines[start:], delimiter):
        raise DataError(f"line {start + 1}: the header row opens a quote that is never closed")
    header = [h.strip() for h in header]
    return header, _csv_rows(lines, body, delimiter)


def _csv_rows(lines: list[str], start: int, delimiter: str):
    """Records of lines[start:] as (line number, fields); blank lines are skipped."""
    while start < len(lines):
        reader = csv.reader(islice(lines, start, None), delimiter=delimiter)
        done = 0  # lines this reader has consumed
        restart = None
        while restart is None:
            try:
                for rec in reader:
                    at = start + done + 1  # the line the record starts on
                    done = reader.line_num
                    if start + done == len(lines) and len(rec) and _unclosed(lines[at - 1:],
                                                                             delimiter):
                        yield at, BadRecord("a quoted value starts on this row and is never "
                                            "closed", _shown(lines[at - 1]))
                        restart = at  # read on from the next line: no row is swallowed
                        break
                    if rec:
                        yield at, rec
                else:
                    break
            except csv.Error as err:
                at = start + done + 1
                done = reader.line_num
                yield at, BadRecord(f"cannot read this row as CSV: {err}", _shown(lines[at - 1]))
        if restart is None:
            return
        start = restart


def _parquet_records(path: Path) -> tuple[list[str], Iterable[tuple[int, list]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for unreadable files
        raise DataError(f"{path}: cannot read Parquet: {err}") from None
    header = list(table.column_names)
    columns = []
    for i, name in enumerate(header):
        try:
            columns.append(python_values(table.column(i)))
        except DataError as err:
            raise DataError(f"{path}: column {name!r} {err}") from None

    def rows():
        for i in range(table.num_rows):
            yield i + 1, [c[i] for c in columns]

    return header, rows()


def python_values(col: Any) -> list:
    """An Arrow column's values as Python values; times Python's datetime cannot hold (years
    past 9999 or before 1) as `Instant`s, so each is a reject of its own row."""
    import pyarrow as pa

    try:
        return col.to_pylist()
    except (ValueError, OverflowError, TypeError, ArithmeticError) as err:
        t = col.type
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            try:
                us = col.cast(pa.timestamp("us", getattr(t, "tz", None))).cast(pa.int64())
            except pa.ArrowInvalid:  # sub-microsecond times: no exact instant to check
                pass
            else:
                return [None if v is None else Instant(v) for v in us.to_pylist()]
        raise DataError(f"({t}) has values Python cannot hold: {err}") from None


def records(path: str | Path, delimiter: str | None = None):
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, not a data file")
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            return _parquet_records(p)
        return _csv_records(p, delimiter)
    except OSError as err:  # unreadable (permissions, a device, ...): the user's to fix
        raise DataError(f"{p}: cannot read: {err.strerror or err}") from None


def _require(header: list[str], wanted: dict[str, str], path: str, schema: ir.Schema,
             side: str) -> tuple[dict[str, int], list[str]]:
    """Column positions of the schema's columns, and the file's other (ignored) columns."""
    index: dict[str, int] = {}
    twice: list[str] = []
    for i, name in enumerate(header):
        if name in index and name in wanted and name is not None and name not in twice:
            twice.append(name)
        index.setdefault(name, i)
    if twice:  # which one holds the data is a guess: refuse rather than pick
        cols = "; ".join(f"{c!r} is column " + " and ".join(str(i + 1) for i, h in enumerate(header)
                                                             if h == c) for c in twice)
        raise DataError(f"{path}: the header names a column twice: {cols}")
    missing = [c for c in wanted if c not in index]
    absent = [c for c in missing if side == "lead" and c in ir.OPTIONAL_LEAD_COLUMNS]
    if absent:
        raise _Absent(absent)
    if missing:
        present = [h for h in header if h]
        lines = []
        for c in missing:
            origin = schema.origins.get(f"{side}:{c}")
            hint = did_you_mean(c, [h for h in present if h not in wanted])
            if hint is None and side == "lead" and wanted[c] == "key":
                hint = "for a file without a key column, run, fit and calibrate take --row-key"
            lines.append(f"  {c!r}" + (f" (declared at {origin})" if origin else "")
                         + (f"; {hint}" if hint else ""))
        has = ", ".join(present[:50]) + (f", … ({len(present)} columns)" if len(present) > 50 else "")
        raise DataError(f"{path}: missing column{'s' if len(missing) > 1 else ''}:\n"
                        + "\n".join(lines) + f"\n  the file has: {has or '(no column names)'}")
    extra = list(dict.fromkeys(h or f"(unnamed column {i + 1})" for i, h in enumerate(header)
                               if h not in wanted))
    return index, extra


def _strict_stop(reject: Reject, strict: bool) -> None:
    if strict:
        raise DataError(f"{reject} (stopped by --strict)")


def lead_key(value: Any) -> str | None:
    """A lead key as text: the same lead whether a file stores it as text, int or float."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, float) and value.is_integer():  # pandas turns an int column with
        key: str | None = str(int(value))  # gaps into floats: 7.0 is 7
    else:
        key = convert(value, "text").strip() or None
    if key is not None and len(key) > MAX_KEY_CHARS:
        raise ValueError(f"a key longer than {MAX_KEY_CHARS} characters, the most MySQL's key "
                         "column holds")
    return key


def _shape(path: str, rowno: int, rec: list, width: int) -> Reject | None:
    """A row that cannot be lined up with the header."""
    if isinstance(rec, BadRecord):
        return Reject(path, rowno, None, rec.raw, rec.reason)
    if len(rec) > width:
        spill = [v for v in rec[width:] if v is not None and str(v).strip()]
        if spill:  # trailing empty fields (`a,b,c,`) are harmless, values are not
            return Reject(path, rowno, None, str(spill[0]),
                          f"the row has {len(rec)} values but the header {width} columns "
                          "(a delimiter inside an unquoted value?)")
    return None


def _convert_fields(path: str, rowno: int, rec: list, fields: list[tuple[str, str, int]],
                    values: list[Any]) -> Reject | None:
    for name, type_, i in fields:
        try:
            values.append(convert(rec[i], type_))
        except ValueError as err:
            return Reject(path, rowno, name, None if rec[i] is None else str(rec[i]), str(err))
    return None


def read_leads(path: str | Path, schema: ir.Schema, delimiter: str | None = None,
               strict: bool = False, row_key: bool = False,
               progress: Progress | None = None) -> Leads:
    """Leads from a CSV or Parquet file; with `row_key`, the file has no key column and each
    row's number (the file line it starts on) is its key. `progress(stage, done, total)` is
    called while a large file is read; it never changes the result."""
    from .fastload import read_leads_columnar  # Arrow and numpy: imported when data is read

    def read(s: ir.Schema) -> Leads:
        got = read_leads_columnar(path, s, delimiter, strict, row_key, progress)
        return got if got is not None else read_leads_by_row(path, s, delimiter, strict, row_key)

    return optional_absent(read, schema)


def read_events(path: str | Path, schema: ir.Schema, delimiter: str | None = None,
                strict: bool = False, progress: Progress | None = None) -> Events:
    """Events from a CSV or Parquet file (see `read_leads`)."""
    from .fastload import read_events_columnar

    got = read_events_columnar(path, schema, delimiter, strict, progress)
    return got if got is not None else read_events_by_row(path, schema, delimiter, strict)


def read_leads_by_row(path: str | Path, schema: ir.Schema, delimiter: str | None = None,
                      strict: bool = False, row_key: bool = False) -> Leads:
    """`read_leads` by the row strategy alone: the answer the columnar one must equal."""
    header, rows = records(path, delimiter)
    if row_key:
        if schema.lead_key in header:
            raise DataError(f"{path}: has a column {schema.lead_key!r}, the schema's key: use it "
                            "(leave out --row-key) or rename it")
        rows = numbered_rows(rows, len(header))
        header = header + [schema.lead_key]
    return leads_from_records(str(path), header, rows, schema, strict)


def read_events_by_row(path: str | Path, schema: ir.Schema, delimiter: str | None = None,
                       strict: bool = False) -> Events:
    """`read_events` by the row strategy alone."""
    header, rows = records(path, delimiter)
    return events_from_records(str(path), header, rows, schema, strict)


def numbered_rows(rows: Iterable[tuple[int, list]], width: int) -> Iterator[tuple[int, list]]:
    """Each record padded to `width` values, then its row number: the key of a file without
    one (a row with more values than the header keeps them, to be rejected)."""
    for rowno, rec in rows:
        yield rowno, list(rec) + [None] * (width - len(rec)) + [str(rowno)]


Head = Callable[[int, list, list[Any]], Reject | None]  # a row's first values, or its reject


def _accepted(path: str, rows: Iterable[tuple[int, list]], width: int, head: Head,
              fields: list[tuple[str, str, int]], out: Leads | Events,
              strict: bool) -> Iterator[tuple[int, list[Any]]]:
    """(row number, values) of each row that loads: what `head` appends (the key, or an
    event's lead, type and time), then the fields. Every other row becomes a reject on `out`,
    which stops the read under --strict."""
    for rowno, rec in rows:
        out.read += 1
        reject = _shape(path, rowno, rec, width)
        values: list[Any] = []
        if reject is None:
            if len(rec) < width:
                rec = list(rec) + [None] * (width - len(rec))
            reject = head(rowno, rec, values) or _convert_fields(path, rowno, rec, fields, values)
        if reject is not None:
            out.rejects.append(reject)
            _strict_stop(reject, strict)
            continue
        yield rowno, values


def leads_from_records(path: str, header: list[str], rows, schema: ir.Schema,
                       strict: bool = False) -> Leads:
    # an absent optional column is found from the header, before any row is read
    return optional_absent(lambda s: _leads_from_records(path, header, rows, s, strict), schema)


def _leads_from_records(path: str, header: list[str], rows, schema: ir.Schema,
                        strict: bool = False) -> Leads:
    wanted = {schema.lead_key: "key", **schema.lead_fields}
    index, extra = _require(header, wanted, path, schema, "lead")
    out = Leads([], {name: [] for name in schema.lead_fields}, [], extra=extra)
    seen: dict[str, int] = {}
    key_name = schema.lead_key
    key_i = index[key_name]
    fields = [(name, type_, index[name]) for name, type_ in schema.lead_fields.items()]

    def key(rowno: int, rec: list, values: list[Any]) -> Reject | None:
        try:
            k = lead_key(rec[key_i])
        except ValueError as err:
            return Reject(path, rowno, key_name, str(rec[key_i]), str(err))
        if not k:
            return Reject(path, rowno, key_name, None, "the lead key is missing")
        if k in seen:
            return Reject(path, rowno, key_name, k, f"duplicate lead key (first seen in row {seen[k]})")
        values.append(k)
        return None

    columns = list(out.columns.values())
    for rowno, values in _accepted(path, rows, len(header), key, fields, out, strict):
        seen[values[0]] = rowno
        out.keys.append(values[0])
        out.rows.append(rowno)
        for col, v in zip(columns, values[1:]):
            col.append(v)
    return out


def events_from_records(path: str, header: list[str], rows, schema: ir.Schema,
                        strict: bool = False) -> Events:
    wanted = {schema.event_lead: "text", schema.event_time: "timestamp",
              schema.event_type: "text", **schema.event_fields}
    index, extra = _require(header, wanted, path, schema, "event")
    out = Events([], [], [], {name: [] for name in schema.event_fields}, extra=extra)
    lead_i, time_i, type_i = (index[schema.event_lead], index[schema.event_time],
                              index[schema.event_type])
    fields = [(name, type_, index[name]) for name, type_ in schema.event_fields.items()]

    def head(rowno: int, rec: list, values: list[Any]) -> Reject | None:
        return _event_head(path, rowno, rec, schema, lead_i, type_i, time_i, values)

    columns = list(out.columns.values())
    for _, values in _accepted(path, rows, len(header), head, fields, out, strict):
        lead, typ, t = values[:3]
        out.leads.append(lead)
        out.times.append(t)
        out.types.append(typ)
        for col, v in zip(columns, values[3:]):
            col.append(v)
    return out


def _event_head(path: str, rowno: int, rec: list, schema: ir.Schema, lead_i: int, type_i: int,
                time_i: int, values: list[Any]) -> Reject | None:
    """The lead, type and time of an event (appended to `values`), or why the row is rejected."""
    for name, i, what in ((schema.event_lead, lead_i, "the event's lead key"),
                          (schema.event_type, type_i, "the event type")):
        try:
            v = lead_key(rec[i]) if i == lead_i else convert(rec[i], "text")
        except ValueError as err:
            return Reject(path, rowno, name, str(rec[i]), str(err))
        if v is None:
            return Reject(path, rowno, name, None, f"{what} is missing")
        values.append(v)
    try:
        t = convert(rec[time_i], "timestamp")
        if t is None:
            raise ValueError("the event time is missing")
    except ValueError as err:
        return Reject(path, rowno, schema.event_time,
                      None if rec[time_i] is None else str(rec[time_i]), str(err))
    values.append(t)
    return None


def _dict_rows(rows: Any, columns: list[str]) -> tuple[list[str], Iterable[tuple[int, list]]]:
    """Iterables of dicts, Arrow tables and pandas frames, as (header, numbered records).

    A key absent from a dict is a missing value, so every schema column is present.
    """
    if hasattr(rows, "column_names") and hasattr(rows, "to_pylist"):  # pyarrow.Table
        return _table_rows(rows, columns)
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas.DataFrame
        rows = rows.to_dict("records")
    rows = list(rows)
    header: list[str] = list(columns)
    seen: set[str] = set(columns)
    for r in rows:
        for k in r:
            if k not in seen:
                seen.add(k)
                header.append(k)
    return header, ((i + 1, [r.get(h) for h in header]) for i, r in enumerate(rows))


def _table_rows(table: Any, columns: list[str]) -> tuple[list[str], Iterable[tuple[int, list]]]:
    """An Arrow table's rows as `_dict_rows` lines up dicts, converting only the schema's
    columns (the others are ignored, as a file's are)."""
    names = table.column_names
    header = list(columns) + [c for c in dict.fromkeys(names) if c not in columns]
    values = []
    for c in columns:
        if c not in names:
            values.append([None] * table.num_rows)
            continue
        try:
            values.append(python_values(table.column(names.index(c))))
        except DataError as err:
            raise DataError(f"column {c!r} {err}") from None
    pad = [None] * (len(header) - len(columns))
    return header, ((i + 1, list(rec) + pad) for i, rec in enumerate(zip(*values)))


def leads_from_dicts(rows: Any, schema: ir.Schema, strict: bool = False) -> Leads:
    header, recs = _dict_rows(rows, [schema.lead_key, *schema.lead_fields])
    return leads_from_records("<leads>", header, recs, schema, strict)


def events_from_dicts(rows: Any, schema: ir.Schema, strict: bool = False) -> Events:
    header, recs = _dict_rows(rows, [schema.event_lead, schema.event_time, schema.event_type,
                                     *schema.event_fields])
    return events_from_records("<events>", header, recs, schema, strict)


def empty_events(schema: ir.Schema) -> Events:
    return Events([], [], [], {name: [] for name in schema.event_fields})
