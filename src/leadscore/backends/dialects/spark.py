"""Spark SQL: Java regexes (RLIKE), LOWER is full case mapping, session time zone UTC."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from .base import Dialect
from .common import prefold


@dataclass(frozen=True)
class Spark(Dialect):
    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this="UNIX_MICROS", expressions=[ts])

    def lower(self, value: exp.Expression) -> exp.Expression:
        return prefold(value)


SPARK = Spark(name="spark", sqlglot="spark", executed=True,
              verified="pyspark in local mode (UTC session); conformance corpus and differential "
                       "tests", regex_end="\\z")
DATABRICKS = Spark(name="databricks", sqlglot="databricks", executed=False,
                   verified="generated only: golden SQL, parsed back with sqlglot; same functions "
                            "as Spark SQL", regex_end="\\z")
