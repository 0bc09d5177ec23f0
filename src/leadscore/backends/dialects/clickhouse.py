"""ClickHouse (chdb in process): RE2 `match`, lowerUTF8, and NULLs from outer joins.

Without `join_use_nulls = 1` a LEFT JOIN fills missing columns with 0 or '' instead
of NULL; the query carries the setting itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ...compiler.regex import PortableRegex
from .base import Dialect
from .common import strpos_contains


@dataclass(frozen=True)
class ClickHouse(Dialect):
    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this="toUnixTimestamp64Micro", expressions=[ts])

    def lower(self, value: exp.Expression) -> exp.Expression:
        inner = exp.Anonymous(this="replaceAll", expressions=[
            exp.Anonymous(this="replaceAll", expressions=[value, exp.Literal.string("İ"),
                                                          exp.Literal.string("i")]),
            exp.Literal.string("Σ"), exp.Literal.string("σ")])
        return exp.Anonymous(this="lowerUTF8", expressions=[inner])

    def regex_search(self, value: exp.Expression, rx: PortableRegex) -> exp.Expression:
        pattern = rx.render(end=self.regex_end, dot=self.regex_dot)
        return exp.Anonymous(this="match", expressions=[value, exp.Literal.string(pattern)])

    def starts_with(self, value, needle):
        return exp.Anonymous(this="startsWith", expressions=[value, needle])

    def ends_with(self, value, needle):
        return exp.Anonymous(this="endsWith", expressions=[value, needle])

    def contains(self, value, needle):
        return strpos_contains(value, needle)

    def finish(self, query: exp.Select) -> exp.Select:
        settings = exp.EQ(this=exp.var("join_use_nulls"), expression=exp.Literal.number(1))
        query.set("settings", [settings])
        return query


CLICKHOUSE = ClickHouse(name="clickhouse", sqlglot="clickhouse", executed=True,
                        verified="chdb (ClickHouse in process); conformance corpus and "
                                 "differential tests", regex_end="\\z")
