"""One scoring run from files: load, validate, count, score. Used by the CLI."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compiler import ir
from .data import Progress, Reject
from .output import write_rows


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
    rows: list[tuple] | None  # None when the engine wrote them to `out` itself
    stats: RunStats
    rejects: list[Reject]
    leads: Any  # what was read: `Leads`, or native.Side when the engine read the file
    events: Any
    count: int = 0  # lead rows scored (and written to `out`)
    accounts_count: int | None = None  # account rows written to `accounts`

    def __post_init__(self) -> None:
        if self.rows is not None:
            self.count = len(self.rows)


def _number_columns(model: ir.Model) -> dict[str, str]:
    """The output columns the writers store as numbers."""
    return {c: "number" for c in [*model.scores, "total"]}


def score_in_database(model: ir.Model, as_of_us: int, engine: str, db: str | None,
                      into: str | None = None, out: str | None = None,
                      memory_limit: str | None = None, history: str | None = None,
                      as_ofs: tuple[int, ...] = (), progress: Progress | None = None,
                      fetch: bool = True) -> RunResult:
    """Score the schema's tables where they already are (the database validates the types),
    writing the results to table `into`, history table `history` (a snapshot per `as_ofs`
    when given) and/or file `out`. On DuckDB the engine writes `out` itself."""
    columns = [model.schema.lead_key] + [c for c, _ in model.outputs]
    if engine == "duckdb" and into is None and history is None and out is not None:
        from . import native

        count = native.score_tables(model, db, as_of_us, out, memory_limit)
        if count is not None:
            stats = RunStats(leads_read=count, leads_scored=count)
            return RunResult(columns, None, stats, [], None, None, count)
    from .engines import run

    got = run(model, None, None, as_of_us, engine, db, into, progress=progress,
              fetch=out is not None or (fetch and into is None), memory_limit=memory_limit,
              history=history, as_ofs=as_ofs)
    if isinstance(got, int):  # written to `into` in the database, nothing fetched
        stats = RunStats(leads_read=got, leads_scored=got)
        return RunResult(columns, None, stats, [], None, None, got)
    rows = got
    stats = RunStats(leads_read=len(rows), leads_scored=len(rows))
    if out:
        write_rows(out, columns, rows, _number_columns(model))
    return RunResult(columns, rows, stats, [], None, None)


def score_files(model: ir.Model, leads_path: str | Path, events_path: str | Path | None,
                as_of_us: int, engine: str = "duckdb", delimiter: str | None = None,
                strict: bool = False, db: str | None = None,
                into: str | None = None, progress: Progress | None = None,
                row_key: bool = False, out: str | None = None,
                accounts: str | None = None, memory_limit: str | None = None,
                history: str | None = None, as_ofs: tuple[int, ...] = (),
                fetch: bool = True) -> RunResult:
    """Load, validate, count, score, and write the results to `out` and the account roll-up
    to `accounts` when given. `progress(stage, done, total)` is called as the run goes (see
    runtime/progress.py for a terminal bar); it never changes the result. With `row_key`,
    the leads file has no key column: each row's number is its key.

    With `history`, the snapshot (one per `as_ofs` when given) is added to that history
    table of `db`; `fetch` False: only when `out` or `accounts` asks, the rows come back.

    On DuckDB without a database the engine reads and writes the files itself
    (runtime/native.py); everywhere else the Python loader reads them."""
    if engine == "duckdb" and db is None and into is None and history is None:
        return _native(model, leads_path, events_path, as_of_us, delimiter, strict, row_key,
                       out, accounts, progress, memory_limit)
    from .columnar import event_counts  # Arrow, and the evaluators: not on the native path
    from .data import empty_events, read_events, read_leads
    from .engines import run

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
    fetch = out is not None or accounts is not None or (fetch and into is None)
    got = run(model, leads, events, as_of_us, engine, db, into, progress=progress, fetch=fetch,
              memory_limit=memory_limit, history=history, as_ofs=as_ofs)
    rows = None if isinstance(got, int) else got  # an int: rows written to `into` only
    scored = got if rows is None else len(rows)
    if progress:
        progress(f"scoring on {engine}", scored, scored)
    stats.leads_scored = scored
    columns = [schema.lead_key] + [c for c, _ in model.outputs]
    result = RunResult(columns, rows, stats, leads.rejects + events.rejects, leads, events,
                       scored)
    if out:
        write_rows(out, columns, rows, _number_columns(model))
    if accounts:
        from .accounts import account_columns, run_accounts

        acc = run_accounts(model, leads, events, as_of_us, engine, db,
                           lead_rows=rows if engine == "python" else None)
        write_rows(accounts, account_columns(model), acc, {"score": "number", "total": "number"})
        result.accounts_count = len(acc)
    return result


def _native(model: ir.Model, leads_path: str | Path, events_path: str | Path | None,
            as_of_us: int, delimiter: str | None, strict: bool, row_key: bool,
            out: str | None, accounts: str | None, progress: Progress | None,
            memory_limit: str | None) -> RunResult:
    from . import native

    got = native.run_files(model, leads_path, events_path, as_of_us, delimiter, strict,
                           row_key, out, accounts, progress, memory_limit)
    ev = got.events
    stats = RunStats(leads_read=got.leads.read, leads_rejected=len(got.leads.rejects),
                     leads_scored=got.count, events_read=ev.read if ev else 0,
                     events_rejected=len(ev.rejects) if ev else 0,
                     events_unknown_lead=got.unknown, events_after_as_of=got.late,
                     undeclared_types=got.undeclared)
    columns = [model.schema.lead_key] + [c for c, _ in model.outputs]
    if out and got.rows is not None:  # a format the engine does not write alike
        write_rows(out, columns, got.rows, _number_columns(model))
    if accounts and got.account_rows is not None:
        from .accounts import account_columns

        write_rows(accounts, account_columns(model), got.account_rows,
                   {"score": "number", "total": "number"})
    return RunResult(columns, got.rows, stats, got.leads.rejects + (ev.rejects if ev else []),
                     got.leads, ev, got.count, got.accounts_count)
