"""Validated data as Arrow columns, without building Python objects per value.

`Leads`/`Events` read by the columnar strategy (runtime/fastload.py) already hold an Arrow
table; those from the row strategy (runtime/data.py) hold lists, converted here once per
column (timestamps as int64 microseconds cast to TIMESTAMP, never through datetime objects).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..compiler import ir
from ..compiler.text import fold
from .data import Events, Leads

_TYPES = {"key": pa.string(), "text": pa.string(), "int": pa.float64(), "float": pa.float64(),
          "bool": pa.bool_(), "timestamp": pa.int64()}


def lead_table(schema: ir.Schema, leads: Leads) -> pa.Table:
    """Key column, then the schema's fields (timestamps as int64 microseconds)."""
    table = getattr(leads, "table", None)
    if table is not None:
        return table
    cols = {schema.lead_key: pa.array(leads.keys, pa.string())}
    for name, type_ in schema.lead_fields.items():
        cols[name] = pa.array(leads.columns[name], _TYPES[type_])
    return pa.table(cols)


def event_table(schema: ir.Schema, events: Events) -> pa.Table:
    """Lead, time (int64 microseconds), type, then the schema's event fields."""
    table = getattr(events, "table", None)
    if table is not None:
        return table
    cols = {schema.event_lead: pa.array(events.leads, pa.string()),
            schema.event_time: pa.array(events.times, pa.int64()),
            schema.event_type: pa.array(events.types, pa.string())}
    for name, type_ in schema.event_fields.items():
        cols[name] = pa.array(events.columns[name], _TYPES[type_])
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
    if not s.has_events:
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
    after = pc.and_(known, pc.greater(ev.column(schema.event_time), as_of_us))
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
