"""The columnar strategy of `data.read_leads`/`read_events`: Arrow's CSV and Parquet readers
with vectorized validation, giving the same `Leads`/`Events` and the same rejects as the row
strategy in `runtime.data`, several times faster on large files.

The contract is strict: whatever this module returns, `data.read_leads_by_row`/
`read_events_by_row` would have returned too (tests/test_fastload.py checks it on hostile
files). It gets there by doing only what it can prove equal, and handing everything else to
the row strategy:

- The common value shapes are converted column-wise: ISO 8601 timestamps such as
  `2026-03-01T09:30:00Z`, plain integers and decimals, true/false words, keys without
  surrounding spaces. Any other value (a reject, or an unusual spelling that `data.py`
  accepts, such as ` 42` or `2026-03-01T09:30:00+0530`) sends its row, as raw text, through
  `data.py`'s own row functions, with its row number; that is also how every reject is made.
- A file whose layout could make Arrow and Python's csv module split rows differently
  (blank lines, a quoted value spanning lines, malformed quotes, lone `\\r` line ends, NUL
  bytes, a row with a different number of fields, a value over the csv field limit, a
  header that is not one plain line) is read by `data.py` entirely: `read_*_columnar`
  returns None.

The result keeps the Arrow table (`.table`), so engines that speak Arrow (DuckDB, the
Python evaluator's grouping) skip building Python lists; the lists are built on first use.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..compiler import ir
from . import data
from .columnar import array, from_np, scalar, to_np
from .csvscreen import screen_csv
from .data import Events, Leads, Progress, Reject
from .shapes import FALSE_WORDS, FLOAT, INT, PLAIN_KEY, TIMESTAMP, TRUE_WORDS

_TRUE, _FALSE = list(TRUE_WORDS), list(FALSE_WORDS)
_PLAIN_KEY, _INT, _FLOAT, _TIMESTAMP = PLAIN_KEY, INT, FLOAT, TIMESTAMP
US = 1_000_000


# ---------------------------------------------------------------- lazy Leads / Events
class _Lazy:
    """Lists of an Arrow-backed `Leads`/`Events`, each built by its maker on first use."""

    def __init__(self, table: pa.Table, read: int, rejects: list[Reject], extra: list[str],
                 makers: dict[str, Callable[[], Any]]):
        self.table = table
        self.read = read
        self.rejects = rejects
        self.extra = extra
        self._makers = makers
        self._lists: dict[str, Any] = {}

    def _columns(self, skip: tuple[str, ...]) -> dict[str, list]:
        return {n: self.table.column(n).to_pylist() for n in self.table.column_names
                if n not in skip}


def _lazy(name: str) -> property:
    def get(self: _Lazy) -> Any:
        if name not in self._lists:
            self._lists[name] = self._makers[name]()
        return self._lists[name]

    return property(get, lambda self, v: self._lists.__setitem__(name, v))


class ArrowLeads(_Lazy, Leads):
    """`Leads` backed by an Arrow table: key column, then the schema's fields typed
    (text: string, int/float: float64, bool: bool, timestamp: int64 microseconds)."""

    def __init__(self, table: pa.Table, key: str, rows: np.ndarray, read: int,
                 rejects: list[Reject], extra: list[str]):
        super().__init__(table, read, rejects, extra, {
            "keys": lambda: table.column(key).to_pylist(), "rows": rows.tolist,
            "columns": lambda: self._columns((key,))})

    keys, rows, columns = _lazy("keys"), _lazy("rows"), _lazy("columns")


class ArrowEvents(_Lazy, Events):
    """`Events` backed by an Arrow table: lead, time (int64 microseconds), type, fields."""

    def __init__(self, table: pa.Table, names: tuple[str, str, str], read: int,
                 rejects: list[Reject], extra: list[str]):
        lead, time, typ = names
        super().__init__(table, read, rejects, extra, {
            "leads": lambda: table.column(lead).to_pylist(),
            "times": lambda: table.column(time).to_pylist(),
            "types": lambda: table.column(typ).to_pylist(),
            "columns": lambda: self._columns(names)})

    leads, times, types, columns = _lazy("leads"), _lazy("times"), _lazy("types"), _lazy("columns")


class _Fallback(Exception):
    """The file needs data.py's row-by-row reader."""


# ---------------------------------------------------------------- raw columns
class _Raw:
    """The schema's columns of one file as Arrow arrays, before conversion."""

    def __init__(self, path: str, header: list[str], columns: dict[str, pa.Array],
                 first_row: int, typed: bool):
        self.path = path
        self.header = header
        self.columns = columns  # schema column -> array (string for CSV; typed for Parquet)
        self.n = len(next(iter(columns.values()))) if columns else 0
        self.first_row = first_row  # row number of the first record
        self.typed = typed
        self.extra: list[str] = []  # the file's columns not in the schema


def _csv_raw(path: Path, require: Callable[[list[str]], dict[str, int]],
             delimiter: str | None, progress: Progress | None) -> _Raw:
    import pyarrow.csv as pacsv

    layout = screen_csv(path, delimiter)
    if layout is None:  # a layout Python's csv module and Arrow could split otherwise
        raise _Fallback
    header, body, delimiter, lines = layout.header, layout.body, layout.delimiter, layout.lines
    width = len(header)
    index = require(header)
    names = [f"c{i}" for i in range(width)]
    wanted = list(index)
    keep = [names[index[w]] for w in wanted]
    if progress:
        progress(f"reading {path.name}", 0, len(body))
    if not len(body):
        return _Raw(str(path), header, {w: array([], pa.string()) for w in wanted}, 2, False)
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(column_names=names, use_threads=True,
                                           block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"',
                                             double_quote=True, newlines_in_values=False,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=keep, column_types=dict.fromkeys(keep, pa.string()),
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise _Fallback from None  # ragged rows, bad UTF-8, ...: data.py says which
    if table.num_rows != lines:
        raise _Fallback
    size = len(body)
    del layout, body  # the file's bytes: not held while its columns are made contiguous
    n = table.num_rows
    limit = csv.field_size_limit()
    cols = {}
    for w, name in zip(wanted, keep):
        col = table.column(name).combine_chunks() if n else array([], pa.string())
        table = table.drop_columns([name])  # each column held once, not chunked and combined
        if len(col) and pc.max(pc.binary_length(col)).as_py() > limit:
            raise _Fallback  # the csv module rejects such a row; data.py reports it
        cols[w] = col
    if progress:
        progress(f"reading {path.name}", size, size)
    out = _Raw(str(path), header, cols, 2, typed=False)
    out.n = n
    return out


def _parquet_raw(path: Path, require: Callable[[list[str]], dict[str, int]],
                 progress: Progress | None) -> _Raw:
    import pyarrow.parquet as pq

    if progress:
        progress(f"reading {path.name}", 0, 1)
    try:  # the whole file, as the row strategy reads it: a damaged column fails both alike
        table = pq.ParquetFile(path).read()  # read_table's dataset layer imports pandas
    except Exception:  # unreadable: data.py reports it
        raise _Fallback from None
    header = list(table.column_names)
    if len(set(header)) != len(header):
        raise _Fallback
    for col in table.columns:
        _python_holds(col)
    wanted = list(require(header))
    if progress:
        progress(f"reading {path.name}", 1, 1)
    cols = {w: _plain(table.column(w)) for w in wanted}
    out = _Raw(str(path), header, cols, 1, typed=True)
    out.n = table.num_rows
    return out


def _plain(col: pa.ChunkedArray) -> pa.Array:
    """One array, text as `string` whichever way the source stores it (polars hands over
    string views, pandas categories arrive as dictionaries): the same Python values."""
    col = col.combine_chunks()
    t = col.type
    if pa.types.is_dictionary(t) and _is_text(t.value_type):
        return col.dictionary.cast(pa.string()).take(col.indices)  # Arrow casts no view dictionary
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return col.cast(pa.string())
    return col


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_FIRST_S, _LAST_S = -62_135_596_800 + 2 * 86_400, 253_402_300_799 - 2 * 86_400  # 0001, 9999


def _python_holds(col: pa.ChunkedArray) -> None:
    """Hand the file to the row strategy when it could fail to turn this column (in the
    schema or not) into Python values: dates past 9999, nanoseconds without pandas."""
    t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        if pa.types.is_timestamp(t) and t.unit == "ns":
            ns = to_np(col.cast(pa.int64()), 0)
            if (ns % 1000).any():
                raise _Fallback
        # within years 1..9999 (two days' margin for a zone) every value converts; the
        # extremes are compared as numbers (as_py of a zoned scalar imports pandas)
        raw = col.cast(pa.int32() if pa.types.is_date32(t) else pa.int64())
        extremes = pc.min_max(raw)
        per_second = 1 / 86_400 if pa.types.is_date32(t) else _PER_SECOND[
            "ms" if pa.types.is_date64(t) else t.unit]
        for end in ("min", "max"):
            v = extremes[end].as_py()
            if v is not None and not _FIRST_S <= v / per_second <= _LAST_S:
                raise _Fallback
    elif _holds_time(t):
        raise _Fallback  # times inside lists, structs or dictionaries: not worth checking


def _holds_time(t: pa.DataType) -> bool:
    inner = [t.field(i).type for i in range(t.num_fields)]
    if getattr(t, "value_type", None) is not None:
        inner.append(t.value_type)
    return any(pa.types.is_timestamp(x) or pa.types.is_date(x) or _holds_time(x) for x in inner)


# ---------------------------------------------------------------- column conversion
def _match(col: pa.Array, pattern: str) -> np.ndarray:
    return to_np(pc.match_substring_regex(col, pattern), False)


def _empty(col: pa.Array) -> np.ndarray:
    return to_np(pc.equal(col, scalar("", pa.string())), True)


def _null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    return pc.if_else(from_np(mask), pa.nulls(len(values), values.type), values)


def _key(col: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(key text, rows that need data.py): keys without surrounding whitespace are kept."""
    if pa.types.is_integer(col.type):  # str(7) is the key; Arrow writes integers alike
        col = col.cast(pa.string())
        return col, ~to_np(pc.is_valid(col))
    if pa.types.is_null(col.type):  # no key at all: each row is data.py's reject
        return pa.nulls(len(col), pa.string()), np.ones(len(col), bool)
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        raise _Fallback  # floats as keys: data.py normalizes 7.0 to "7"
    col = col.cast(pa.string())
    ok = _match(col, _PLAIN_KEY) & ~_has_nul(col)
    ok &= to_np(pc.less_equal(pc.utf8_length(col), scalar(data.MAX_KEY_CHARS, pa.int32())), False)
    return col, ~ok


def _has_nul(col: pa.Array) -> np.ndarray:
    return to_np(pc.match_substring(col, data.NUL), False)


def _text(col: pa.Array) -> tuple[pa.Array, np.ndarray]:
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = col.cast(pa.string())
        bad = _has_nul(col) | to_np(pc.greater(pc.binary_length(col),
                                               scalar(data.MAX_TEXT_BYTES, pa.int32())), False)
        return _null_where(col, _empty(col) | bad), bad
    if pa.types.is_null(col.type):
        return pa.nulls(len(col), pa.string()), np.zeros(len(col), bool)
    raise _Fallback


def _number(col: pa.Array, whole: bool) -> tuple[pa.Array, np.ndarray]:
    n = len(col)
    if pa.types.is_null(col.type):
        return pa.nulls(n, pa.float64()), np.zeros(n, bool)
    if pa.types.is_integer(col.type):  # beyond MAX_NUMBER, compared exactly: data.py's
        big = to_np(pc.greater(col, scalar(data.MAX_NUMBER, col.type)), False) if (
            pa.types.is_int64(col.type) or pa.types.is_uint64(col.type)) else np.zeros(n, bool)
        if pa.types.is_int64(col.type):
            big |= to_np(pc.less(col, scalar(-data.MAX_NUMBER, col.type)), False)
        values = col.cast(pa.float64(), safe=False)
        return _null_where(values, big), big
    if pa.types.is_floating(col.type):
        values = col.cast(pa.float64())
        bad = ~to_np(pc.is_finite(values), True)
        nan = to_np(pc.is_nan(values), False)
        bad &= ~nan
        bad |= _beyond(values)
        if whole:
            frac = pc.not_equal(values, pc.floor(values))
            bad |= to_np(frac, False) & ~nan
        return _null_where(values, nan | bad), bad
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        raise _Fallback
    col = col.cast(pa.string())
    empty = _empty(col)
    ok = _match(col, _INT if whole else _FLOAT)
    safe = pc.if_else(from_np(ok), col, scalar("0", pa.string()))
    if whole:
        exact = safe.cast(pa.int64())
        ok &= ~to_np(pc.greater(pc.abs(exact), scalar(data.MAX_NUMBER, pa.int64())), False)
        values = exact.cast(pa.float64(), safe=False)
    else:
        values = safe.cast(pa.float64())
        ok &= to_np(pc.is_finite(values), False) & ~_beyond(values)
    return _null_where(values, ~ok), ~ok & ~empty


def _beyond(values: pa.Array) -> np.ndarray:
    """Finite numbers past ±MAX_NUMBER: data.py's rejects."""
    return to_np(pc.greater(pc.abs(values), scalar(float(data.MAX_NUMBER), pa.float64())), False)


def _bool(col: pa.Array) -> tuple[pa.Array, np.ndarray]:
    n = len(col)
    if pa.types.is_boolean(col.type):
        return col, np.zeros(n, bool)
    if pa.types.is_null(col.type):
        return pa.nulls(n, pa.bool_()), np.zeros(n, bool)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        raise _Fallback
    low = pc.utf8_lower(col.cast(pa.string()))
    yes = to_np(pc.is_in(low, value_set=array(_TRUE, pa.string())), False)
    no = to_np(pc.is_in(low, value_set=array(_FALSE, pa.string())), False)
    empty = _empty(col)
    values = from_np(yes)
    return _null_where(values, ~(yes | no)), ~(yes | no | empty)


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _timestamp(col: pa.Array) -> tuple[pa.Array, np.ndarray]:
    n = len(col)
    if pa.types.is_null(col.type):
        return pa.nulls(n, pa.int64()), np.zeros(n, bool)
    if pa.types.is_timestamp(col.type):
        if col.type.unit == "ns":
            ns = to_np(col.cast(pa.int64()), 0)
            if (ns % 1000).any():
                raise _Fallback  # sub-microsecond times: data.py decides
        return col.cast(pa.timestamp("us", col.type.tz)).cast(pa.int64()), np.zeros(n, bool)
    if pa.types.is_date32(col.type):
        days = col.cast(pa.int32()).cast(pa.int64())
        return pc.multiply(days, scalar(86_400 * US, pa.int64())), np.zeros(n, bool)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        raise _Fallback
    col = col.cast(pa.string())
    empty = _empty(col)
    values, ok = _iso_fixed(col)
    rest = np.flatnonzero(~ok & ~empty)
    if len(rest):  # other spellings: a regex over those rows only
        more, more_ok = _iso_regex(col.take(from_np(rest)))
        values[rest] = more
        ok[rest] = more_ok
    return _null_where(from_np(values), ~ok), ~ok & ~empty


# ISO 8601 layouts by length: (fraction digits, zone) where zone is "", "Z" or "+HH:MM";
# length 10 is a bare date. Every position's character class is checked below.
_LAYOUTS = {10: None, 19: (0, ""), 20: (0, "Z"), 25: (0, "+"), 23: (3, ""), 24: (3, "Z"),
            29: (3, "+"), 26: (6, ""), 27: (6, "Z"), 32: (6, "+")}


def _iso_fixed(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(microseconds, parsed) for the fixed-width spellings in _LAYOUTS, from the raw bytes."""
    n = len(col)
    values = np.zeros(n, np.int64)
    ok = np.zeros(n, bool)
    if n == 0 or col.buffers()[2] is None:
        return values, ok
    offsets = np.frombuffer(col.buffers()[1], dtype=np.int32)[col.offset:col.offset + n + 1]
    chars = np.frombuffer(col.buffers()[2], dtype=np.uint8)
    lengths = np.diff(offsets)
    if col.null_count:
        lengths = np.where(to_np(col.is_valid()), lengths, 0)
    elif n > 1 and (lengths == lengths[0]).all() and _LAYOUTS.get(int(lengths[0])):
        got = _iso_block(col, chars[offsets[0]:offsets[-1]].reshape(n, int(lengths[0])))
        if got is not None:
            return got
    for length, layout in _LAYOUTS.items():
        rows = np.flatnonzero(lengths == length)
        if not len(rows):
            continue
        starts = offsets[:-1][rows]
        good = np.ones(len(rows), bool)

        def at(p: int, starts: np.ndarray = starts) -> np.ndarray:
            return chars[starts + p]

        def num(*pos: int, starts: np.ndarray = starts, good: np.ndarray = good) -> np.ndarray:
            """The decimal number at these positions; clears `good` where one is no digit."""
            out = np.zeros(len(starts), np.int64)
            for p in pos:
                d = chars[starts + p] - np.uint8(48)  # wraps below '0': one test suffices
                good &= d <= 9
                out = out * 10 + d
            return out

        good &= (at(4) == 45) & (at(7) == 45)  # '-'
        y, mo, day = num(0, 1, 2, 3), num(5, 6), num(8, 9)
        frac, zone = (0, "") if layout is None else layout
        h = mi = sec = micro = off = 0
        if layout is not None:
            sep = at(10)
            good &= ((sep == 84) | (sep == 32)) & (at(13) == 58) & (at(16) == 58)  # T or ' ', ':'
            h, mi, sec = num(11, 12), num(14, 15), num(17, 18)
            good &= (h <= 23) & (mi <= 59) & (sec <= 59)
            end = 19
            if frac:
                good &= at(19) == 46  # '.'
                micro = num(*range(20, 20 + frac)) * 10 ** (6 - frac)
                end = 20 + frac
            if zone == "Z":
                good &= at(end) == 90
            elif zone == "+":
                sign = at(end)
                good &= ((sign == 43) | (sign == 45)) & (at(end + 3) == 58)
                zh, zm = num(end + 1, end + 2), num(end + 4, end + 5)
                good &= (zh <= 23) & (zm <= 59)
                off = np.where(sign == 45, -1, 1) * (zh * 3_600 + zm * 60)
        good &= _valid_date(y, mo, day)
        days = _days_from_civil(y, np.clip(mo, 1, 12), day)
        us = (days * 86_400 + h * 3_600 + mi * 60 + sec - off) * US + micro
        values[rows] = np.where(good, us, 0)
        ok[rows] = good
    return values, ok


# 1000-01-02 and 9998-12-30 UTC: within these, the local date of any offset is in
# _valid_date's years
_FIRST_US, _LAST_US = -30_610_137_600 * US, 253_370_592_000 * US


def _iso_block(col: pa.Array, block: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(microseconds, parsed) when every value has the same _LAYOUTS length (a column a
    machine wrote: the values lie side by side in `block`, one row each): the layout checked
    column by column, the values read by Arrow's ISO 8601 cast, which refuses what Python
    refuses within the layout (months, days of the month, hours, minutes, seconds, offsets);
    None when some value is not of the layout or out of range (then checked one by one)."""
    length = block.shape[1]
    frac, zone = _LAYOUTS[length]
    digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18] + list(range(20, 20 + frac))
    fixed = {4: b"-", 7: b"-", 13: b":", 16: b":"}
    if frac:
        fixed[19] = b"."
    end = 20 + frac if frac else 19
    if zone == "Z":
        fixed[end] = b"Z"
    elif zone == "+":
        digits += [end + 1, end + 2, end + 4, end + 5]
        fixed[end + 3] = b":"
    good = ((block[:, digits] - np.uint8(48)) <= 9).all(axis=1)  # wraps below '0'
    sep = block[:, 10]
    good &= (sep == 84) | (sep == 32)  # T or ' '
    for at, char in fixed.items():
        good &= block[:, at] == char[0]
    if zone == "+":
        sign = block[:, end]
        good &= (sign == 43) | (sign == 45)
    if not good.all():
        return None
    try:
        us = col.cast(pa.timestamp("us", "UTC" if zone else None)).cast(pa.int64())
    except pa.ArrowInvalid:
        return None
    values = np.array(to_np(us))  # writable: flagged rows are filled in later
    if not ((values >= _FIRST_US) & (values <= _LAST_US)).all():
        return None
    return values, good


def _valid_date(y: np.ndarray, mo: np.ndarray, d: np.ndarray) -> np.ndarray:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    dim = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(mo, 1, 12) - 1]
    dim = dim + ((mo == 2) & leap)
    return (y >= 1000) & (y <= 9998) & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= dim)


def _iso_regex(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(microseconds, parsed) for the other spellings _TIMESTAMP accepts."""
    n = len(col)
    parts = pc.extract_regex(col, _TIMESTAMP)
    ok = np.array(to_np(pc.is_valid(parts)))
    if not ok.any():
        return np.zeros(n, np.int64), ok

    empty, zero = scalar("", pa.string()), scalar("0", pa.string())

    def num(name: str, default: int = 0) -> np.ndarray:
        s = pc.struct_field(parts, name)
        blank = from_np(to_np(pc.equal(s, empty), True))
        return to_np(pc.if_else(blank, scalar(str(default), pa.string()), s).cast(pa.int64()))

    y, mo, d = num("y"), num("mo", 1), num("d", 1)
    h, mi, s = num("h"), num("mi"), num("s")
    frac = pc.fill_null(pc.struct_field(parts, "f"), empty)
    flen = to_np(pc.utf8_length(frac))
    fval = to_np(pc.if_else(pc.equal(frac, empty), zero, frac).cast(pa.int64()))
    micro = fval * 10 ** (6 - flen)
    z = pc.fill_null(pc.struct_field(parts, "z"), empty)
    zs = pc.utf8_slice_codeunits(z, 0, 1)
    sign = np.where(to_np(pc.equal(zs, scalar("-", pa.string()))), -1, 1)
    has_off = from_np(to_np(pc.greater(pc.utf8_length(z), scalar(1, pa.int32()))))
    zh = to_np(pc.if_else(has_off, pc.utf8_slice_codeunits(z, 1, 3), zero).cast(pa.int64()))
    zm = to_np(pc.if_else(has_off, pc.utf8_slice_codeunits(z, 4, 6), zero).cast(pa.int64()))
    ok &= _valid_date(y, mo, d) & (h <= 23) & (mi <= 59) & (s <= 59) & (zh <= 23) & (zm <= 59)
    days = _days_from_civil(y, np.clip(mo, 1, 12), d)
    us = ((days * 86_400 + h * 3_600 + mi * 60 + s - sign * (zh * 3_600 + zm * 60)) * US
          + micro)
    return np.where(ok, us, 0), ok


def _convert(col: pa.Array, type_: str) -> tuple[pa.Array, np.ndarray]:
    """(typed values, rows that need data.py) for one column."""
    if type_ == "text":
        return _text(col)
    if type_ in ("int", "float"):
        return _number(col, type_ == "int")
    if type_ == "bool":
        return _bool(col)
    return _timestamp(col)


_ARROW = {"text": pa.string(), "int": pa.float64(), "float": pa.float64(), "bool": pa.bool_(),
          "timestamp": pa.int64(), "key": pa.string()}


def _records(raw: _Raw, rows: np.ndarray) -> list[tuple[int, list]]:
    """The raw records of some rows, for data.py: its values where the schema has columns."""
    width = len(raw.header)
    index = {}
    for i, h in enumerate(raw.header):
        index.setdefault(h, i)
    taken = {w: raw.columns[w].take(from_np(rows)).to_pylist() for w in raw.columns}
    out = []
    for j, r in enumerate(rows.tolist()):
        rec: list[Any] = [None if raw.typed else ""] * width
        for w, values in taken.items():
            rec[index[w]] = values[j]
        out.append((raw.first_row + r, rec))
    return out


def _slow_table(columns: dict[str, list], types: dict[str, str]) -> pa.Table:
    return pa.table({n: array(v, _ARROW[types[n]]) for n, v in columns.items()})


# ---------------------------------------------------------------- leads
def read_leads_columnar(path: str | Path, schema: ir.Schema, delimiter: str | None = None,
                        strict: bool = False, row_key: bool = False,
                        progress: Progress | None = None) -> Leads | None:
    """`data.read_leads` column-wise, or None when the file needs the row strategy."""
    try:
        raw = _raw(Path(path), {schema.lead_key: "key", **schema.lead_fields}, schema, "lead",
                   delimiter, progress, schema.lead_key if row_key else None)
        if raw is None:
            return None
        return _leads(raw, schema, strict)
    except (_Fallback, pa.ArrowInvalid):
        return None


def _raw(path: Path, wanted: dict[str, str], schema: ir.Schema, side: str,
         delimiter: str | None, progress: Progress | None, row_key: str | None = None) -> _Raw | None:
    """The wanted columns; with `row_key`, that column is added, holding each row's number."""
    if not path.is_file():
        return None

    def require(header: list[str]) -> dict[str, int]:
        """Positions of the wanted columns; data.py's own errors for missing ones."""
        if row_key is not None:
            if row_key in header:
                raise _Fallback  # the row strategy says why
            header = header + [row_key]
        index, extra = data._require(header, wanted, str(path), schema, side)
        extras.extend(extra)
        return {w: index[w] for w in wanted if w != row_key}

    extras: list[str] = []
    if path.suffix.lower() in (".parquet", ".pq"):
        out = _parquet_raw(path, require, progress)
    else:
        out = _csv_raw(path, require, delimiter, progress)
    out.extra = extras
    if row_key is not None:  # rows are file lines one after another here: numbered in turn
        out.header = out.header + [row_key]
        out.columns[row_key] = from_np(np.arange(out.first_row, out.first_row + out.n)).cast(
            pa.string())
    return out


def _leads(raw: _Raw, schema: ir.Schema, strict: bool) -> ArrowLeads:
    key_name = schema.lead_key
    keys, slow = _key(raw.columns[key_name])
    # rows sharing a key go to data.py together, in order, so that it reports duplicates
    codes = to_np(keys.dictionary_encode("encode").indices)
    slow |= np.bincount(codes, minlength=len(keys))[codes] > 1 if len(keys) else slow
    typed = {key_name: keys}
    for name, type_ in schema.lead_fields.items():
        typed[name], bad = _convert(raw.columns[name], type_)
        slow |= bad
    rows = np.arange(raw.first_row, raw.first_row + raw.n)
    fast = np.flatnonzero(~slow)
    table = pa.table(typed)
    rejects: list[Reject] = []
    if len(fast) < raw.n:
        flagged = np.flatnonzero(slow)
        records = _records(raw, flagged)
        fast_keys = set(table.column(key_name).take(from_np(fast)).to_pylist())
        key_at = raw.header.index(key_name)
        for _, rec in records:
            try:
                k = data.lead_key(rec[key_at])
            except ValueError:
                continue
            if k in fast_keys:
                raise _Fallback  # " L1" and "L1" are one key: only a sequential read can tell
        got = data.leads_from_records(raw.path, raw.header, records, schema, strict)
        rejects = got.rejects
        extra_t = _slow_table({key_name: got.keys, **got.columns},
                              {key_name: "key", **schema.lead_fields})
        table = pa.concat_tables([table.take(from_np(fast)), extra_t.cast(table.schema)])
        rows = np.concatenate([rows[fast], np.asarray(got.rows, dtype=np.int64)])
        order = np.argsort(rows, kind="stable")
        table, rows = table.take(from_np(order)), rows[order]
    return ArrowLeads(table, key_name, rows, raw.n, rejects, raw.extra)


# ---------------------------------------------------------------- events
def read_events_columnar(path: str | Path, schema: ir.Schema, delimiter: str | None = None,
                         strict: bool = False, progress: Progress | None = None) -> Events | None:
    """`data.read_events` column-wise, or None when the file needs the row strategy."""
    lead, time, typ = schema.event_lead, schema.event_time, schema.event_type
    try:
        raw = _raw(Path(path), {lead: "text", time: "timestamp", typ: "text",
                                **schema.event_fields}, schema, "event", delimiter, progress)
        if raw is None:
            return None
        return _events(raw, schema, strict)
    except (_Fallback, pa.ArrowInvalid):
        return None


def _events(raw: _Raw, schema: ir.Schema, strict: bool) -> ArrowEvents:
    lead, time, typ = schema.event_lead, schema.event_time, schema.event_type
    leads, slow = _key(raw.columns[lead])
    types, _ = _text(raw.columns[typ])
    slow |= to_np(pc.is_null(types))
    times, bad = _timestamp(raw.columns[time])
    slow |= bad | to_np(pc.is_null(times))
    typed = {lead: leads, time: times, typ: types}
    for name, type_ in schema.event_fields.items():
        typed[name], bad = _convert(raw.columns[name], type_)
        slow |= bad
    table = pa.table(typed)
    rejects: list[Reject] = []
    if slow.any():
        flagged = np.flatnonzero(slow)
        got = data.events_from_records(raw.path, raw.header, _records(raw, flagged), schema,
                                       strict)
        rejects = got.rejects
        if got.leads:  # accepted after all (e.g. ` L1`, or `+0530` offsets): merge in order
            accepted_rows = _accepted_rows(flagged, raw, got.rejects)
            extra_t = _slow_table({lead: got.leads, time: got.times, typ: got.types,
                                   **got.columns},
                                  {lead: "key", time: "timestamp", typ: "text",
                                   **schema.event_fields})
            fast = np.flatnonzero(~slow)
            table = pa.concat_tables([table.take(from_np(fast)), extra_t.cast(table.schema)])
            order = np.argsort(np.concatenate([fast, accepted_rows]), kind="stable")
            table = table.take(from_np(order))
        else:
            table = table.filter(from_np(~slow))
    return ArrowEvents(table, (lead, time, typ), raw.n, rejects, raw.extra)


def _accepted_rows(flagged: np.ndarray, raw: _Raw, rejects: list[Reject]) -> np.ndarray:
    rejected = {r.row - raw.first_row for r in rejects}
    return np.array([r for r in flagged.tolist() if r not in rejected], dtype=np.int64)


# ---------------------------------------------------------------- tables (DataFrames)
def leads_from_table(table: pa.Table, schema: ir.Schema) -> Leads:
    """`data.leads_from_dicts` of an Arrow table, column-wise where it can be: the same
    `Leads` and rejects (rows numbered from 1, file `<leads>`)."""
    wanted = {schema.lead_key: "key", **schema.lead_fields}
    try:
        return _leads(_table_raw(table, wanted, "<leads>", schema, "lead"), schema, False)
    except (_Fallback, pa.ArrowInvalid):
        return data.leads_from_dicts(table, schema)


def events_from_table(table: pa.Table, schema: ir.Schema) -> Events:
    """`data.events_from_dicts` of an Arrow table (see `leads_from_table`)."""
    wanted = {schema.event_lead: "text", schema.event_time: "timestamp",
              schema.event_type: "text", **schema.event_fields}
    try:
        return _events(_table_raw(table, wanted, "<events>", schema, "event"), schema, False)
    except (_Fallback, pa.ArrowInvalid):
        return data.events_from_dicts(table, schema)


def _table_raw(table: pa.Table, wanted: dict[str, str], name: str, schema: ir.Schema,
               side: str) -> _Raw:
    """The wanted columns of a table, as `data._dict_rows` lines them up: a column the table
    lacks is a column of missing values, as a key absent from a dict is."""
    present = set(table.column_names)
    header = list(wanted) + [c for c in table.column_names if c not in wanted]
    if len(set(table.column_names)) != table.num_columns:
        raise _Fallback
    cols = {}
    for w in wanted:
        if w in present:
            col = table.column(w)
            _python_holds(col)
            cols[w] = _plain(col)
        else:
            cols[w] = pa.nulls(table.num_rows, pa.string())
    _, extra = data._require(header, wanted, name, schema, side)
    out = _Raw(name, header, cols, 1, typed=True)
    out.n = table.num_rows
    out.extra = extra
    return out
