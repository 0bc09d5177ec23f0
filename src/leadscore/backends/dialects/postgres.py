"""PostgreSQL: POSIX ARE regexes (`~`); EXTRACT(EPOCH) is exact NUMERIC since 14."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ...compiler.regex import PortableRegex
from .base import Dialect
from .common import right_ends_with, strpos_contains


@dataclass(frozen=True)
class Postgres(Dialect):
    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        seconds = exp.Extract(this=exp.var("EPOCH"), expression=ts)
        micros = exp.Mul(this=seconds, expression=exp.Literal.number(1_000_000))
        return exp.Cast(this=micros, to=exp.DataType.build("BIGINT"))

    def regex_search(self, value: exp.Expression, rx: PortableRegex) -> exp.Expression:
        pattern = rx.render(end=self.regex_end, dot=self.regex_dot)
        return exp.RegexpLike(this=value, expression=exp.Literal.string(pattern))

    def ends_with(self, value, needle):
        return right_ends_with(value, needle)

    def contains(self, value, needle):
        return strpos_contains(value, needle)


POSTGRES = Postgres(name="postgres", sqlglot="postgres", executed=True,
                    verified="local PostgreSQL server (psycopg); conformance corpus, differential "
                             "and hostile-string tests", regex_end="\\Z")
