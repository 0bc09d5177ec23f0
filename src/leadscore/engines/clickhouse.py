"""ClickHouse (chdb in process): RE2 `match`, lowerUTF8, and NULLs from outer joins.

Without `join_use_nulls = 1` a LEFT JOIN fills missing columns with 0 or '' instead
of NULL; the query carries the setting itself. The runner keeps one chdb session per
process and loads the data into Memory tables from Arrow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ..compiler.regex import PortableRegex
from .base import Dialect
from .common import strpos_contains

if TYPE_CHECKING:
    from ..runtime.warehouses import Job

_SESSION: list[Any] = []  # the process's one chdb session, once started


def _column_type(t: Any) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(t):
        return "Nullable(DateTime64(6, 'UTC'))"
    if pa.types.is_floating(t):
        return "Nullable(Float64)"
    if pa.types.is_boolean(t):
        return "Nullable(Bool)"
    return "Nullable(String)"


@dataclass(frozen=True)
class ClickHouse(Dialect):
    contains = staticmethod(strpos_contains)

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this="toUnixTimestamp64Micro", expressions=[ts])

    def placeholder(self, name: str) -> exp.Expression:
        # a typed query parameter, `{name:Int64}`: ClickHouse rejects one without its type
        return exp.Placeholder(this=name, kind=exp.DataType.build("Int64", dialect="clickhouse"))

    def lower(self, value: exp.Expression) -> exp.Expression:
        inner = exp.Anonymous(this="replaceAll", expressions=[
            exp.Anonymous(this="replaceAll", expressions=[value, exp.Literal.string("İ"),
                                                          exp.Literal.string("i")]),
            exp.Literal.string("Σ"), exp.Literal.string("σ")])
        return exp.Anonymous(this="lowerUTF8", expressions=[inner])

    def regex_search(self, value: exp.Expression, rx: PortableRegex) -> exp.Expression:
        pattern = self.regex_pattern(rx)
        return exp.Anonymous(this="match", expressions=[value, exp.Literal.string(pattern)])

    def starts_with(self, value, needle):
        return exp.Anonymous(this="startsWith", expressions=[value, needle])

    def ends_with(self, value, needle):
        return exp.Anonymous(this="endsWith", expressions=[value, needle])

    def finish(self, query: exp.Select) -> exp.Select:
        settings = exp.EQ(this=exp.var("join_use_nulls"), expression=exp.Literal.number(1))
        query.set("settings", [settings])
        return query

    def run(self, job: Job) -> list[tuple]:
        from ..runtime.warehouses import Tables, driver

        job.in_process(self)
        if not _SESSION:
            _SESSION.append(driver("chdb.session", self.name, "chdb").Session())
        sess = _SESSION[0]
        tables = Tables.fresh()
        created = []
        try:
            for name, t in zip((tables.leads, tables.events), job.arrow()):
                if t is None:
                    continue
                cols = ", ".join(f"{self.quote(f.name)} {_column_type(f.type)}" for f in t.schema)
                sess.query(f"CREATE TABLE {self.quote(name)} ({cols}) ENGINE = Memory")
                created.append(name)
                if t.num_rows:
                    source = t  # noqa: F841 - read by chdb's Python() table function below
                    sess.query(f"INSERT INTO {self.quote(name)} SELECT * FROM Python(source)")
            result = sess.query(job.sql(self, tables), "ArrowTable")
            rows = [tuple(r.values()) for r in result.to_pylist()]
        finally:
            for name in created:
                sess.query(f"DROP TABLE IF EXISTS {self.quote(name)}")
        return job.normalize(rows)


CLICKHOUSE = ClickHouse(name="clickhouse", sqlglot="clickhouse", executed=True,
                        verified="chdb (ClickHouse in process); conformance corpus and "
                                 "differential tests", regex_end="\\z")
