"""Dialects we print but do not execute here: checked by golden SQL and sqlglot parse-back.

Each override handles a pitfall where the default spelling generates fine but means
something else on that engine (see docs/engines.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from ..compiler.regex import PortableRegex
from .base import Dialect, Unsupported
from .common import right_ends_with, strpos_contains

GENERATED = "generated only: golden SQL for the reference model, parsed back with sqlglot"


@dataclass(frozen=True)
class Snowflake(Dialect):
    contains = staticmethod(strpos_contains)

    def placeholder(self, name):
        return exp.var(f"${name}")  # a session variable: SET as_of_us = ...

    def epoch_us(self, ts):
        return exp.Anonymous(this="DATE_PART", expressions=[exp.var("EPOCH_MICROSECOND"), ts])

    def regex_search(self, value, rx: PortableRegex):
        # REGEXP_LIKE is anchored on Snowflake (a whole-string match); REGEXP_INSTR searches
        pattern = self.regex_pattern(rx)
        instr = exp.Anonymous(this="REGEXP_INSTR", expressions=[value, exp.Literal.string(pattern)])
        return exp.GT(this=instr, expression=exp.Literal.number(0))


@dataclass(frozen=True)
class BigQuery(Dialect):
    contains = staticmethod(strpos_contains)

    def epoch_us(self, ts):
        return exp.Anonymous(this="UNIX_MICROS", expressions=[ts])


@dataclass(frozen=True)
class Trino(Dialect):
    contains = staticmethod(strpos_contains)
    ends_with = staticmethod(right_ends_with)

    def placeholder(self, name):
        raise Unsupported("Trino has only positional parameters (`?`, one per use): give --as-of")

    def epoch_us(self, ts):
        # to_unixtime is a DOUBLE of seconds; round to whole microseconds
        micros = exp.Mul(this=exp.Anonymous(this="TO_UNIXTIME", expressions=[ts]),
                         expression=exp.Literal.number(1_000_000))
        return exp.Cast(this=exp.Round(this=micros), to=exp.DataType.build("BIGINT"))


@dataclass(frozen=True)
class Redshift(Dialect):
    ends_with = staticmethod(right_ends_with)
    contains = staticmethod(strpos_contains)

    def epoch_us(self, ts):
        return exp.Anonymous(this="DATEDIFF", expressions=[
            exp.var("microsecond"), exp.Cast(this=exp.Literal.string("1970-01-01"),
                                             to=exp.DataType.build("TIMESTAMP")), ts])

    def starts_with(self, value, needle):
        prefix = exp.Left(this=value, expression=exp.Length(this=needle.copy()))
        return exp.EQ(this=prefix, expression=needle)


@dataclass(frozen=True)
class TSql(Dialect):
    def placeholder(self, name):
        return exp.Parameter(this=exp.var(name))  # a variable: DECLARE @as_of_us BIGINT = ...

    def epoch_us(self, ts):
        return exp.Anonymous(this="DATEDIFF_BIG", expressions=[
            exp.var("MICROSECOND"), exp.Literal.string("1970-01-01"), ts])

    def regex_search(self, value, rx: PortableRegex):
        raise Unsupported("T-SQL has no regular expressions (before SQL Server 2025)")

    @staticmethod
    def _length(needle):
        # LEN ignores trailing spaces: measure the needle with a character appended
        return exp.Sub(this=exp.Anonymous(this="LEN", expressions=[
            exp.Concat(expressions=[needle, exp.Literal.string("x")])]),
            expression=exp.Literal.number(1))

    def starts_with(self, value, needle):
        prefix = exp.Left(this=value, expression=self._length(needle.copy()))
        return exp.EQ(this=prefix, expression=needle)

    def ends_with(self, value, needle):
        suffix = exp.Right(this=value, expression=self._length(needle.copy()))
        return exp.EQ(this=suffix, expression=needle)

    def contains(self, value, needle):
        charindex = exp.Anonymous(this="CHARINDEX", expressions=[needle, value])
        return exp.GT(this=charindex, expression=exp.Literal.number(0))


SNOWFLAKE = Snowflake(name="snowflake", sqlglot="snowflake", executed=False, verified=GENERATED,
                      regex_dot=".")
BIGQUERY = BigQuery(name="bigquery", sqlglot="bigquery", executed=False, verified=GENERATED,
                    regex_end="\\z")
TRINO = Trino(name="trino", sqlglot="trino", executed=False, verified=GENERATED, regex_end="\\z")
REDSHIFT = Redshift(name="redshift", sqlglot="redshift", executed=False, verified=GENERATED,
                    regex_dot=".")
TSQL = TSql(name="tsql", sqlglot="tsql", executed=False, verified=GENERATED, bool_values=False)
