"""Running a compiled model on an engine: the in-process Python evaluator or DuckDB.

Both take the same validated `Leads` and `Events` and return the same rows:
(key, outputs...) ordered by key.
"""

from __future__ import annotations

from typing import Any

from ..backends.python import PythonEvaluator, compile_python
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


def run(model: ir.Model, leads: Leads | None, events: Events | None, as_of_us: int,
        engine: str = "duckdb", db: str | None = None, into: str | None = None) -> list[tuple]:
    """Score on `engine`.

    `db` is a connection URL (postgres, mysql) or a database file (duckdb, sqlite);
    with `leads=None` the model's own tables in that database are scored; `into`
    names a table to write the results to, atomically.
    """
    if engine == "python":
        if leads is None or db or into:
            raise ValueError("the python engine scores files; --db and --into need a database")
        return run_python(model, leads, events, as_of_us)
    from .warehouses import RUNNERS

    if engine in RUNNERS:
        return RUNNERS[engine](model, leads, events, as_of_us, db, into)
    raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
