"""Validated data as Arrow columns, without building Python objects per value.

`Leads`/`Events` read by the columnar strategy (runtime/fastload.py) already hold an Arrow
table; those from the row strategy (runtime/data.py) hold lists, converted here once per
column (timestamps as int64 microseconds cast to TIMESTAMP, never through datetime objects).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..compiler import ir
from ..compiler.text import fold
from .data import Events, Leads

# pyarrow imports pandas (0.3 s) the first time it converts Python or numpy values
# (pa.array, pa.scalar, a Python value given to a compute function) or makes numpy values
# (to_numpy). These do the same through Arrow buffers, so a run imports pandas only when the
# caller passes a pandas object.
_NUMPY = {pa.bool_(): np.bool_, pa.int32(): np.int32, pa.int64(): np.int64,
          pa.uint32(): np.uint32, pa.float64(): np.float64}


def to_np(arr: pa.Array | pa.ChunkedArray, fill: Any = None) -> np.ndarray:
    """A primitive array's values as numpy (read-only when shared), nulls as `fill`."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        arr = pc.fill_null(arr, scalar(fill, arr.type))
    if len(arr) == 0:
        return np.zeros(0, _NUMPY.get(arr.type, np.int64))
    if pa.types.is_boolean(arr.type):
        bits = np.frombuffer(arr.buffers()[1], np.uint8)
        return np.unpackbits(bits, count=arr.offset + len(arr), bitorder="little")[
            arr.offset:].view(np.bool_)
    return np.from_dlpack(arr)


def from_np(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A numpy array (bools, integers, floats) as Arrow; null where `valid` is False."""
    values = np.ascontiguousarray(values)
    mask = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    if values.dtype == np.bool_:
        data = pa.py_buffer(np.packbits(values, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), len(values), [mask, data])
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values),
                                 [mask, pa.py_buffer(values)])


def array(values: Sequence[Any], type_: pa.DataType) -> pa.Array:
    """`pa.array(values, type_)` for Python text, numbers and bools (None as null)."""
    valid = np.fromiter((v is not None for v in values), np.bool_, len(values))
    all_valid = bool(valid.all())
    if pa.types.is_string(type_):
        data = [v.encode("utf-8") if v is not None else b"" for v in values]
        offsets = np.zeros(len(data) + 1, np.int32)
        np.cumsum(np.fromiter(map(len, data), np.int32, len(data)), out=offsets[1:])
        mask = None if all_valid else pa.py_buffer(np.packbits(valid, bitorder="little"))
        return pa.Array.from_buffers(pa.string(), len(data),
                                     [mask, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))])
    zero = False if pa.types.is_boolean(type_) else 0
    plain = np.array([zero if v is None else v for v in values], _NUMPY[type_])
    return from_np(plain, None if all_valid else valid)


def scalar(value: Any, type_: pa.DataType) -> pa.Scalar:
    """`pa.scalar(value, type_)`."""
    if isinstance(value, str):
        return array([value], pa.string())[0].cast(type_)
    return from_np(np.array([value]))[0].cast(type_)


_TYPES = {"key": pa.string(), "text": pa.string(), "int": pa.float64(), "float": pa.float64(),
          "bool": pa.bool_(), "timestamp": pa.int64()}


def lead_table(schema: ir.Schema, leads: Leads) -> pa.Table:
    """Key column, then the schema's fields (timestamps as int64 microseconds)."""
    table = getattr(leads, "table", None)
    if table is not None:
        return table
    cols = {schema.lead_key: array(leads.keys, pa.string())}
    for name, type_ in schema.lead_fields.items():
        cols[name] = array(leads.columns[name], _TYPES[type_])
    return pa.table(cols)


def event_table(schema: ir.Schema, events: Events) -> pa.Table:
    """Lead, time (int64 microseconds), type, then the schema's event fields."""
    table = getattr(events, "table", None)
    if table is not None:
        return table
    cols = {schema.event_lead: array(events.leads, pa.string()),
            schema.event_time: array(events.times, pa.int64()),
            schema.event_type: array(events.types, pa.string())}
    for name, type_ in schema.event_fields.items():
        cols[name] = array(events.columns[name], _TYPES[type_])
    return pa.table(cols)


def _with_timestamps(table: pa.Table, types: dict[str, str], tz: str | None) -> pa.Table:
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if types.get(name) == "timestamp":
            col = col.cast(pa.timestamp("us", tz))
        cols[name] = col
    return pa.table(cols)


def arrow_tables(model: ir.Model, leads: Leads, events: Events | None,
                 tz: str | None = "UTC") -> tuple[pa.Table, pa.Table | None]:
    """(leads, events) as engines load them: typed columns, TIMESTAMP(us, tz) for times."""
    s = model.schema
    lead_t = _with_timestamps(lead_table(s, leads), s.lead_fields, tz)
    if not s.has_events or events is None:  # the leads side alone (native.py)
        return lead_t, None
    ev_types = {**s.event_fields, s.event_time: "timestamp"}
    return lead_t, _with_timestamps(event_table(s, events), ev_types, tz)


def event_counts(schema: ir.Schema, leads: Leads, events: Events,
                 as_of_us: int) -> tuple[int, int, Counter]:
    """(events for unknown leads, events after as_of, undeclared types among the rest)."""
    ev = event_table(schema, events)
    if ev.num_rows == 0:
        return 0, 0, Counter()
    known = pc.is_in(ev.column(schema.event_lead),
                     value_set=lead_table(schema, leads).column(schema.lead_key))
    after = pc.and_(known, pc.greater(ev.column(schema.event_time), scalar(as_of_us, pa.int64())))
    used = pc.and_(known, pc.invert(after))
    unknown = ev.num_rows - pc.sum(known.cast(pa.int64())).as_py()
    late = pc.sum(after.cast(pa.int64())).as_py() or 0
    undeclared: Counter = Counter()
    declared = set(schema.event_types)
    if declared:
        counts = pc.value_counts(ev.column(schema.event_type).filter(used))
        for item in counts.to_pylist():
            t: Any = fold(item["values"])
            if t not in declared:
                undeclared[t] += item["counts"]
    return unknown, late, undeclared
