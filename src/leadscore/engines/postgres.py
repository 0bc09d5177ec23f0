"""PostgreSQL: POSIX ARE regexes (`~`); EXTRACT(EPOCH) is exact NUMERIC since 14.

The runner (psycopg) loads the data with COPY into temporary tables, or scores the
schema's own tables, in a UTC session with the planner settings of `SESSION`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from .base import Dialect
from .common import right_ends_with, strpos_contains

if TYPE_CHECKING:
    from ..runtime.warehouses import Job, Tables


# The scoring transaction's settings (SET LOCAL: gone at its commit), from EXPLAIN ANALYZE
# of the reference model at 100k leads / 1M events:
# - jit off: the query's many CASE expressions put its cost past jit_above_cost, and
#   compiling them took 17 s of a 28 s run; the query itself runs in 12 s without it;
# - no parallel workers and no synchronized scans: both change the order in which a lead's
#   events reach SUM, and float sums depend on it: with two workers 35 to 41 rows differed
#   from the Python evaluator in the last digit, and from one run to the next. Scanned in
#   table order, none did (the query takes about 1.3x as long on two cores).
SESSION = ("SET TIME ZONE 'UTC'", "SET LOCAL jit = off",
           "SET LOCAL max_parallel_workers_per_gather = 0", "SET LOCAL synchronize_seqscans = off")


@dataclass(frozen=True)
class Postgres(Dialect):
    ends_with = staticmethod(right_ends_with)
    contains = staticmethod(strpos_contains)

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        seconds = exp.Extract(this=exp.var("EPOCH"), expression=ts)
        micros = exp.Mul(this=seconds, expression=exp.Literal.number(1_000_000))
        return exp.Cast(this=micros, to=exp.DataType.build("BIGINT"))

    def copy_in(self, cur: Any, job: Job) -> Tables:
        """The job's data in temporary tables, written with COPY."""
        tables, made = job.create_tables(cur, self)
        for table, cols in made:
            names = ", ".join(self.quote(n) for n, _, _ in cols)
            with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in zip(*[vals for _, _, vals in cols]):
                    copy.write_row(row)
        return tables

    def swap_in(self, cur: Any, tmp: str, into: str, old: str) -> None:
        # Two runs replacing one table take turns: a lock on its name held to the commit (a
        # killed run's goes with its connection); the second then replaces the first's table.
        parts = into.split(".")
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(concat_ws('.', "
                    "COALESCE(%s::text, current_schema()), %s::text), 0))",
                    (parts[-2] if len(parts) > 1 else None, parts[-1]))
        super().swap_in(cur, tmp, into, old)

    def run(self, job: Job) -> list[tuple] | int:
        from ..runtime.warehouses import EngineError, driver

        psycopg = driver("psycopg", self.name, "psycopg")
        url = job.db or self.default_db
        try:
            con = psycopg.connect(url, connect_timeout=5)
        except psycopg.OperationalError as err:
            raise EngineError(f"cannot connect to PostgreSQL at {url}: {err}") from None
        return job.through(con, con.cursor(), self, SESSION,
                           lambda cur: self.copy_in(cur, job), errors=(psycopg.Error,))


POSTGRES = Postgres(name="postgres", sqlglot="postgres", executed=True,
                    verified="local PostgreSQL server (psycopg); conformance corpus, differential "
                             "and hostile-string tests", regex_end="\\Z", in_database=True, into_parts=3,
                    default_db="postgresql://postgres@127.0.0.1:5432/test",
                    column_types={"key": "TEXT", "text": "TEXT", "int": "DOUBLE PRECISION",
                                  "float": "DOUBLE PRECISION", "bool": "BOOLEAN",
                                  "timestamp": "TIMESTAMP(6)"})
