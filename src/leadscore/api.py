"""The Python API behind `leadscore.load`/`loads`: a compiled model that scores, writes SQL
and streams. Scoring imports the runtime on first use, so compiling alone stays light."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .compiler import compile_file, compile_source, ir

if TYPE_CHECKING:
    from .runtime.frames import Scores
    from .runtime.stream import Stream


@dataclass
class Model:
    """A compiled scoring model."""

    ir: ir.Model

    @property
    def columns(self) -> list[str]:
        return [self.ir.schema.lead_key] + [c for c, _ in self.ir.outputs]

    def score(self, leads: Any, events: Any = (), as_of: datetime | str | None = None,
              engine: str = "python", db: str | None = None) -> Scores:
        """Score leads with their events: DataFrames (anything exporting the Arrow C stream
        interface: pyarrow, polars, pandas, DuckDB relations) or iterables of dicts. A schema
        column a frame or a dict lacks holds missing values.

        Returns the rows in key order: dicts when iterated, or `.to_arrow()`,
        `.to_pandas()`, `.to_polars()`. `as_of` defaults to now (UTC). Raises `DataError`
        listing every row that cannot be read (rows numbered from 1); nothing is dropped
        silently. `db` is where a SQL engine runs, as `leadscore run --db` takes it (a
        server's URL, a database file, a Spark cluster's spark://HOST:PORT).
        """
        from .runtime import frames
        from .runtime.data import DataError, convert, empty_events
        from .runtime.engines import run

        schema = self.ir.schema
        if as_of is None:
            as_of = datetime.now(UTC)
        as_of_us = convert(as_of, "timestamp")
        lead_data = frames.read_leads(leads, schema)
        event_data = frames.read_events(events, schema) if schema.has_events else empty_events(schema)
        rejects = lead_data.rejects + event_data.rejects
        if rejects:
            raise DataError("rows that cannot be scored:\n" + "\n".join(f"  {r}" for r in rejects))
        rows = run(self.ir, lead_data, event_data, as_of_us, engine, db)
        return frames.Scores(self.columns, rows, {c: "number" for c in [*self.ir.scores, "total"]})

    def sql(self, dialect: str = "duckdb") -> str:
        from .backends.sql import to_sql
        from .engines import get_dialect

        return to_sql(self.ir, get_dialect(dialect))

    def stream(self) -> Stream:
        """An incremental scorer: `lead(record)`, `update(event) -> row`, `score(key, as_of)`;
        per-lead state, so an event costs the same however long the lead's history is."""
        from .runtime.stream import Stream

        return Stream(self.ir)


def load(path: str | Path) -> Model:
    """Compile a `.score` file; raises `CompileError` with located diagnostics."""
    return Model(compile_file(path))


def loads(text: str, path: str = "<string>") -> Model:
    """Compile rule-file text."""
    return Model(compile_source(text, path))
