"""`leadscore compile`: the scoring, account and explain queries, and each dialect's as_of
parameter, executed by that dialect's own client with the parameter bound."""

import math
import sqlite3
import uuid

import duckdb
import pytest
from click.testing import CliRunner

from conftest import ROOT
from engines import ensure
from leadscore.cli import main
from leadscore.compiler import compile_file, compile_source
from leadscore.runtime.data import parse_timestamp, read_events, read_leads
from leadscore.runtime.warehouses import Job, run_query

REF = str(ROOT / "examples" / "reference.score")
DATA = ROOT / "examples" / "data"
AS_OF = "2026-03-01T00:00:00Z"
AS_OF_US = parse_timestamp(AS_OF)

# What `compile` prints without --as-of, per dialect (docs/cli.md, "Parameters").
PLACEHOLDERS = {
    "duckdb": "$as_of_us", "sqlite": ":as_of_us", "postgres": "%(as_of_us)s", "mysql": "@as_of_us",
    "spark": ":as_of_us", "clickhouse": "{as_of_us: Int64}", "datafusion": "$as_of_us",
    "snowflake": "$as_of_us", "bigquery": "@as_of_us", "redshift": "%(as_of_us)s",
    "databricks": ":as_of_us",
}

MODEL = """
schema {
  lead  { key id  field plan: text  table "%(leads)s" }
  event { lead lead_id  time seen_at  type kind  table "%(events)s" }
}
score s { rule "paid" +10 when plan == "Pro"  rule "visits" +1 per event visit within 30d }
tiers { cold; hot at 11 }
"""
# lead a: paid, two visits in the window and one older; b: nothing
EXPECTED = [("a", 12.0, 12.0, "default", "hot", None, None), ("b", 0.0, 0.0, "default", "cold", None, None)]


def close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def compiled(path, *args) -> str:
    res = invoke("compile", str(path), *args)
    assert res.exit_code == 0, res.output
    assert res.output.rstrip().endswith(";")
    return res.output


def test_every_dialect_prints_its_documented_placeholder():
    for dialect, mark in PLACEHOLDERS.items():
        assert mark in compiled(REF, "--dialect", dialect), dialect


def test_trino_without_as_of_is_refused():
    res = invoke("compile", REF, "--dialect", "trino")
    assert res.exit_code == 2
    assert "--dialect trino" in res.output and "--as-of" in res.output
    assert "as_of_us" not in compiled(REF, "--dialect", "trino", "--as-of", AS_OF)


def _tables(con, leads, events, ts, at):
    con.execute(f"CREATE TABLE {leads} (id TEXT, plan TEXT)")
    con.execute(f"INSERT INTO {leads} VALUES ('a', 'pro'), ('b', NULL)")
    con.execute(f"CREATE TABLE {events} (lead_id TEXT, seen_at {ts}, kind TEXT)")
    con.execute(f"INSERT INTO {events} VALUES ('a', {at % '2026-02-20 10:00:00'}, 'visit'), "
                f"('a', {at % '2026-02-21 10:00:00'}, 'VISIT'), ('a', {at % '2025-12-01 10:00:00'}, 'visit')")


def _bound(dialect: str, sql: str, leads: str, events: str) -> list:
    """Run `sql` with its as_of parameter bound the way the dialect's client binds it."""
    if dialect == "duckdb":
        con = duckdb.connect()
        _tables(con, leads, events, "TIMESTAMP", "'%s'")
        return con.execute(sql, {"as_of_us": AS_OF_US}).fetchall()
    if dialect == "sqlite":
        con = sqlite3.connect(":memory:")
        _tables(con, leads, events, "TEXT", "'%s.000000'")
        return con.execute(sql, {"as_of_us": AS_OF_US}).fetchall()
    if dialect == "datafusion":
        import datafusion
        import pyarrow as pa

        ctx = datafusion.SessionContext()
        ts = pa.array([parse_timestamp(t) for t in ("2026-02-20T10:00:00Z", "2026-02-21T10:00:00Z",
                                                    "2025-12-01T10:00:00Z")], pa.timestamp("us"))
        ctx.register_record_batches(leads, [pa.table({"id": ["a", "b"], "plan": ["pro", None]}).to_batches()])
        ctx.register_record_batches(events, [pa.table({"lead_id": ["a"] * 3, "seen_at": ts,
                                                       "kind": ["visit", "VISIT", "visit"]}).to_batches()])
        return [tuple(r.values()) for r in ctx.sql(sql, param_values={"as_of_us": AS_OF_US}).to_pylist()]
    if dialect == "clickhouse":
        import chdb.session

        sess = chdb.session.Session()
        sess.query(f"CREATE TABLE {leads} (id String, plan Nullable(String)) ENGINE = Memory")
        sess.query(f"INSERT INTO {leads} VALUES ('a', 'pro'), ('b', NULL)")
        sess.query(f"CREATE TABLE {events} (lead_id String, seen_at DateTime64(6, 'UTC'), "
                   "kind String) ENGINE = Memory")
        sess.query(f"INSERT INTO {events} VALUES ('a', '2026-02-20 10:00:00', 'visit'), "
                   "('a', '2026-02-21 10:00:00', 'VISIT'), ('a', '2025-12-01 10:00:00', 'visit')")
        try:
            result = sess.query(sql.rstrip().rstrip(";"), "ArrowTable", params={"as_of_us": AS_OF_US})
            return [tuple(r.values()) for r in result.to_pylist()]
        finally:
            sess.query(f"DROP TABLE {leads}")
            sess.query(f"DROP TABLE {events}")
    ensure(dialect)
    if dialect == "postgres":
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test") as con:
            _tables(con, leads, events, "TIMESTAMP", "'%s'")
            try:
                return con.execute(sql, {"as_of_us": AS_OF_US}).fetchall()
            finally:
                con.rollback()  # the tables were made in this transaction
    import pymysql

    con = pymysql.connect(host="127.0.0.1", user="root", password="", database="test")
    try:
        cur = con.cursor()
        cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')")  # docs/cli.md
        _tables(cur, leads, events, "DATETIME(6)", "'%s'")
        cur.execute("SET @as_of_us = %s", (AS_OF_US,))
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.execute(f"DROP TABLE IF EXISTS {leads}, {events}")
        con.close()


@pytest.mark.parametrize("dialect", ["duckdb", "sqlite", "postgres", "mysql", "datafusion", "clickhouse"])
def test_compiled_sql_runs_with_the_parameter_bound(tmp_path, dialect):
    suffix = uuid.uuid4().hex[:8]
    leads, events = f"dbt_cmp_leads_{suffix}", f"dbt_cmp_events_{suffix}"
    path = tmp_path / "m.score"
    path.write_text(MODEL % {"leads": leads, "events": events})
    sql = compiled(path, "--dialect", dialect)
    assert PLACEHOLDERS[dialect] in sql
    model = compile_source(path.read_text())
    assert Job(model, None, None, AS_OF_US).normalize(_bound(dialect, sql, leads, events)) == EXPECTED


@pytest.fixture(scope="module")
def reference():
    model = compile_file(REF)
    leads = read_leads(DATA / "leads.csv", model.schema)
    events = read_events(DATA / "events.csv", model.schema)
    return model, leads, events


def _duckdb_data(con):
    con.execute(f"CREATE TABLE leads AS SELECT * FROM read_csv('{DATA / 'leads.csv'}')")
    con.execute(f"CREATE TABLE events AS SELECT * FROM read_csv('{DATA / 'events.csv'}')")


@pytest.mark.parametrize("kind", ["accounts", "explain"])
def test_compile_accounts_and_explain_equal_the_runtime(reference, kind):
    model, leads, events = reference
    con = duckdb.connect()
    _duckdb_data(con)
    baked = con.execute(compiled(REF, f"--{kind}", "--as-of", AS_OF)).fetchall()
    bound = con.execute(compiled(REF, f"--{kind}"), {"as_of_us": AS_OF_US}).fetchall()
    job = Job(model, None, None, AS_OF_US, kind)
    # the engine path: leadscore's loader, as_of baked in. Account sums are compared within
    # 1e-9 (as tests/test_differential.py does): their order of float additions is the engine's
    expected = run_query(kind, "duckdb", model, leads, events, AS_OF_US)
    for got in (job.normalize(baked), job.normalize(bound)):
        assert len(got) == len(expected)
        for row, want in zip(got, expected):
            assert len(row) == len(want) and all(close(a, b) for a, b in zip(row, want)), (row, want)
    assert len(baked) > 1


def test_accounts_and_explain_need_the_model_to_have_them():
    starter = str(ROOT / "examples" / "starter.score")
    res = invoke("compile", starter, "--accounts")
    assert res.exit_code == 2
    assert "no `account by` block" in res.output
