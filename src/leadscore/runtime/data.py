"""Reading lead and event data: typed, validated, and nothing dropped silently.

Every row either loads or becomes a `Reject` with its file, row number (the
line it starts on, the header being line 1), column, value and reason.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ..compiler import ir

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


class DataError(Exception):
    """Input data that cannot be used at all (missing file or columns, bad row in --strict)."""


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
        val = f" value {self.value!r}" if self.value is not None else ""
        return f"{where}:{col}{val}: {self.reason}"


@dataclass
class Leads:
    keys: list[str]
    columns: dict[str, list[Any]]  # field -> typed values (timestamps as microseconds)
    rows: list[int]  # source row number per lead
    read: int = 0
    rejects: list[Reject] = field(default_factory=list)


@dataclass
class Events:
    leads: list[str]
    times: list[int]  # microseconds since epoch, UTC
    types: list[str]
    columns: dict[str, list[Any]]
    read: int = 0
    rejects: list[Reject] = field(default_factory=list)


def to_us(dt: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_timestamp(text: str) -> int:
    """ISO 8601 (`Z`, an offset, or none meaning UTC; a bare date is midnight UTC)."""
    s = text.strip()
    if not s:
        raise ValueError("empty timestamp")
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
    """Convert one raw value (CSV text or a typed value) to the schema type; None is missing."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if type_ == "text":
        if isinstance(value, str):
            return value if value != "" else None
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
            return float(value)
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError("expected a whole number")
            return value
        try:
            return float(int(value))
        except ValueError:
            raise ValueError("expected a whole number") from None
    if type_ == "float":
        if isinstance(value, bool):
            raise ValueError("expected a number, found a boolean")
        try:
            f = float(value)
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        if not math.isfinite(f):
            raise ValueError("expected a finite number")
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
        if isinstance(value, datetime):
            return to_us(value)
        if isinstance(value, date):
            return to_us(datetime(value.year, value.month, value.day))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            raise ValueError("expected an ISO 8601 timestamp, found a number")
        return parse_timestamp(str(value))
    raise AssertionError(type_)


# ---------------------------------------------------------------- reading records
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


def csv_text_records(text: str, delimiter: str | None = None):
    """(header, numbered records) of CSV text; row numbers are file line numbers."""
    if delimiter is None:
        first = text.split("\n", 1)[0]
        delimiter = max([",", ";", "\t", "|"], key=first.count) if first else ","
        if first.count(delimiter) == 0:
            delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError("the file is empty (expected a header row)") from None
    header = [h.strip() for h in header]

    def rows():
        line = reader.line_num + 1
        for rec in reader:
            if rec or reader.line_num == line:  # skip blank lines, never quoted empties
                if rec:
                    yield line, rec
            line = reader.line_num + 1

    return header, rows()


def _parquet_records(path: Path) -> tuple[list[str], Iterable[tuple[int, list]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # pyarrow raises several types for unreadable files
        raise DataError(f"{path}: cannot read Parquet: {err}") from None
    header = list(table.column_names)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]

    def rows():
        for i in range(table.num_rows):
            yield i + 1, [c[i] for c in columns]

    return header, rows()


def records(path: str | Path, delimiter: str | None = None):
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, not a data file")
    if p.suffix.lower() in (".parquet", ".pq"):
        return _parquet_records(p)
    return _csv_records(p, delimiter)


def _require(header: list[str], wanted: dict[str, str], path: str, schema: ir.Schema,
             side: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name, i)
    missing = [c for c in wanted if c not in index]
    if missing:
        lines = []
        for c in missing:
            origin = schema.origins.get(f"{side}:{c}")
            lines.append(f"  {c!r}" + (f" (declared at {origin})" if origin else ""))
        raise DataError(f"{path}: missing column{'s' if len(missing) > 1 else ''}:\n"
                        + "\n".join(lines) + f"\n  the file has: {', '.join(header)}")
    return index


def _strict_stop(reject: Reject, strict: bool) -> None:
    if strict:
        raise DataError(f"{reject} (stopped by --strict)")


def read_leads(path: str | Path, schema: ir.Schema, delimiter: str | None = None,
               strict: bool = False) -> Leads:
    header, rows = records(path, delimiter)
    return leads_from_records(str(path), header, rows, schema, strict)


def leads_from_records(path: str, header: list[str], rows, schema: ir.Schema,
                       strict: bool = False) -> Leads:
    wanted = {schema.lead_key: "key", **schema.lead_fields}
    index = _require(header, wanted, path, schema, "lead")
    out = Leads([], {name: [] for name in schema.lead_fields}, [])
    seen: dict[str, int] = {}
    key_i = index[schema.lead_key]
    fields = [(name, type_, index[name]) for name, type_ in schema.lead_fields.items()]
    width = len(header)
    for rowno, rec in rows:
        out.read += 1
        reject = None
        if len(rec) < width:
            rec = list(rec) + [None] * (width - len(rec))
        key = rec[key_i]
        key = None if key is None else str(key).strip()
        if not key:
            reject = Reject(path, rowno, schema.lead_key, None, "the lead key is missing")
        elif key in seen:
            reject = Reject(path, rowno, schema.lead_key, key,
                            f"duplicate lead key (first seen in row {seen[key]})")
        values = []
        if reject is None:
            for name, type_, i in fields:
                try:
                    values.append(convert(rec[i], type_))
                except ValueError as err:
                    reject = Reject(path, rowno, name, None if rec[i] is None else str(rec[i]),
                                    str(err))
                    break
        if reject is not None:
            out.rejects.append(reject)
            _strict_stop(reject, strict)
            continue
        seen[key] = rowno
        out.keys.append(key)
        out.rows.append(rowno)
        for (name, _, _), v in zip(fields, values):
            out.columns[name].append(v)
    return out


def read_events(path: str | Path, schema: ir.Schema, delimiter: str | None = None,
                strict: bool = False) -> Events:
    header, rows = records(path, delimiter)
    return events_from_records(str(path), header, rows, schema, strict)


def events_from_records(path: str, header: list[str], rows, schema: ir.Schema,
                        strict: bool = False) -> Events:
    wanted = {schema.event_lead: "text", schema.event_time: "timestamp",
              schema.event_type: "text", **schema.event_fields}
    index = _require(header, wanted, path, schema, "event")
    out = Events([], [], [], {name: [] for name in schema.event_fields})
    lead_i, time_i, type_i = (index[schema.event_lead], index[schema.event_time],
                              index[schema.event_type])
    fields = [(name, type_, index[name]) for name, type_ in schema.event_fields.items()]
    width = len(header)
    for rowno, rec in rows:
        out.read += 1
        if len(rec) < width:
            rec = list(rec) + [None] * (width - len(rec))
        reject = None
        values: list[Any] = []
        lead = rec[lead_i]
        lead = None if lead is None else str(lead).strip()
        typ = convert(rec[type_i], "text")
        if not lead:
            reject = Reject(path, rowno, schema.event_lead, None, "the event's lead key is missing")
        elif typ is None:
            reject = Reject(path, rowno, schema.event_type, None, "the event type is missing")
        else:
            try:
                t = convert(rec[time_i], "timestamp")
                if t is None:
                    raise ValueError("the event time is missing")
            except ValueError as err:
                reject = Reject(path, rowno, schema.event_time,
                                None if rec[time_i] is None else str(rec[time_i]), str(err))
        if reject is None:
            for name, type_, i in fields:
                try:
                    values.append(convert(rec[i], type_))
                except ValueError as err:
                    reject = Reject(path, rowno, name, None if rec[i] is None else str(rec[i]),
                                    str(err))
                    break
        if reject is not None:
            out.rejects.append(reject)
            _strict_stop(reject, strict)
            continue
        out.leads.append(lead)
        out.times.append(t)
        out.types.append(typ)
        for (name, _, _), v in zip(fields, values):
            out.columns[name].append(v)
    return out


def _dict_rows(rows: Any, columns: list[str]) -> tuple[list[str], Iterable[tuple[int, list]]]:
    """Iterables of dicts, Arrow tables and pandas frames, as (header, numbered records).

    A key absent from a dict is a missing value, so every schema column is present.
    """
    if hasattr(rows, "to_pylist"):  # pyarrow.Table
        rows = rows.to_pylist()
    elif hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # pandas.DataFrame
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


def leads_from_dicts(rows: Any, schema: ir.Schema, strict: bool = False) -> Leads:
    header, recs = _dict_rows(rows, [schema.lead_key, *schema.lead_fields])
    return leads_from_records("<leads>", header, recs, schema, strict)


def events_from_dicts(rows: Any, schema: ir.Schema, strict: bool = False) -> Events:
    header, recs = _dict_rows(rows, [schema.event_lead, schema.event_time, schema.event_type,
                                     *schema.event_fields])
    return events_from_records("<events>", header, recs, schema, strict)


def empty_events(schema: ir.Schema) -> Events:
    return Events([], [], [], {name: [] for name in schema.event_fields})
