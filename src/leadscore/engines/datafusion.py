"""Apache DataFusion: PostgreSQL-like SQL, Rust regexes, LOWER is full case mapping.

sqlglot has no DataFusion dialect; PostgreSQL's spelling is accepted by DataFusion
for everything leadscore emits, with the overrides below. The runner registers the
data as Arrow record batches in a fresh session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from .base import Dialect
from .common import prefold, strpos_contains

if TYPE_CHECKING:
    from ..compiler.regex import PortableRegex
    from ..runtime.warehouses import Job


def _batches(table: Any) -> list:
    import pyarrow as pa

    return table.to_batches() or [pa.RecordBatch.from_pylist([], schema=table.schema)]


@dataclass(frozen=True)
class DataFusion(Dialect):
    lower = staticmethod(prefold)
    contains = staticmethod(strpos_contains)

    def regex_search(self, value: exp.Expression, rx: PortableRegex) -> exp.Expression:
        # DataFusion 55 rewrites `~` and regexp_like into LIKE where it can and drops an escaped
        # backslash on the way (`x ~ 'a\\b'` is true for 'ab'); regexp_match is not rewritten.
        found = exp.Anonymous(this="regexp_match",
                              expressions=[value, exp.Literal.string(self.regex_pattern(rx))])
        return exp.Not(this=exp.Is(this=found, expression=exp.Null()))

    def placeholder(self, name: str) -> exp.Expression:
        return exp.var(f"${name}")  # bound by SessionContext.sql(..., param_values=...)

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        # a TIMESTAMP(MICROSECOND) cast to BIGINT is its microseconds since the epoch
        return exp.Cast(this=ts, to=exp.DataType.build("BIGINT"))

    def run(self, job: Job) -> list[tuple]:
        from ..runtime.warehouses import Tables, driver

        job.in_process(self)
        ctx = driver("datafusion", self.name, "the datafusion package").SessionContext()
        tables = Tables("leads", "events")
        for name, t in zip((tables.leads, tables.events), job.arrow(tz=None)):
            if t is not None:
                ctx.register_record_batches(name, [_batches(t)])
        result = ctx.sql(job.sql(self, tables)).to_arrow_table()
        return job.normalize([tuple(r.values()) for r in result.to_pylist()])


DATAFUSION = DataFusion(name="datafusion", sqlglot="postgres", executed=True,
                        verified="datafusion package in process; conformance corpus and "
                                 "differential tests", regex_end="\\z")
