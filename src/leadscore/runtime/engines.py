"""Running a compiled model on an engine: the in-process Python evaluator or DuckDB.

Both take the same validated `Leads` and `Events` and return the same rows:
(key, outputs...) ordered by key.
"""

from __future__ import annotations

from typing import Any

from ..backends.python import PythonEvaluator, compile_python
from ..backends.sql import to_sql
from ..compiler import ir
from ..compiler.text import fold
from .data import Events, Leads

ENGINES = ("duckdb", "python", "sqlite", "postgres", "mysql", "spark", "clickhouse", "datafusion")


def _lower(v: Any) -> Any:
    return fold(v) if isinstance(v, str) else v


def run_python(model: ir.Model, leads: Leads, events: Events, as_of_us: int,
               evaluator: PythonEvaluator | None = None) -> list[tuple]:
    ev = evaluator or compile_python(model)
    lead_types = model.schema.lead_fields
    lead_cols = [
        [_lower(v) for v in leads.columns[n]] if lead_types[n] == "text" else leads.columns[n]
        for n in ev.lead_fields
    ]
    lead_rows = list(zip(leads.keys, *lead_cols)) if lead_cols else [(k,) for k in leads.keys]
    ev_types = model.schema.event_fields
    ev_cols = [
        [_lower(v) for v in events.columns[n]] if ev_types[n] == "text" else events.columns[n]
        for n in ev.event_fields
    ]
    by_lead: dict[str, list[tuple]] = {}
    types = [fold(t) for t in events.types]
    for row in zip(events.leads, events.times, types, *ev_cols):
        bucket = by_lead.get(row[0])
        if bucket is None:
            bucket = by_lead[row[0]] = []
        bucket.append(row[1:])
    rows = ev.fn(lead_rows, by_lead, as_of_us)
    rows.sort(key=lambda r: r[0])
    return rows


def _arrow_tables(model: ir.Model, leads: Leads, events: Events):
    import pyarrow as pa

    arrow_type = {"text": pa.string(), "int": pa.float64(), "float": pa.float64(),
                  "bool": pa.bool_(), "timestamp": pa.timestamp("us")}
    s = model.schema
    lead_arrays = {s.lead_key: pa.array(leads.keys, pa.string())}
    for name, type_ in s.lead_fields.items():
        lead_arrays[name] = pa.array(leads.columns[name], arrow_type[type_])
    lead_table = pa.table(lead_arrays)
    event_table = None
    if s.has_events:
        ev_arrays = {
            s.event_lead: pa.array(events.leads, pa.string()),
            s.event_time: pa.array(events.times, pa.timestamp("us")),
            s.event_type: pa.array(events.types, pa.string()),
        }
        for name, type_ in s.event_fields.items():
            ev_arrays[name] = pa.array(events.columns[name], arrow_type[type_])
        event_table = pa.table(ev_arrays)
    return lead_table, event_table


def run_duckdb(model: ir.Model, leads: Leads, events: Events, as_of_us: int,
               db: str | None = None) -> list[tuple]:
    import duckdb

    lead_table, event_table = _arrow_tables(model, leads, events)
    con = duckdb.connect(db or ":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.register("leads", lead_table)
        if event_table is not None:
            con.register("events", event_table)
        sql = to_sql(model, as_of_us=as_of_us, leads="leads", events="events", pretty=False)
        rows = [tuple(r) for r in con.execute(sql).fetchall()]
    finally:
        con.close()
    rows.sort(key=lambda r: r[0])
    return rows


def run(model: ir.Model, leads: Leads, events: Events, as_of_us: int,
        engine: str = "duckdb", db: str | None = None) -> list[tuple]:
    """Score on `engine`; `db` is a connection URL for server engines (postgres, mysql)."""
    if engine == "python":
        return run_python(model, leads, events, as_of_us)
    if engine == "duckdb":
        return run_duckdb(model, leads, events, as_of_us, db)
    from .warehouses import RUNNERS

    if engine in RUNNERS:
        return RUNNERS[engine](model, leads, events, as_of_us, db)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
