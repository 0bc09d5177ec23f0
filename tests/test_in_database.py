"""Scoring inside a database: the schema's own tables, and --into written atomically."""

import sqlite3
import uuid
from dataclasses import dataclass

import duckdb
import pytest
from click.testing import CliRunner

from conftest import ROOT
from engines import ensure
from leadscore.cli import main
from leadscore.compiler import compile_source
from leadscore.engines import DIALECTS
from leadscore.runtime.data import parse_timestamp
from leadscore.runtime.engines import run
from leadscore.runtime.warehouses import EngineError, Job

MODEL = """
schema {
  lead  { key id  field plan: text  table "%(leads)s" }
  event { lead lead_id  time seen_at  type kind  table "%(events)s" }
}
score s { rule "paid" +10 when plan == "Pro"  rule "visits" +1 per event visit }
tiers { cold; hot at 11 }
"""
AS_OF = parse_timestamp("2026-03-01T00:00:00Z")
EXPECTED = [("a", 12.0, 12.0, "default", "hot", None, None), ("b", 0.0, 0.0, "default", "cold", None, None)]


def fill(cur, leads, events, ts="TIMESTAMP", now="'2026-02-01 10:00:00'"):
    cur.execute(f"CREATE TABLE {leads} (id TEXT, plan TEXT)")
    cur.execute(f"INSERT INTO {leads} VALUES ('a', 'pro'), ('b', NULL)")
    cur.execute(f"CREATE TABLE {events} (lead_id TEXT, seen_at {ts}, kind TEXT)")
    cur.execute(f"INSERT INTO {events} VALUES ('a', {now}, 'visit'), ('a', {now}, 'VISIT')")


def test_duckdb_file_tables_and_into(tmp_path):
    db = str(tmp_path / "crm.duckdb")
    con = duckdb.connect(db)
    fill(con, "leads_t", "events_t")
    con.close()
    model = compile_source(MODEL % {"leads": "leads_t", "events": "events_t"})
    assert run(model, None, None, AS_OF, "duckdb", db) == EXPECTED
    assert run(model, None, None, AS_OF, "duckdb", db, into="scores") == EXPECTED
    assert run(model, None, None, AS_OF, "duckdb", db, into="scores") == EXPECTED  # replaced
    con = duckdb.connect(db)
    assert con.execute('SELECT "id", "tier" FROM scores ORDER BY 1').fetchall() == [
        ("a", "hot"), ("b", "cold")]
    assert [t for (t,) in con.execute("SHOW TABLES").fetchall()].count("scores") == 1
    con.close()


def test_sqlite_file_tables_and_into(tmp_path):
    db = str(tmp_path / "crm.sqlite")
    con = sqlite3.connect(db)
    fill(con.cursor(), "leads_t", "events_t", ts="TEXT", now="'2026-02-01 10:00:00.000000'")
    con.commit()
    con.close()
    model = compile_source(MODEL % {"leads": "leads_t", "events": "events_t"})
    assert run(model, None, None, AS_OF, "sqlite", db, into="scores") == EXPECTED
    con = sqlite3.connect(db)
    assert con.execute("SELECT id, tier FROM scores ORDER BY 1").fetchall() == [
        ("a", "hot"), ("b", "cold")]


def test_failed_run_leaves_the_old_table(tmp_path):
    db = str(tmp_path / "crm.duckdb")
    con = duckdb.connect(db)
    fill(con, "leads_t", "events_t")
    con.execute("CREATE TABLE scores AS SELECT 42 AS answer")
    con.close()
    broken = compile_source(MODEL % {"leads": "leads_t", "events": "no_such_table"})
    with pytest.raises(EngineError, match="no_such_table"):
        run(broken, None, None, AS_OF, "duckdb", db, into="scores")
    con = duckdb.connect(db)
    assert con.execute("SELECT * FROM scores").fetchall() == [(42,)]
    assert [t for (t,) in con.execute("SHOW TABLES").fetchall()] == sorted(
        ["events_t", "leads_t", "scores"])


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_server_tables_and_into(engine):
    ensure(engine)
    suffix = uuid.uuid4().hex[:6]
    leads, events, into = f"ls_leads_{suffix}", f"ls_events_{suffix}", f"ls_scores_{suffix}"
    if engine == "postgres":
        import psycopg

        con = psycopg.connect("postgresql://postgres@127.0.0.1:5432/test")
        drop = "DROP TABLE IF EXISTS {}"
    else:
        import pymysql

        con = pymysql.connect(host="127.0.0.1", user="root", password="", database="test")
        drop = "DROP TABLE IF EXISTS {}"
    try:
        cur = con.cursor()
        ts = "TIMESTAMP" if engine == "postgres" else "DATETIME(6)"
        fill(cur, leads, events, ts=ts)
        con.commit()
        model = compile_source(MODEL % {"leads": leads, "events": events})
        assert run(model, None, None, AS_OF, engine) == EXPECTED
        assert run(model, None, None, AS_OF, engine, into=into) == EXPECTED
        assert run(model, None, None, AS_OF, engine, into=into) == EXPECTED
        cur = con.cursor()
        cur.execute(f"SELECT count(*) FROM {into}")
        assert cur.fetchone()[0] == 2
    finally:
        cur = con.cursor()
        for t in (leads, events, into):
            cur.execute(drop.format(t))
        con.commit()
        con.close()


def test_into_never_replaces_a_table_the_model_reads(tmp_path):
    db = str(tmp_path / "crm.duckdb")
    con = duckdb.connect(db)
    fill(con, "leads_t", "events_t")
    con.close()
    model = compile_source(MODEL % {"leads": "leads_t", "events": "events_t"})
    for table in ("leads_t", "events_t"):
        with pytest.raises(EngineError, match="a table the model reads"):
            run(model, None, None, AS_OF, "duckdb", db, into=table)
    con = duckdb.connect(db)
    assert con.execute("SELECT COUNT(*) FROM events_t").fetchone() == (2,)
    con.close()


def test_in_process_engines_refuse_into():
    model = compile_source(MODEL % {"leads": "l", "events": "e"})
    with pytest.raises(EngineError, match="--into"):
        run(model, None, None, AS_OF, "datafusion", into="x")


def test_cli_into_needs_a_database_engine():
    res = CliRunner().invoke(main, ["run", str(ROOT / "examples" / "starter.score"),
                                    "--engine", "python", "--into", "x"])
    assert res.exit_code == 2
    assert "--into writes to a database" in res.output


def test_cli_scores_tables_in_a_duckdb_file(tmp_path):
    db = str(tmp_path / "crm.duckdb")
    con = duckdb.connect(db)
    fill(con, "leads_t", "events_t")
    con.close()
    model = tmp_path / "m.score"
    model.write_text(MODEL % {"leads": "leads_t", "events": "events_t"})
    res = CliRunner().invoke(main, ["run", str(model), "--db", db, "--into", "main.scores",
                                    "--as-of", "2026-03-01T00:00:00Z"])
    assert res.exit_code == 0, res.output
    assert "wrote 2 rows to table main.scores" in res.output


PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def connect(engine, tmp_path):
    """(DB-API connection, --db) for a database of `engine` the test can fill."""
    if engine == "duckdb":
        db = str(tmp_path / "crm.duckdb")
        return duckdb.connect(db), db
    if engine == "sqlite":
        db = str(tmp_path / "crm.sqlite")
        return sqlite3.connect(db), db
    ensure(engine)
    if engine == "postgres":
        import psycopg

        return psycopg.connect(PG_URL), PG_URL
    import pymysql

    return pymysql.connect(host="127.0.0.1", user="root", password="", database="test"), None


TS = {"duckdb": ("TIMESTAMP", "'2026-02-01 10:00:00'"),
      "sqlite": ("TEXT", "'2026-02-01 10:00:00.000000'"),
      "postgres": ("TIMESTAMP", "'2026-02-01 10:00:00'"),
      "mysql": ("DATETIME(6)", "'2026-02-01 10:00:00'")}


@pytest.mark.parametrize("engine", ["duckdb", "sqlite", "postgres", "mysql"])
def test_into_without_fetch_writes_in_the_engine_and_counts(engine, tmp_path):
    """With `fetch` off the run returns the number of rows written, not the rows, and
    the table holds exactly what a fetching run returns; a second run replaces it."""
    con, db = connect(engine, tmp_path)
    suffix = uuid.uuid4().hex[:6]
    leads, events, into = f"ls_leads_{suffix}", f"ls_events_{suffix}", f"ls_scores_{suffix}"
    try:
        cur = con.cursor()
        fill(cur, leads, events, *TS[engine])
        cur.execute(f"INSERT INTO {leads} VALUES ('c', 'basic')")
        con.commit()
        model = compile_source(MODEL % {"leads": leads, "events": events})
        dialect = DIALECTS[engine]
        for _ in range(2):
            assert dialect.run(Job(model, None, None, AS_OF, db=db, into=into,
                                   fetch=False)) == 3
        cur = con.cursor()
        cur.execute(f"SELECT * FROM {into} ORDER BY 1")
        written = Job(model, None, None, AS_OF).normalize(cur.fetchall())
        cur.execute(f"SELECT COUNT(*) FROM {into}")
        assert cur.fetchone()[0] == 3
        assert written == EXPECTED + [("c", 0.0, 0.0, "default", "cold", None, None)]
        con.commit()  # the reads' locks released: the next run replaces the table
        assert run(model, None, None, AS_OF, engine, db, into=into) == written
    finally:
        cur = con.cursor()
        for t in (leads, events, into):
            cur.execute(f"DROP TABLE IF EXISTS {t}")
        con.commit()
        con.close()


def test_a_job_that_does_not_fetch_names_its_table():
    model = compile_source(MODEL % {"leads": "l", "events": "e"})
    with pytest.raises(ValueError, match="into"):
        Job(model, None, None, AS_OF, fetch=False)


@dataclass
class SettingsProbe(Job):
    """A job that reads the planner settings on the runner's cursor as it scores."""

    seen: tuple = ()

    def execute(self, cur, dialect, tables):
        cur.execute("SELECT current_setting('jit'), current_setting('TimeZone'), "
                    "current_setting('max_parallel_workers_per_gather'), "
                    "current_setting('synchronize_seqscans')")
        self.seen = cur.fetchone()
        return super().execute(cur, dialect, tables)


def test_postgres_scores_with_its_settings_in_its_transaction_only():
    """The generated query's cost passes jit_above_cost and JIT compiling it costs more than
    running it; parallel workers and synchronized scans change the order of a float SUM's
    terms: the scoring transaction turns all three off (SET LOCAL), the server's defaults
    and other sessions keep theirs."""
    ensure("postgres")
    import psycopg

    con = psycopg.connect(PG_URL, autocommit=True)
    suffix = uuid.uuid4().hex[:6]
    leads, events, into = f"ls_leads_{suffix}", f"ls_events_{suffix}", f"ls_scores_{suffix}"
    try:
        fill(con.cursor(), leads, events)
        default = con.execute("SELECT current_setting('jit')").fetchone()[0]
        model = compile_source(MODEL % {"leads": leads, "events": events})
        for into_ in (None, into):
            probe = SettingsProbe(model, None, None, AS_OF, into=into_)
            assert DIALECTS["postgres"].run(probe) == EXPECTED
            assert probe.seen == ("off", "UTC", "0", "off")
        assert con.execute("SELECT current_setting('jit')").fetchone()[0] == default
    finally:
        for t in (leads, events, into):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        con.close()
