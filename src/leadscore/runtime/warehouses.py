"""Running on SQL engines: what each engine's runner (leadscore/engines/) shares.

A `Job` says what to run: the model, the validated data (or none: the schema's own
tables in the database), the query (the lead rows, the account roll-up or the explain
rows), where, and whether to write the results to a table. Every runner returns the same
thing as the Python evaluator: (key, outputs...) tuples ordered by key, numbers as float
and missing values as None; or, for a job that writes a table and does not fetch, only
the number of rows written, the rows never leaving the database. Each loads the data
with the engine's own types (timestamps as the engine's timestamp type, in UTC) so that
the SQL runs exactly as it would on tables already in that database.
"""

from __future__ import annotations

import datetime as dt
import importlib
import math
import os
import re
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..backends.account_sql import account_query
from ..backends.explain_sql import account_explain_query, explain_query
from ..backends.sql import build_query
from ..compiler import ir
from ..engines import DIALECTS, EXECUTED, Dialect
from ..engines.base import Connection
from .data import Events, Leads

EPOCH = dt.datetime(1970, 1, 1)
QUERIES = {"leads": build_query, "accounts": account_query, "explain": explain_query,
           "account_explain": account_explain_query}

# An `--into` name is 1 to `Dialect.into_parts` identifiers joined by dots, each non-empty, with
# no control character and no space at either end, and at most this many bytes of UTF-8:
# PostgreSQL's limit (NAMEDATALEN - 1; it would cut a longer name silently) is the smallest of
# the engines' (MySQL: 64 characters), so a name valid on one engine is valid on all.
MAX_IDENTIFIER_BYTES = 63
# How long a run waits for another process to let go of what it needs (DuckDB's lock on the
# database file, SQLite's write lock, the table being replaced on a server) before a clear error.
LOCK_TIMEOUT_S = 30
# The scratch tables of `--into`, beside the target: the new table while it is built, the old
# one while it is dropped (MySQL, where DDL commits). Only names of exactly this shape, whose
# run is gone, are ever dropped as leftovers (engines/mysql.py), never a user's table.
SCRATCH = re.compile(r"leadscore_into_([0-9a-f]{16})_(new|old)")
# Tests only (tests/test_hostile_into.py): POINT:FILE makes a run that reaches `fault_point(POINT)`
# write its pid to FILE and wait there to be killed.
FAULT_ENV = "LEADSCORE_TEST_FAULT"
FAULT_WAIT_S = 120
_FORMS = ("TABLE", "SCHEMA.TABLE", "CATALOG.SCHEMA.TABLE")
# Schemas (or DuckDB catalogs) that belong to the session: a table written there is gone when
# the run's connection closes (SQLite and DuckDB `temp`, PostgreSQL `pg_temp`), so `--into`
# would report rows that nobody can read. Refused on every engine, as names are portable.
SESSION_SCHEMAS = re.compile(r"temp|temporary|pg_temp(_[0-9]+)?", re.IGNORECASE)


class EngineError(Exception):
    """The engine is unavailable or rejected the query; the message says which and why."""


def driver(module: str, engine: str, needs: str) -> ModuleType:
    """An engine's driver package, imported when it first runs; if missing, an EngineError
    saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise EngineError(f"the {engine} engine needs {needs}: "
                          "pip install 'leadscore[engines]'") from None


@dataclass
class Tables:
    """Where a run's input lives."""

    leads: str
    events: str

    @staticmethod
    def fresh() -> Tables:
        """Names no other run uses at the same time."""
        suffix = uuid.uuid4().hex[:8]
        return Tables(f"leadscore_leads_{suffix}", f"leadscore_events_{suffix}")


def fault_point(point: str) -> None:
    """A place where a fault-injection test kills a run ("swap": the new table built, the swap
    not begun; "mid-swap": between the swap's statements; "commit": swapped, not committed).
    Nothing happens unless the environment's FAULT_ENV names this point."""
    spec = os.environ.get(FAULT_ENV)
    if not spec or spec.partition(":")[0] != point:
        return
    Path(spec.partition(":")[2]).write_text(str(os.getpid()))
    time.sleep(FAULT_WAIT_S)
    raise EngineError(f"{FAULT_ENV}: not killed at {point} within {FAULT_WAIT_S} s")


def into_parts(name: str, dialect: Dialect) -> tuple[str, ...]:
    """The identifiers of table name `name` (`--into`) on `dialect`; a ValueError says which
    rule it breaks."""
    n = dialect.into_parts
    if not n:
        raise ValueError(f"the {dialect.name} engine writes no tables")
    forms = " or ".join(_FORMS[:n])
    rule = f"write {forms}, each part a non-empty identifier"
    parts = tuple(name.split("."))
    if len(parts) > n:
        raise ValueError(f"{name!r} has {len(parts)} dot-separated parts; {dialect.name} takes "
                         f"{forms}")
    for part in parts:
        if not part:
            what = "is empty" if name == "" else "has an empty part"
            raise ValueError(f"{name!r} {what}: {rule}")
        if part != part.strip():
            raise ValueError(f"{name!r}: the part {part!r} starts or ends with a space")
        if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in part):
            raise ValueError(f"{name!r}: the part {part!r} holds a control or format character")
        if len(part.encode()) > MAX_IDENTIFIER_BYTES:
            raise ValueError(f"{name!r}: the part {part[:20]!r}... is longer than "
                             f"{MAX_IDENTIFIER_BYTES} bytes (UTF-8), the longest name every "
                             "engine keeps whole")
    for part in parts[:-1]:
        if SESSION_SCHEMAS.fullmatch(part):
            raise ValueError(f"{name!r}: {part!r} is the session's temporary schema, whose tables "
                             "are gone when the run ends: name a schema that lasts")
    return parts


def database_engines() -> str:
    """The engines that score and write tables in a database, as a message names them."""
    engines = [n for n, d in DIALECTS.items() if d.in_database]
    return f"{', '.join(engines[:-1])} or {engines[-1]}"


def first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def _ts(us: int | None) -> dt.datetime | None:
    return None if us is None else EPOCH + dt.timedelta(microseconds=us)


def timestamp_text(us: int) -> str:
    """Instant `us` as the UTC text every engine reads as a timestamp (and SQLite stores):
    'YYYY-MM-DD HH:MM:SS.ffffff', the year padded to 4 digits so that text order is time order."""
    return _ts(us).isoformat(" ", "microseconds")


@dataclass
class Job:
    """One run on a SQL engine."""

    model: ir.Model
    leads: Leads | None  # None: score the schema's own tables in the database `db`
    events: Events | None
    as_of_us: int
    query: str = "leads"  # a key of QUERIES
    db: str | None = None  # a connection URL or a database file
    into: str | None = None  # a table to write the results to, atomically
    fetch: bool = True  # False (with `into`): return the count written, not the rows
    memory_limit: str | None = None  # DuckDB's cap on its memory ("2GB"); it spills beyond
    history: str | None = None  # a history table to add the snapshot to (runtime/history.py)
    # replay: every as_of to add to `history`, ascending (`as_of_us` is then the last)
    as_ofs: tuple[int, ...] = ()
    progress: Callable[[str, int, int], None] | None = None
    # whether the leads relation has the ir.PREVIOUS_TIER column (sticky tiers): the tables
    # loaded here always do; the database's own tables only when the caller says so
    previous_tier: bool = False
    lead: str | None = None  # the explain query: only this lead's rows

    def __post_init__(self) -> None:
        if not self.fetch and self.into is None and self.history is None:
            raise ValueError("a job that does not fetch its rows writes them: give `into`")

    @property
    def writes(self) -> bool:
        """Whether the job writes a table of the database."""
        return self.into is not None or self.history is not None

    def own_tables(self) -> Tables:
        """The schema's own tables, for a run on data already in the database."""
        s = self.model.schema
        return Tables(s.lead_table or "leads", s.event_table or "events")

    def in_process(self, dialect: Dialect) -> None:
        """Refuse what only a database engine can do: its own tables, --db, --into."""
        if self.leads is None or self.db or self.into is not None:
            raise EngineError(f"the {dialect.name} engine runs in this process on the files "
                              f"given: --db and --into need {database_engines()}")

    def sql(self, dialect: Dialect, tables: Tables) -> str:
        one = {"key": self.lead} if self.query in ("explain", "account_explain") else {}
        query = QUERIES[self.query](self.model, dialect, self.as_of_us, tables.leads, tables.events,
                                    previous_tier=self.previous_tier or self.leads is not None,
                                    **one)
        return dialect.render(query, pretty=False)

    def execute(self, cur: Any, dialect: Dialect, tables: Tables) -> list | int:
        """The query's rows through a DB-API cursor, written to `into` first if asked (then
        only their count unless `fetch`)."""
        if self.history is not None:
            from .history import write_snapshots

            return write_snapshots(self, cur, dialect, tables)
        query = self.sql(dialect, tables)
        if self.into is not None:
            return self._query_into(cur, dialect, query)
        cur.execute(query)
        return cur.fetchall()

    def _query_into(self, cur: Any, dialect: Dialect, query: str) -> list | int:
        """Write the results to table `into` atomically, in the engine (CREATE TABLE AS),
        then read them back, or with `fetch` off only count them.

        The new table is built under a scratch name beside the target (`SCRATCH`) and swapped
        in (`Dialect.swap_in`) in the runner's transaction, so readers see the old table or
        the new one, never a half-written one, and a failed or killed run leaves the old one
        intact.
        """
        try:
            parts = into_parts(self.into, dialect)
        except ValueError as err:
            raise EngineError(f"--into: {err}") from None
        own = self.own_tables()
        if self.leads is None and self.into in (own.leads, own.events):
            raise EngineError(f"--into {self.into}: that is a table the model reads; write the "
                              "scores to another table")
        run_id = uuid.uuid4().hex[:16]
        tmp, old = (".".join((*parts[:-1], f"leadscore_into_{run_id}_{kind}"))
                    for kind in ("new", "old"))
        dialect.claim_scratch(cur, run_id, ".".join(parts[:-1]) or None)
        cur.execute(f"CREATE TABLE {dialect.table_sql(tmp)} AS {query}")
        fault_point("swap")
        dialect.swap_in(cur, tmp, self.into, old)
        fault_point("commit")
        if not self.fetch:  # COUNT(*): CREATE TABLE AS has no row count on every driver
            cur.execute(f"SELECT COUNT(*) FROM {dialect.table_sql(self.into)}")
            return int(cur.fetchone()[0])
        key = dialect.quote(self.model.schema.lead_key)
        cur.execute(f"SELECT * FROM {dialect.table_sql(self.into)} ORDER BY {key}")
        return cur.fetchall()

    def input_columns(self) -> list[list[tuple[str, str, list]]]:
        """The lead table's columns, then the event table's if the model has events: each
        (name, kind, values) with typed Python values, kind a key of `Dialect.column_types`."""
        s, leads, events = self.model.schema, self.leads, self.events
        tables = [[(s.lead_key, "key", leads.keys)]
                  + [(n, t, leads.columns[n]) for n, t in s.lead_fields.items()]]
        if s.has_events:
            tables.append([(s.event_lead, "key", events.leads),
                           (s.event_time, "timestamp", events.times),
                           (s.event_type, "text", events.types)]
                          + [(n, t, events.columns[n]) for n, t in s.event_fields.items()])
        return [[(n, t, [_ts(v) for v in vals] if t == "timestamp" else vals)
                 for n, t, vals in cols] for cols in tables]

    def create_tables(self, cur: Any, dialect: Dialect) -> tuple[Tables, list[tuple[str, list]]]:
        """Create the input tables, temporary, with the engine's column types: their names,
        and each (quoted name, columns) for the runner to fill."""
        tables = Tables.fresh()
        made = []
        for table, cols in zip((tables.leads, tables.events), self.input_columns()):
            decl = ", ".join(f"{dialect.quote(n)} {dialect.column_types[t]}" for n, t, _ in cols)
            cur.execute(f"CREATE TEMPORARY TABLE {dialect.quote(table)} ({decl})")
            made.append((dialect.quote(table), cols))
        return tables, made

    def load_dbapi(self, cur: Any, dialect: Dialect, mark: str,
                   convert: Callable[[str, Any], Any] | None = None) -> Tables:
        """Create and fill the input tables with INSERTs through a DB-API cursor; `mark` is
        the driver's parameter marker, `convert` maps (kind, value) where the driver needs."""
        tables, made = self.create_tables(cur, dialect)
        for table, cols in made:
            insert = f"INSERT INTO {table} VALUES ({', '.join([mark] * len(cols))})"
            if convert is not None:
                cols = [(n, t, [convert(t, v) for v in vals]) for n, t, vals in cols]
            rows = list(zip(*[vals for _, _, vals in cols]))
            for i in range(0, len(rows), 5000):
                cur.executemany(insert, rows[i:i + 5000])
        return tables

    def through(self, c: Connection, dialect: Dialect,
                load: Callable[[Any], Tables]) -> list[tuple] | int:
        """The rows (or, with `fetch` off, the count written), on an open connection
        (`Dialect.connect`: its session pinned, its transaction begun; closed after): the data
        loaded by `load(cursor)` into tables it names (or the schema's own tables), the query,
        then a commit: only `--into` and `--history` last.

        The driver's errors in a run on the database's own tables or writing one (a table
        missing, a schema that does not exist, no permission) are the user's to fix: an
        EngineError says what the engine said. On data loaded here they are ours: raised."""
        con, cur = c.con, c.cur
        try:
            tables = self.own_tables() if self.leads is None else load(cur)
            rows = self.execute(cur, dialect, tables)
            con.commit()
        except c.errors as err:
            if self.leads is not None and not self.writes:
                raise
            raise EngineError(f"{dialect.name}: {first_line(err)}") from None
        finally:
            con.close()
        return rows if isinstance(rows, int) else self.normalize(rows)

    def arrow(self, tz: str | None = "UTC") -> tuple[Any, Any]:
        """(leads, events) as Arrow tables, timestamps as TIMESTAMP(us, tz); events None
        for a model without events."""
        from .columnar import arrow_tables

        return arrow_tables(self.model, self.leads, self.events, tz)

    def normalize(self, rows: list) -> list[tuple]:
        """Engine values -> the evaluator's: floats for numbers, str or None for text."""
        if self.query in ("explain", "account_explain"):  # STEP_COLUMNS, STEP_VALUES, lead
            def number(v: Any) -> float | None:
                return None if v is None or math.isnan(float(v)) else float(v)

            out = [(str(r[0]), int(r[1]), r[2], r[3], r[4], int(r[5]),
                    *[number(v) for v in r[6:10]], None if r[10] is None else bool(r[10]), r[11],
                    *[None if v is None else str(v) for v in r[12:]]) for r in rows]
            return sorted(out, key=lambda r: (r[0], r[1], *r[12:]))  # then the member's key
        m = self.model
        outputs, names = ((m.account.outputs, {"score", "total"}) if self.query == "accounts"
                          else (m.outputs, {*m.scores, "total"}))
        numeric = {i + 1 for i, (col, _) in enumerate(outputs) if col in names}
        out = []
        for r in rows:
            vals = []
            for i, v in enumerate(r):
                if v is None:
                    vals.append(None)
                elif i in numeric:
                    f = float(v) if not isinstance(v, float) else v
                    vals.append(None if math.isnan(f) else f)
                elif i == 0:
                    vals.append(str(v))
                else:
                    vals.append(v)
            out.append(tuple(vals))
        out.sort(key=lambda r: r[0])
        return out


def run_query(kind: str, engine: str, model: ir.Model, leads: Leads | None,
              events: Events | None, as_of_us: int, db: str | None = None,
              lead: str | None = None) -> list[tuple]:
    """Rows of query `kind` (a key of QUERIES) from a SQL engine, ordered by key; with
    `lead`, the explain query's rows of that lead only (the account explain's: that
    account's)."""
    if engine not in EXECUTED:
        raise ValueError(f"unknown SQL engine {engine!r}; choose one of {', '.join(EXECUTED)}")
    return DIALECTS[engine].run(Job(model, leads, events, as_of_us, kind, db, lead=lead))


def run_accounts_sql(engine: str, model: ir.Model, leads: Leads | None, events: Events | None,
                     as_of_us: int, db: str | None = None) -> list[tuple]:
    """Account rows (key, score, total[, tier]) from a SQL engine, ordered by key."""
    return run_query("accounts", engine, model, leads, events, as_of_us, db)
