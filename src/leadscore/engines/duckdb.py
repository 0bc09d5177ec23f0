"""DuckDB: the embedded default. RE2 regexes; LOWER is Unicode simple case mapping.

The runner hands it the data as Arrow tables, or scores tables already in a database
file (`--db`), and can write the results back (`--into`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB as _SqlglotDuckDB

from .base import Connection, Dialect

if TYPE_CHECKING:
    from ..runtime.warehouses import Job, Tables


class _Printer(_SqlglotDuckDB.Generator):
    """sqlglot's DuckDB generator, printing each plain type (no parameters, as every
    `CAST(... AS DOUBLE)` here) once per query: its DuckDB `datatype_sql` builds five
    DataType nodes to check each one, half the printing time of a large model's query."""

    __slots__ = ("_plain",)

    def __init__(self, **opts: Any):
        super().__init__(**opts)
        self._plain: dict[object, str] = {}

    def datatype_sql(self, expression: exp.DataType) -> str:
        if any(v for k, v in expression.args.items() if k != "this"):
            return super().datatype_sql(expression)
        sql = self._plain.get(expression.this)
        if sql is None:
            sql = self._plain[expression.this] = super().datatype_sql(expression)
        return sql


_BINARY = exp.Identifier(this="binary", quoted=True)


def _register(con: Any, job: Job) -> Tables:
    """The job's data as Arrow tables registered on the connection: no copy."""
    from ..runtime.warehouses import Tables

    lead_t, ev_t = job.arrow(tz=None)
    tables = Tables("leadscore_leads", "leadscore_events")
    con.register(tables.leads, lead_t)
    if ev_t is not None:
        con.register(tables.events, ev_t)
    return tables


def connect_file(path: str) -> Any:
    """A read-write connection to DuckDB file `path`. Another process holding the file (DuckDB
    locks it whole) is waited for up to LOCK_TIMEOUT_S, then a clear EngineError; so is a file
    DuckDB cannot open."""
    import duckdb

    from ..runtime.warehouses import LOCK_TIMEOUT_S, EngineError, first_line

    deadline = time.monotonic() + LOCK_TIMEOUT_S
    while True:
        try:
            return duckdb.connect(path)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower():
                raise EngineError(f"duckdb: cannot open {path}: {first_line(err)}") from None
            if time.monotonic() >= deadline:
                raise EngineError(f"the database {path} is locked by another process (waited "
                                  f"{LOCK_TIMEOUT_S} s): {first_line(err)}") from None
            time.sleep(0.05)
        except duckdb.Error as err:
            raise EngineError(f"duckdb: cannot open {path}: {first_line(err)}") from None


@dataclass(frozen=True)
class DuckDB(Dialect):
    # A column's collation (NOCASE, NOACCENT, a language's) reaches LOWER's result and the
    # comparisons on it, and a key's reaches the join and GROUP BY: both are put back
    # under "binary" (code point equality). COLLATE takes VARCHAR only, hence the key's CAST.
    def lower(self, value: exp.Expression) -> exp.Expression:
        return exp.Collate(this=exp.Lower(this=value), expression=_BINARY.copy())

    def key(self, value: exp.Expression) -> exp.Expression:
        text = exp.Cast(this=value, to=exp.DataType(this=exp.DataType.Type.VARCHAR, nested=False))
        return exp.Collate(this=text, expression=_BINARY.copy())

    def render(self, query: exp.Expression, pretty: bool) -> str:
        return _Printer(dialect=self.sqlglot, pretty=pretty).generate(query, copy=False)

    def connect(self, db: str | None, write: bool = False) -> Connection:
        import duckdb

        con = connect_file(db) if db else duckdb.connect(":memory:")
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("BEGIN TRANSACTION")
        except duckdb.Error:
            con.close()
            raise
        return Connection(con, con, (duckdb.Error,))

    def run(self, job: Job) -> list[tuple] | int:
        from ..runtime.native import limited

        c = self.connect(job.db)
        with limited(c.con, job.memory_limit):
            return job.through(c.con, c.cur, self, (), lambda cur: _register(c.con, job),
                               errors=c.errors)


DUCKDB = DuckDB(name="duckdb", sqlglot="duckdb", executed=True,
                verified="in-process (duckdb package); conformance corpus and differential tests",
                regex_end="\\z", filter_clause=True, extremes_ignore_nulls=True, in_database=True,
                into_parts=3,
                column_types={"key": "VARCHAR", "text": "VARCHAR", "int": "DOUBLE",
                              "float": "DOUBLE", "bool": "BOOLEAN", "timestamp": "TIMESTAMP"})
