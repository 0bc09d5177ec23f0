"""The engine base: capability flags, per-construct SQL builders, column types, a runner.

An engine is a few flags plus small overrides, one subclass per engine in its own module
(this package). Builders return sqlglot expressions; the SQL generator never pastes
strings and never asks which engine it writes for, only what the engine can do. A
construct an engine cannot express raises `Unsupported`, which the compiler turns into
an error at the construct's span.

An engine that runs here (`executed`) overrides `run`, importing its driver package only
then; the loading, atomic `--into` and row normalisation it shares with the others are in
runtime/warehouses.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from ..compiler.regex import PortableRegex

if TYPE_CHECKING:
    from ..runtime.warehouses import Job


@dataclass
class Connection:
    """An open DB-API connection, its cursor, and the driver's error classes."""

    con: Any
    cur: Any
    errors: tuple[type[BaseException], ...]


class Unsupported(Exception):
    """The dialect cannot express a construct; the message says which and why."""


def refused(engine: str, url: str, err: Exception, collation: str, needs: str) -> str:
    """The message for a server that refused a run: its own first line, and what the fixed
    lower-casing collation needs when that is what it is missing."""
    from ..runtime.warehouses import first_line

    hint = (f" (leadscore lower-cases text under the collation {collation}, whatever the "
            f"database's: it needs {needs})" if collation in str(err) else "")
    return f"{engine} at {url} refused the run: {first_line(err)}{hint}"


def double_type() -> exp.DataType:
    # built, not parsed: DataType.build("DOUBLE") starts a tokenizer (~1 ms) for every literal
    return exp.DataType(this=exp.DataType.Type.DOUBLE, nested=False)


@dataclass(frozen=True)
class Dialect:
    name: str  # leadscore's name for the engine
    sqlglot: str  # sqlglot's dialect name
    executed: bool  # runs here (`run`), verified by executing the conformance corpus on it
    verified: str = ""  # how, for docs/engines.md
    # How the regex end anchor and `.` are spelled so that they mean what Python's
    # `\Z` and `.` mean (end of text; any character but a newline).
    regex_end: str = "$"
    regex_dot: str = "[^\\n]"
    # Whether the engine's regex matcher backtracks (PCRE2, ICU, java.util.regex): it gets
    # the pattern rewritten so that it cannot split a match two ways (compiler/regex.py
    # `backtracking_safe`); RE2, Rust's regex and PostgreSQL's ARE are linear already.
    regex_backtracks: bool = False
    # Whether a predicate can be selected as a value (T-SQL cannot: it needs 1/0 columns).
    bool_values: bool = True
    # Whether a filtered count is `COUNT(*) FILTER (WHERE ...)`, which skips a CASE per row.
    filter_clause: bool = False
    # Whether the engine's own LEAST/GREATEST skip nulls. Their inputs are never null here,
    # so either rule will do; saying so keeps sqlglot from guarding each call with a CASE
    # that repeats both operands.
    extremes_ignore_nulls: bool = False
    # Whether the runner scores tables already in a database (`--db` without files) and
    # writes results back (`--into`); the others run in this process on the files given.
    in_database: bool = False
    # How many dot-separated parts an `--into` name may have here: 2 is schema.table (or
    # database.table), 3 adds the catalog. 0: the engine writes no tables.
    into_parts: int = 0
    default_db: str | None = None  # the connection URL `run` uses without `--db`
    # Column type per loaded column kind (key, text, int, float, bool, timestamp), for
    # runners that create their input tables with CREATE TABLE.
    column_types: dict[str, str] = field(default_factory=dict, compare=False)

    def epoch_us(self, ts: exp.Expression) -> exp.Expression:
        """Microseconds since 1970-01-01 UTC of a timestamp column, as an integer."""
        return exp.Anonymous(this="EPOCH_US", expressions=[ts])

    def placeholder(self, name: str) -> exp.Expression:
        """A query parameter the caller binds (`leadscore compile` without --as-of)."""
        return exp.Placeholder(this=name)

    def double(self, value: exp.Expression) -> exp.Expression:
        return exp.Cast(this=value, to=double_type())

    def lower(self, value: exp.Expression) -> exp.Expression:
        """Unicode simple case mapping (compiler/text.py `fold`), compared code point by code
        point afterwards whatever the column's collation."""
        return exp.Lower(this=value)

    def regex_pattern(self, rx: PortableRegex) -> str:
        """`rx` in this engine's spelling."""
        if self.regex_backtracks:
            return rx.backtracking_safe(end=self.regex_end, dot=self.regex_dot)
        return rx.render(end=self.regex_end, dot=self.regex_dot)

    def key(self, value: exp.Expression) -> exp.Expression:
        """A lead key as joined and grouped on: equal only to the same code points, whatever
        the column's collation (case- or accent-insensitive, trailing spaces ignored)."""
        return value

    def regex_search(self, value: exp.Expression, rx: PortableRegex) -> exp.Expression:
        return exp.RegexpLike(this=value, expression=exp.Literal.string(self.regex_pattern(rx)))

    def starts_with(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return exp.StartsWith(this=value, expression=needle)

    def ends_with(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return exp.EndsWith(this=value, expression=needle)

    def contains(self, value: exp.Expression, needle: exp.Expression) -> exp.Expression:
        return exp.Contains(this=value, expression=needle)

    def finish(self, query: exp.Select) -> exp.Select:
        """A last look at the whole query, for engine settings."""
        return query

    def render(self, query: exp.Expression, pretty: bool) -> str:
        """The query as SQL text. The tree is printed in place, not copied: callers build it
        for this and throw it away (sqlglot may rewrite parts of it while printing)."""
        return query.sql(dialect=self.sqlglot, pretty=pretty, copy=False)

    # ------------------------------------------------------------ running
    def run(self, job: Job) -> list[tuple] | int:
        """The job's rows, ordered by key, as the Python evaluator gives them; the number of
        rows written when the job writes a table without fetching (`Job.fetch`)."""
        from ..runtime.warehouses import EngineError

        raise EngineError(f"{self.name} is a generated-only dialect: `leadscore compile "
                          f"--dialect {self.name}` prints its SQL, but it does not run here")

    def connect(self, db: str | None, write: bool = False) -> Connection:
        """An open DB-API connection to `db` (None: the engine's default) in the session the
        runner pins, its transaction begun (`write`: taking the engine's write lock at once,
        where it has one); an EngineError when it cannot be opened."""
        from ..runtime.warehouses import EngineError

        raise EngineError(f"the {self.name} engine has no database to connect to: "
                          "use duckdb, sqlite, postgres or mysql")

    def timestamp(self, us: int) -> exp.Expression:
        """Instant `us` (µs since 1970, UTC) as a value of the engine's timestamp column type."""
        from ..runtime.warehouses import timestamp_text

        return exp.Cast(this=exp.Literal.string(timestamp_text(us)),
                        to=exp.DataType.build(self.column_types["timestamp"], dialect=self.sqlglot))

    def lock_table(self, cur: Any, name: str) -> None:
        """Take, until the transaction ends, the lock that makes runs writing table `name`
        take turns, where the database has no such lock of its own (the servers)."""

    def quote(self, name: str) -> str:
        """A column or bare table name, quoted for this engine."""
        return exp.to_identifier(name, quoted=True).sql(dialect=self.sqlglot)

    def table(self, name: str) -> exp.Table:
        """A table name as written (`table`, `schema.table`, `catalog.schema.table`), each
        part a quoted identifier."""
        parts = [exp.to_identifier(p, quoted=True) for p in name.split(".")]
        return exp.Table(this=parts[-1], db=parts[-2] if len(parts) > 1 else None,
                         catalog=parts[-3] if len(parts) > 2 else None)

    def table_sql(self, name: str) -> str:
        """`table(name)` as SQL text."""
        return self.table(name).sql(dialect=self.sqlglot)

    def claim_scratch(self, cur: Any, run_id: str, schema: str | None) -> None:
        """Before run `run_id` builds its scratch tables in `schema` (None: the connection's
        own): where DDL commits (MySQL), mark them as the live run's and drop those of runs
        that died. Transactional engines need nothing: a killed run's tables were never
        committed."""

    def swap_in(self, cur: Any, tmp: str, into: str, old: str) -> None:
        """Replace table `into` by the just-built table `tmp` (beside it; `old` is a free
        name there too, for engines that rename the old table away first), inside the
        runner's transaction: readers see the old table or the new one, and a run killed at
        any point commits neither half."""
        from ..runtime.warehouses import fault_point

        cur.execute(f"DROP TABLE IF EXISTS {self.table_sql(into)}")
        fault_point("mid-swap")
        cur.execute(f"ALTER TABLE {self.table_sql(tmp)} RENAME TO {self.quote(into.split('.')[-1])}")
