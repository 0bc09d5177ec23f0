"""PostgreSQL: POSIX ARE regexes (`~`); EXTRACT(EPOCH) is exact NUMERIC since 14.

The runner (psycopg) loads the data with COPY into temporary tables, or scores the
schema's own tables, in a session whose settings it pins (`SESSION`).

The SQL means the same under any server, database or role setting: a string with a
backslash is an escape string `E'...'`, read alike whatever `standard_conforming_strings`
says; text is lower-cased under fixed collations (`"C"` for ASCII text, `FOLD_COLLATION`
for the rest), not the column's or the database's, and folded text and keys are compared,
joined and grouped under `"C"` (byte equality), so a column with a `"C"` or a
nondeterministic (case-insensitive) collation changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres as _SqlglotPostgres

from .base import Connection, Dialect, refused
from .common import prefold, right_ends_with, strpos_contains

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
# The session settings that change what a query means or how its results read, pinned
# because a database or role may set any of them (ALTER DATABASE/ROLE ... SET):
# standard_conforming_strings (how '...' reads a backslash: the SQL never depends on it, see
# `_Printer`, but the runner's own statements are plain), the time zone and date styles
# (timestamps load and read in UTC ISO form), extra_float_digits (below 1 floats come back
# rounded), transform_null_equals, and search_path without pg_catalog or pg_temp: unlisted,
# they are searched first, so no schema's function or operator named like a built-in one
# (in a path that lists pg_catalog after it) is called instead and no table shadows the
# runner's temporary ones; the schema's own tables are still created in and read from the
# path's first schemas.
SESSION = ("SET standard_conforming_strings = on", "SET client_encoding = 'UTF8'",
           "SET TIME ZONE 'UTC'", "SET DateStyle = 'ISO, MDY'", "SET IntervalStyle = 'postgres'",
           "SET extra_float_digits = 1", "SET transform_null_equals = off",
           "SELECT set_config('search_path', coalesce(string_agg(quote_ident(s), ', ' ORDER BY n),"
           " ''), false) FROM unnest(current_schemas(false)) WITH ORDINALITY AS p(s, n) "
           "WHERE s <> 'pg_catalog' AND left(s, 8) <> 'pg_temp_'",
           "SET LOCAL jit = off",
           "SET LOCAL max_parallel_workers_per_gather = 0", "SET LOCAL synchronize_seqscans = off")
# ICU's root locale: present wherever PostgreSQL is built with ICU, whatever the database's
# locale (LC_CTYPE "C" lower-cases ASCII only). Its LOWER is full case mapping; `prefold`
# maps the two characters where that differs from simple case mapping.
FOLD_COLLATION = "und-x-icu"


class _Printer(_SqlglotPostgres.Generator):
    """sqlglot's PostgreSQL generator with string literals that read the same whatever
    `standard_conforming_strings` says: with it off, a backslash in '...' escapes the next
    character, so `\\'` would end the literal and the rest of a rule file's string would
    be SQL. A string with a backslash is written `E'...'` (backslashes and quotes doubled),
    which always reads escapes; the others have no backslash to misread."""

    def literal_sql(self, expression: exp.Literal) -> str:
        if not expression.is_string:
            return super().literal_sql(expression)
        text = self._replace_line_breaks(expression.this.replace("'", "''"))
        if "\\" in text:
            return "E'" + text.replace("\\", "\\\\") + "'"
        return "'" + text + "'"


def _collate(value: exp.Expression, collation: str) -> exp.Expression:
    return exp.Collate(this=value, expression=exp.to_identifier(collation, quoted=True))


@dataclass(frozen=True)
class Postgres(Dialect):
    ends_with = staticmethod(right_ends_with)
    contains = staticmethod(strpos_contains)

    def render(self, query: exp.Expression, pretty: bool) -> str:
        return _Printer(dialect=self.sqlglot, pretty=pretty).generate(query, copy=False)

    def lower(self, value: exp.Expression) -> exp.Expression:
        # ASCII text (most types, keys, paths) lower-cased under "C": faster than the default
        # collation's LOWER, and ICU's costs 3x that (1M values: 0.3 s, 0.4 s, 1.1 s). The
        # rest under ICU, collated first: REPLACE refuses a nondeterministic collation's text.
        ascii_only = exp.EQ(this=exp.Anonymous(this="OCTET_LENGTH", expressions=[value.copy()]),
                            expression=exp.Length(this=value.copy()))
        full = prefold(_collate(value, FOLD_COLLATION))
        return exp.Case(ifs=[exp.If(this=ascii_only, true=exp.Lower(this=_collate(value.copy(), "C")))],
                        default=_collate(full, "C"))

    def key(self, value: exp.Expression) -> exp.Expression:
        text = exp.Cast(this=value, to=exp.DataType(this=exp.DataType.Type.TEXT, nested=False))
        return _collate(text, "C")

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

    def lock_table(self, cur: Any, name: str) -> None:
        # a lock on the table's name held to the commit (a killed run's goes with its connection)
        parts = name.split(".")
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(concat_ws('.', "
                    "COALESCE(%s::text, current_schema()), %s::text), 0))",
                    (parts[-2] if len(parts) > 1 else None, parts[-1]))

    def swap_in(self, cur: Any, tmp: str, into: str, old: str) -> None:
        # Two runs replacing one table take turns; the second then replaces the first's table.
        self.lock_table(cur, into)
        super().swap_in(cur, tmp, into, old)

    def connect(self, db: str | None, write: bool = False) -> Connection:
        from ..runtime.warehouses import EngineError, driver

        psycopg = driver("psycopg", self.name, "psycopg")
        url = db or self.default_db
        try:
            con = psycopg.connect(url, connect_timeout=5)
        except psycopg.OperationalError as err:
            raise EngineError(f"cannot connect to PostgreSQL at {url}: {err}") from None
        cur = con.cursor()
        try:
            for statement in SESSION:
                cur.execute(statement)
        except psycopg.Error as err:
            con.close()
            raise EngineError(self.refused(url, err)) from None
        return Connection(con, cur, (psycopg.Error,))

    def refused(self, url: str, err: Exception) -> str:
        return refused("PostgreSQL", url, err, FOLD_COLLATION, "a server built with ICU")

    def run(self, job: Job) -> list[tuple] | int:
        from ..runtime.warehouses import EngineError

        url = job.db or self.default_db
        c = self.connect(url)
        try:
            return job.through(c.con, c.cur, self, (), lambda cur: self.copy_in(cur, job),
                               errors=c.errors)
        except c.errors as err:
            raise EngineError(self.refused(url, err)) from None


POSTGRES = Postgres(name="postgres", sqlglot="postgres", executed=True,
                    verified="local PostgreSQL server (psycopg); conformance corpus, differential "
                             "and hostile-string tests", regex_end="\\Z", in_database=True, into_parts=3,
                    default_db="postgresql://postgres@127.0.0.1:5432/test",
                    column_types={"key": "TEXT", "text": "TEXT", "int": "DOUBLE PRECISION",
                                  "float": "DOUBLE PRECISION", "bool": "BOOLEAN",
                                  "timestamp": "TIMESTAMP(6)"})
