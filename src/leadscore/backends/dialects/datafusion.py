"""Apache DataFusion: PostgreSQL-like SQL, Rust regexes, LOWER is full case mapping.

sqlglot has no DataFusion dialect; PostgreSQL's spelling is accepted by DataFusion
for everything leadscore emits, with the overrides below.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ...compiler.regex import PortableRegex
from .base import Dialect
from .common import prefold, strpos_contains


@dataclass(frozen=True)
class DataFusion(Dialect):
    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        # a TIMESTAMP(MICROSECOND) cast to BIGINT is its microseconds since the epoch
        return exp.Cast(this=ts, to=exp.DataType.build("BIGINT"))

    def lower(self, value: exp.Expression) -> exp.Expression:
        return prefold(value)

    def regex_search(self, value: exp.Expression, rx: PortableRegex) -> exp.Expression:
        pattern = rx.render(end=self.regex_end, dot=self.regex_dot)
        return exp.RegexpLike(this=value, expression=exp.Literal.string(pattern))

    def contains(self, value, needle):
        return strpos_contains(value, needle)


DATAFUSION = DataFusion(name="datafusion", sqlglot="postgres", executed=True,
                        verified="datafusion package in process; conformance corpus and "
                                 "differential tests", regex_end="\\z")
