"""One scoring run from files: load, validate, count, score. Used by the CLI."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..compiler import ir
from .columnar import event_counts
from .data import Events, Leads, Progress, Reject, empty_events, read_events, read_leads
from .engines import run


@dataclass
class RunStats:
    leads_read: int = 0
    leads_rejected: int = 0
    leads_scored: int = 0
    events_read: int = 0
    events_rejected: int = 0
    events_unknown_lead: int = 0
    events_after_as_of: int = 0
    undeclared_types: Counter = field(default_factory=Counter)

    @property
    def events_used(self) -> int:
        return (self.events_read - self.events_rejected - self.events_unknown_lead
                - self.events_after_as_of)


@dataclass
class RunResult:
    columns: list[str]
    rows: list[tuple]
    stats: RunStats
    rejects: list[Reject]
    leads: Leads | None
    events: Events | None


def score_in_database(model: ir.Model, as_of_us: int, engine: str, db: str | None,
                      into: str | None = None) -> RunResult:
    """Score the schema's tables where they already are; the database validates the types."""
    rows = run(model, None, None, as_of_us, engine, db, into)
    stats = RunStats(leads_read=len(rows), leads_scored=len(rows))
    columns = [model.schema.lead_key] + [c for c, _ in model.outputs]
    return RunResult(columns, rows, stats, [], None, None)


def score_files(model: ir.Model, leads_path: str | Path, events_path: str | Path | None,
                as_of_us: int, engine: str = "duckdb", delimiter: str | None = None,
                strict: bool = False, db: str | None = None,
                into: str | None = None, progress: Progress | None = None,
                row_key: bool = False) -> RunResult:
    """Load, validate, count and score. `progress(stage, done, total)` is called as the run
    goes (see runtime/progress.py for a terminal bar); it never changes the result. With
    `row_key`, the leads file has no key column: each row's number is its key."""
    schema = model.schema
    leads = read_leads(leads_path, schema, delimiter, strict, row_key, progress)
    if schema.has_events and events_path is not None:
        events = read_events(events_path, schema, delimiter, strict, progress)
    else:
        events = empty_events(schema)
    stats = RunStats(leads_read=leads.read, leads_rejected=len(leads.rejects),
                     events_read=events.read, events_rejected=len(events.rejects))
    if schema.has_events:
        unknown, late, undeclared = event_counts(schema, leads, events, as_of_us)
        stats.events_unknown_lead, stats.events_after_as_of = unknown, late
        stats.undeclared_types = undeclared
    if progress:
        progress(f"scoring on {engine}", 0, len(leads.keys))
    rows = run(model, leads, events, as_of_us, engine, db, into, progress=progress)
    if progress:
        progress(f"scoring on {engine}", len(rows), len(rows))
    stats.leads_scored = len(rows)
    columns = [schema.lead_key] + [c for c, _ in model.outputs]
    return RunResult(columns, rows, stats, leads.rejects + events.rejects, leads, events)
