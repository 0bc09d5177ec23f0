"""Runners for SQL engines: load the validated data, run the generated SQL, return rows.

Every runner returns the same thing as the Python evaluator: (key, outputs...) tuples
ordered by key, numbers as float and missing values as None. Each loads the data with
the engine's own types (timestamps as the engine's timestamp type, in UTC) so that
the SQL runs exactly as it would on tables already in that database.
"""

from __future__ import annotations

import atexit
import datetime as dt
import math
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ..backends.dialects import Dialect, get_dialect
from ..backends.sql import to_sql
from ..compiler import ir
from ..compiler.text import fold
from .data import Events, Leads

EPOCH = dt.datetime(1970, 1, 1)

DEFAULT_URLS = {
    "postgres": "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}


class EngineError(Exception):
    """The engine is unavailable or rejected the query; the message says which and why."""


@dataclass
class Tables:
    """Where a run's input lives and whether the runner created it."""

    leads: str
    events: str


def _ts(us: int | None) -> dt.datetime | None:
    return None if us is None else EPOCH + dt.timedelta(microseconds=us)


def _columns(model: ir.Model, leads: Leads, events: Events):
    """(lead columns, event columns): lists of (name, type, values) with typed Python values."""
    s = model.schema
    lead_cols = [(s.lead_key, "key", leads.keys)]
    for name, type_ in s.lead_fields.items():
        values = leads.columns[name]
        if type_ == "timestamp":
            values = [_ts(v) for v in values]
        lead_cols.append((name, type_, values))
    ev_cols = []
    if s.has_events:
        ev_cols = [(s.event_lead, "key", events.leads),
                   (s.event_time, "timestamp", [_ts(v) for v in events.times]),
                   (s.event_type, "text", events.types)]
        for name, type_ in s.event_fields.items():
            values = events.columns[name]
            if type_ == "timestamp":
                values = [_ts(v) for v in values]
            ev_cols.append((name, type_, values))
    return lead_cols, ev_cols


def _normalize(rows: list, model: ir.Model) -> list[tuple]:
    """Engine values -> the evaluator's: floats for numbers, str or None for text."""
    numeric = {i + 1 for i, (col, _) in enumerate(model.outputs)
               if col in model.scores or col == "total"}
    if _QUERY.get() == "accounts":
        numeric = {i + 1 for i, (col, _) in enumerate(model.account.outputs)
                   if col in ("score", "total")}
    elif _QUERY.get() == "explain":
        return sorted((str(r[0]), int(r[1]), r[2], r[3], int(r[4]),
                       None if r[5] is None else float(r[5]), float(r[6])) for r in rows)
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


def _sql(model: ir.Model, dialect: Dialect, as_of_us: int, tables: Tables) -> str:
    if _QUERY.get() == "accounts":
        from ..backends.account_sql import account_query

        return account_query(model, dialect, as_of_us, tables.leads, tables.events).sql(
            dialect=dialect.sqlglot)
    if _QUERY.get() == "explain":
        from ..backends.explain_sql import explain_query

        return explain_query(model, dialect, as_of_us, tables.leads, tables.events).sql(
            dialect=dialect.sqlglot)
    return to_sql(model, dialect, as_of_us, leads=tables.leads, events=tables.events, pretty=False)


# Which query a runner runs: the lead rows, the account roll-up, or the explain rows.
_QUERY: ContextVar[str] = ContextVar("leadscore_query", default="leads")


def run_query(kind: str, engine: str, model: ir.Model, leads, events, as_of_us: int,
              db: str | None = None) -> list[tuple]:
    """Rows of the `accounts` or `explain` query from a SQL engine, ordered by key."""
    token = _QUERY.set(kind)
    try:
        return RUNNERS[engine](model, leads, events, as_of_us, db)
    finally:
        _QUERY.reset(token)


def run_accounts_sql(engine: str, model: ir.Model, leads, events, as_of_us: int,
                     db: str | None = None) -> list[tuple]:
    """Account rows (key, score, total[, tier]) from a SQL engine, ordered by key."""
    return run_query("accounts", engine, model, leads, events, as_of_us, db)


def _in_database(model: ir.Model) -> Tables:
    """The schema's own tables, for a run on data already in the database."""
    s = model.schema
    return Tables(s.lead_table or "leads", s.event_table or "events")


def _table_sql(dialect: Dialect, name: str) -> str:
    from sqlglot import exp

    parts = [exp.to_identifier(p, quoted=True) for p in name.split(".")]
    table = exp.Table(this=parts[-1], db=parts[-2] if len(parts) > 1 else None,
                      catalog=parts[-3] if len(parts) > 2 else None)
    return table.sql(dialect=dialect.sqlglot)


def _query_into(cur, dialect: Dialect, query: str, into: str, key: str) -> list:
    """Write the results to table `into` atomically, then read them back.

    The new table is built under a temporary name and swapped in by rename in one
    transaction (one RENAME TABLE statement on MySQL), so readers see the old table
    or the new one, never a half-written one, and a failed run leaves the old intact.
    """
    base = into.split(".")[-1]
    prefix = into[: -len(base)]
    tmp_name = f"{base}__leadscore_{uuid.uuid4().hex[:8]}"
    tmp, target = _table_sql(dialect, prefix + tmp_name), _table_sql(dialect, into)
    bare = _quote(dialect, base)
    cur.execute(f"CREATE TABLE {tmp} AS {query}")
    try:
        if dialect.name == "mysql":
            cur.execute("SHOW TABLES LIKE %s", (base,))
            if cur.fetchone():
                old = _table_sql(dialect, prefix + base + "__leadscore_old")
                cur.execute(f"RENAME TABLE {target} TO {old}, {tmp} TO {target}")
                cur.execute(f"DROP TABLE {old}")
            else:
                cur.execute(f"RENAME TABLE {tmp} TO {target}")
        else:
            cur.execute(f"DROP TABLE IF EXISTS {target}")
            cur.execute(f"ALTER TABLE {tmp} RENAME TO {bare}")
    except Exception:
        cur.execute(f"DROP TABLE IF EXISTS {tmp}")
        raise
    cur.execute(f"SELECT * FROM {target} ORDER BY {_quote(dialect, key)}")
    return cur.fetchall()


def _execute(cur, model, dialect, as_of_us, tables, into: str | None) -> list:
    query = _sql(model, dialect, as_of_us, tables)
    if into:
        return _query_into(cur, dialect, query, into, model.schema.lead_key)
    cur.execute(query)
    return cur.fetchall()


# ---------------------------------------------------------------- SQLite
def _sqlite_regexp(pattern: str, value: str | None) -> bool:
    import re

    return value is not None and re.search(pattern, value) is not None


def sqlite_connect(path: str = ":memory:"):
    """A SQLite connection with the two functions leadscore's SQL needs."""
    import re
    import sqlite3

    con = sqlite3.connect(path)
    con.create_function("regexp", 2, _sqlite_regexp, deterministic=True)
    con.create_function("lower", 1, lambda v: fold(v) if isinstance(v, str) else v,
                        deterministic=True)
    re.purge()
    return con


def run_sqlite(model, leads, events, as_of_us, db: str | None = None,
               into: str | None = None) -> list[tuple]:
    dialect = get_dialect("sqlite")
    con = sqlite_connect(db or ":memory:")
    con.isolation_level = None  # explicit transactions below
    try:
        cur = con.cursor()
        cur.execute("BEGIN")
        tables = (_in_database(model) if leads is None else
                  _load_dbapi(con, model, leads, events, dialect, qmark="?", temp=True))
        rows = _execute(cur, model, dialect, as_of_us, tables, into)
        cur.execute("COMMIT")
    finally:
        con.close()
    return _normalize(rows, model)


# ---------------------------------------------------------------- DB-API loading
_SQL_TYPES = {
    "sqlite": {"key": "TEXT", "text": "TEXT", "int": "REAL", "float": "REAL", "bool": "INTEGER",
               "timestamp": "TEXT"},
    "postgres": {"key": "TEXT", "text": "TEXT", "int": "DOUBLE PRECISION",
                 "float": "DOUBLE PRECISION", "bool": "BOOLEAN", "timestamp": "TIMESTAMP(6)"},
    "mysql": {"key": "VARCHAR(255) COLLATE utf8mb4_nopad_bin",
              "text": "TEXT COLLATE utf8mb4_nopad_bin", "int": "DOUBLE", "float": "DOUBLE",
              "bool": "BOOLEAN", "timestamp": "DATETIME(6)"},
}


def _quote(dialect: Dialect, name: str) -> str:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True).sql(dialect=dialect.sqlglot)


def _sqlite_value(type_: str, v: Any) -> Any:
    if v is None:
        return None
    if type_ == "timestamp":
        return v.strftime("%Y-%m-%d %H:%M:%S.%f")
    if type_ == "bool":
        return int(v)
    return v


def _load_dbapi(con, model, leads, events, dialect: Dialect, qmark: str, temp: bool) -> Tables:
    """Create and fill the input tables through a DB-API connection (SQLite, MySQL)."""
    suffix = uuid.uuid4().hex[:8]
    tables = Tables(f"leadscore_leads_{suffix}", f"leadscore_events_{suffix}")
    types = _SQL_TYPES[dialect.name]
    lead_cols, ev_cols = _columns(model, leads, events)
    cur = con.cursor()
    for table, cols in ((tables.leads, lead_cols), (tables.events, ev_cols)):
        if not cols:
            continue
        decl = ", ".join(f"{_quote(dialect, n)} {types[t]}" for n, t, _ in cols)
        kind = "TEMPORARY TABLE" if temp else "TABLE"
        cur.execute(f"CREATE {kind} {_quote(dialect, table)} ({decl})")
        marks = ", ".join([qmark] * len(cols))
        insert = f"INSERT INTO {_quote(dialect, table)} VALUES ({marks})"
        convert = _sqlite_value if dialect.name == "sqlite" else (lambda t, v: v)
        rows = list(zip(*[[convert(t, v) for v in vals] for _, t, vals in cols]))
        for i in range(0, len(rows), 5000):
            cur.executemany(insert, rows[i:i + 5000])
    return tables


# ---------------------------------------------------------------- PostgreSQL
def run_postgres(model, leads, events, as_of_us, db: str | None = None,
                 into: str | None = None) -> list[tuple]:
    try:
        import psycopg
    except ImportError:
        raise EngineError("the postgres engine needs psycopg: pip install 'leadscore[engines]'") \
            from None
    dialect = get_dialect("postgres")
    url = db or DEFAULT_URLS["postgres"]
    try:
        con = psycopg.connect(url, connect_timeout=5)
    except psycopg.OperationalError as err:
        raise EngineError(f"cannot connect to PostgreSQL at {url}: {err}") from None
    try:
        with con.cursor() as cur:
            cur.execute("SET TIME ZONE 'UTC'")
            if leads is None:
                rows = _execute(cur, model, dialect, as_of_us, _in_database(model), into)
                con.commit()
                return _normalize(rows, model)
            suffix = uuid.uuid4().hex[:8]
            tables = Tables(f"leadscore_leads_{suffix}", f"leadscore_events_{suffix}")
            types = _SQL_TYPES["postgres"]
            lead_cols, ev_cols = _columns(model, leads, events)
            for table, cols in ((tables.leads, lead_cols), (tables.events, ev_cols)):
                if not cols:
                    continue
                decl = ", ".join(f"{_quote(dialect, n)} {types[t]}" for n, t, _ in cols)
                cur.execute(f"CREATE TEMPORARY TABLE {_quote(dialect, table)} ({decl})")
                names = ", ".join(_quote(dialect, n) for n, _, _ in cols)
                with cur.copy(f"COPY {_quote(dialect, table)} ({names}) FROM STDIN") as copy:
                    for row in zip(*[vals for _, _, vals in cols]):
                        copy.write_row(row)
            rows = _execute(cur, model, dialect, as_of_us, tables, into)
        con.commit()  # only --into writes anything lasting; input tables are temporary
    finally:
        con.close()
    return _normalize(rows, model)


# ---------------------------------------------------------------- MySQL / MariaDB
def _mysql_params(url: str) -> dict:
    from urllib.parse import unquote, urlparse

    u = urlparse(url)
    return {"host": u.hostname or "127.0.0.1", "port": u.port or 3306,
            "user": unquote(u.username or "root"), "password": unquote(u.password or ""),
            "database": (u.path or "/test").lstrip("/") or "test"}


def run_mysql(model, leads, events, as_of_us, db: str | None = None,
              into: str | None = None) -> list[tuple]:
    try:
        import pymysql
    except ImportError:
        raise EngineError("the mysql engine needs pymysql: pip install 'leadscore[engines]'") \
            from None
    dialect = get_dialect("mysql")
    url = db or DEFAULT_URLS["mysql"]
    try:
        con = pymysql.connect(charset="utf8mb4", connect_timeout=5, **_mysql_params(url))
    except pymysql.MySQLError as err:
        raise EngineError(f"cannot connect to MySQL/MariaDB at {url}: {err}") from None
    try:
        cur = con.cursor()
        cur.execute("SET time_zone = '+00:00'")
        cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")
        tables = (_in_database(model) if leads is None else
                  _load_dbapi(con, model, leads, events, dialect, qmark="%s", temp=True))
        rows = _execute(cur, model, dialect, as_of_us, tables, into)
        con.commit()
    finally:
        con.close()
    return _normalize(rows, model)


# ---------------------------------------------------------------- Arrow-based engines
def _in_process_only(engine: str, leads, db, into) -> None:
    if leads is None or db or into:
        raise EngineError(f"the {engine} engine runs in this process on the files given: "
                          "--db and --into need duckdb, sqlite, postgres or mysql")


# ---------------------------------------------------------------- DuckDB
def run_duckdb(model, leads, events, as_of_us, db: str | None = None,
               into: str | None = None) -> list[tuple]:
    import duckdb

    dialect = get_dialect("duckdb")
    con = duckdb.connect(db or ":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("BEGIN TRANSACTION")
        if leads is None:
            tables = _in_database(model)
        else:
            lead_t, ev_t = _arrow(model, leads, events, tz=None)
            tables = Tables("leadscore_leads", "leadscore_events")
            con.register(tables.leads, lead_t)
            if ev_t is not None:
                con.register(tables.events, ev_t)
        rows = _execute(con, model, dialect, as_of_us, tables, into)
        con.execute("COMMIT")
    finally:
        con.close()
    return _normalize(rows, model)

def _arrow(model, leads, events, tz: str | None = "UTC"):
    # column-wise: timestamps cast from int64, and the fast loader's tables used as they are
    from .columnar import arrow_tables

    return arrow_tables(model, leads, events, tz)


def run_datafusion(model, leads, events, as_of_us, db: str | None = None,
        into: str | None = None) -> list[tuple]:
    _in_process_only("datafusion", leads, db, into)
    try:
        import datafusion
    except ImportError:
        raise EngineError("the datafusion engine needs the datafusion package: "
                          "pip install 'leadscore[engines]'") from None
    dialect = get_dialect("datafusion")
    lead_t, ev_t = _arrow(model, leads, events, tz=None)
    ctx = datafusion.SessionContext()
    tables = Tables("leads", "events")
    ctx.register_record_batches(tables.leads, [lead_t.to_batches() or _empty_batches(lead_t)])
    if ev_t is not None:
        ctx.register_record_batches(tables.events, [ev_t.to_batches() or _empty_batches(ev_t)])
    result = ctx.sql(_sql(model, dialect, as_of_us, tables)).to_arrow_table()
    return _normalize([tuple(r.values()) for r in result.to_pylist()], model)


def _empty_batches(table):
    import pyarrow as pa

    return [pa.RecordBatch.from_pylist([], schema=table.schema)]


_CHDB_SESSION = None


def run_clickhouse(model, leads, events, as_of_us, db: str | None = None,
        into: str | None = None) -> list[tuple]:
    _in_process_only("clickhouse", leads, db, into)
    try:
        from chdb import session
    except ImportError:
        raise EngineError("the clickhouse engine needs chdb: pip install 'leadscore[engines]'") \
            from None
    global _CHDB_SESSION
    if _CHDB_SESSION is None:
        _CHDB_SESSION = session.Session()
    sess = _CHDB_SESSION
    dialect = get_dialect("clickhouse")
    lead_t, ev_t = _arrow(model, leads, events)
    suffix = uuid.uuid4().hex[:8]
    tables = Tables(f"leadscore_leads_{suffix}", f"leadscore_events_{suffix}")
    created = []
    try:
        for name, t in ((tables.leads, lead_t), (tables.events, ev_t)):
            if t is None:
                continue
            cols = ", ".join(f"{_quote(dialect, f.name)} {_ch_type(f.type)}" for f in t.schema)
            sess.query(f"CREATE TABLE {_quote(dialect, name)} ({cols}) ENGINE = Memory")
            created.append(name)
            if t.num_rows:
                source = t  # noqa: F841 - read by chdb's Python() table function below
                sess.query(f"INSERT INTO {_quote(dialect, name)} SELECT * FROM Python(source)")
        result = sess.query(_sql(model, dialect, as_of_us, tables), "ArrowTable")
        rows = [tuple(r.values()) for r in result.to_pylist()]
    finally:
        for name in created:
            sess.query(f"DROP TABLE IF EXISTS {_quote(dialect, name)}")
    return _normalize(rows, model)


def _ch_type(t) -> str:
    import pyarrow as pa

    if pa.types.is_timestamp(t):
        return "Nullable(DateTime64(6, 'UTC'))"
    if pa.types.is_floating(t):
        return "Nullable(Float64)"
    if pa.types.is_boolean(t):
        return "Nullable(Bool)"
    return "Nullable(String)"


_SPARK = None


def spark_session():
    """One local Spark session per process: UTC, no UI, two shuffle partitions."""
    global _SPARK
    if _SPARK is None:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise EngineError("the spark engine needs pyspark and Java: "
                              "pip install 'leadscore[engines]'") from None
        _SPARK = (SparkSession.builder.master("local[2]").appName("leadscore")
                  .config("spark.ui.enabled", "false")
                  .config("spark.sql.session.timeZone", "UTC")
                  .config("spark.sql.shuffle.partitions", "2")
                  .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
                  .config("spark.executor.extraJavaOptions", "-Duser.timezone=UTC")
                  .getOrCreate())
        _SPARK.sparkContext.setLogLevel("ERROR")
        atexit.register(_SPARK.stop)
    return _SPARK


def run_spark(model, leads, events, as_of_us, db: str | None = None,
        into: str | None = None) -> list[tuple]:
    _in_process_only("spark", leads, db, into)
    spark = spark_session()
    dialect = get_dialect("spark")
    lead_t, ev_t = _arrow(model, leads, events)
    suffix = uuid.uuid4().hex[:8]
    tables = Tables(f"leadscore_leads_{suffix}", f"leadscore_events_{suffix}")
    views = []
    try:
        for name, t in ((tables.leads, lead_t), (tables.events, ev_t)):
            if t is None:
                continue
            spark.createDataFrame(t).createOrReplaceTempView(name)
            views.append(name)
        rows = [tuple(r) for r in spark.sql(_sql(model, dialect, as_of_us, tables)).collect()]
    finally:
        for name in views:
            spark.catalog.dropTempView(name)
    return _normalize(rows, model)


RUNNERS: dict[str, Callable[..., list[tuple]]] = {
    "duckdb": run_duckdb,
    "sqlite": run_sqlite,
    "postgres": run_postgres,
    "mysql": run_mysql,
    "spark": run_spark,
    "clickhouse": run_clickhouse,
    "datafusion": run_datafusion,
}


