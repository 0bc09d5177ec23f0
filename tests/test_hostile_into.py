"""`--into` under attack: bad names, two runs at once, leftovers, other databases, and a run
killed at the swap itself, on every engine that writes tables (DuckDB and SQLite files,
PostgreSQL, MySQL/MariaDB; the in-process engines, Spark among them, write none).

Every run here is the real CLI in a subprocess. The kill lands where the run stops at a
`fault_point` (runtime/warehouses.py: only a test's environment names one), or where a
server holds the swap statement on a lock this test takes.
"""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from engines import engine_params, ensure
from leadscore.cli import main
from leadscore.compiler import compile_source
from leadscore.engines import DIALECTS
from leadscore.runtime.data import parse_timestamp
from leadscore.runtime.runner import score_files
from leadscore.runtime.warehouses import FAULT_ENV, MAX_IDENTIFIER_BYTES, SCRATCH, EngineError, Job

WRITERS = [e for e, d in DIALECTS.items() if d.into_parts]
MODEL = """
schema {
  lead  { key id  field plan: text }
  event { lead lead_id  time seen_at  type kind }
}
score s { rule "paid" +10 when plan == "pro"  rule "visits" +1 per event visit }
tiers { cold; hot at 11 }
"""
AS_OF = "2026-03-01T00:00:00Z"
PG = "postgresql://postgres@127.0.0.1:5432/test"
MY = "mysql://root@127.0.0.1:3306/"
ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}


def write_data(path: Path, prefix: str, n: int) -> tuple[Path, Path]:
    """n leads `prefix0..`, each with i visits: two data sets tell an old table from a new one."""
    path.mkdir(parents=True, exist_ok=True)
    leads, events = path / "leads.csv", path / "events.csv"
    leads.write_text("id,plan\n" + "".join(f"{prefix}{i},{'pro' if i % 2 else 'free'}\n"
                                          for i in range(n)))
    events.write_text("lead_id,seen_at,kind\n" + "".join(
        f"{prefix}{i},2026-02-01T10:00:00Z,visit\n" for i in range(n) for _ in range(i)))
    return leads, events


@dataclass
class Target:
    """A database of one engine this test owns (a file, a PostgreSQL schema, a MySQL
    database), what `--db` names, and what an `--into` name in it looks like."""

    engine: str
    tmp: Path
    db: str = ""
    schema: str | None = None
    made: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        suffix = uuid.uuid4().hex[:8]
        if self.engine in ("duckdb", "sqlite"):
            self.db = str(self.tmp / f"into.{self.engine}")
            return
        ensure(self.engine)
        self.schema = f"into_{suffix}"
        if self.engine == "postgres":
            self.db = PG
            self.execute(f'CREATE SCHEMA "{self.schema}"')
        else:
            self.db = MY + self.schema
            self.execute(f"CREATE DATABASE `{self.schema}`", database="test")

    def name(self, table: str) -> str:
        """`table` as --into writes it: in this test's schema on a server."""
        return f"{self.schema}.{table}" if self.engine == "postgres" else table

    def connect(self, database: str | None = None):
        if self.engine == "duckdb":
            return duckdb.connect(self.db)
        if self.engine == "sqlite":
            return sqlite3.connect(self.db)
        if self.engine == "postgres":
            import psycopg

            return psycopg.connect(PG, autocommit=True)
        import pymysql

        return pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True,
                               database=database or self.schema)

    def execute(self, sql: str, params: tuple = (), database: str | None = None) -> list:
        con = self.connect(database)
        try:
            cur = con.cursor()
            cur.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
            con.commit()
            return rows
        finally:
            con.close()

    def tables(self) -> set[str]:
        if self.engine == "sqlite":
            return {t for (t,) in self.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if self.engine == "duckdb":
            return {t for (t,) in self.execute("SELECT table_name FROM information_schema.tables")}
        return {t for (t,) in self.execute("SELECT table_name FROM information_schema.tables "
                                           "WHERE table_schema = %s", (self.schema,))}

    def rows(self, table: str) -> list[tuple] | None:
        """The scored (id, total, tier) rows of `table`, or None if there is no such table."""
        if table not in self.tables():
            return None
        quoted = DIALECTS[self.engine].table_sql(self.name(table))
        got = self.execute(f"SELECT id, total, tier FROM {quoted}")
        return sorted((str(k), float(t), str(tier)) for k, t, tier in got)

    def drop(self) -> None:
        if self.engine == "postgres":
            self.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        elif self.engine == "mysql":
            for db in [self.schema, *self.made]:
                self.execute(f"DROP DATABASE IF EXISTS `{db}`", database="test")


@pytest.fixture(params=engine_params(WRITERS))
def target(request, tmp_path):
    t = Target(request.param, tmp_path)
    yield t
    t.drop()


@pytest.fixture
def model_file(tmp_path) -> Path:
    path = tmp_path / "m.score"
    path.write_text(MODEL)
    return path


def expected(data: tuple[Path, Path]) -> list[tuple]:
    """What a table written from `data` holds: the Python evaluator's rows."""
    got = score_files(compile_source(MODEL), data[0], data[1], parse_timestamp(AS_OF), "python")
    cols = got.columns
    return sorted((r[0], r[cols.index("total")], r[cols.index("tier")]) for r in got.rows)


def cli(model_file: Path, data: tuple[Path, Path], target: Target, into: str,
        env: dict | None = None, engine: str | None = None, extra: tuple = ()) -> list[str]:
    return [sys.executable, "-m", "leadscore", "run", str(model_file), "--leads", str(data[0]),
            "--events", str(data[1]), "--as-of", AS_OF, "--engine", engine or target.engine,
            "--db", target.db, "--into", into, *extra]


def run_cli(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cli(*args, **kwargs), env=ENV, capture_output=True, text=True,
                          timeout=180)


def clean(res: subprocess.CompletedProcess) -> None:
    """A failure the user can act on: no internal error, no traceback."""
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr, res.stderr


def scratch(target: Target) -> set[str]:
    return {t for t in target.tables() if SCRATCH.fullmatch(t)}


# ------------------------------------------------------------------ names
BAD_NAMES = ["", ".", "a.", ".a", "a..b", "a.b.c.d", " a", "a ", "a\tb", "a\u202eb",
             "x" * (MAX_IDENTIFIER_BYTES + 1), "é" * 32,
             # the session's temporary schema: the table would be gone when the run ends
             "temp.s", "TEMP.s", "temporary.s", "pg_temp.s", "pg_temp_3.s"]


@pytest.mark.parametrize("engine", engine_params(WRITERS))
@pytest.mark.parametrize("name", BAD_NAMES, ids=repr)
def test_bad_into_names_are_located_usage_errors(engine, model_file, tmp_path, name):
    """Refused before any database is opened or reached (so in this process)."""
    data = write_data(tmp_path / "a", "a", 2)
    db = {"duckdb": str(tmp_path / "x.duckdb"), "sqlite": str(tmp_path / "x.sqlite")}.get(
        engine, DIALECTS[engine].default_db)
    res = CliRunner().invoke(main, ["run", str(model_file), "--leads", str(data[0]), "--events",
                                    str(data[1]), "--engine", engine, "--db", db, "--into", name])
    assert res.exit_code == 2, res.output
    assert "Invalid value for --into" in res.output and "internal error" not in res.output
    assert not (tmp_path / "x.duckdb").exists() and not (tmp_path / "x.sqlite").exists()


def test_parts_follow_each_engine(target, model_file, tmp_path):
    """Up to `into_parts` parts: 3 (catalog.schema.table) on DuckDB and PostgreSQL, 2 where a
    schema is the last qualifier (SQLite's attached databases, MySQL's databases)."""
    data = write_data(tmp_path / "a", "a", 2)
    n = DIALECTS[target.engine].into_parts
    res = run_cli(model_file, data, target, ".".join(["x"] * (n + 1)))
    assert res.returncode == 2 and f"{target.engine} takes" in res.stderr, res.stderr
    # a DuckDB file's catalog is named after it
    qualified = {"duckdb": "into.main.scores", "sqlite": "main.scores",
                 "postgres": f"test.{target.schema}.scores", "mysql": f"{target.schema}.scores"}
    res = run_cli(model_file, data, target, qualified[target.engine])
    assert res.returncode == 0, res.stderr
    assert target.rows("scores") == expected(data)


def test_a_missing_schema_is_an_engine_error(target, model_file, tmp_path):
    data = write_data(tmp_path / "a", "a", 2)
    res = run_cli(model_file, data, target, "no_such_schema_x.scores")
    assert res.returncode == 1, res.stderr
    clean(res)
    assert res.stderr.startswith("error: ")


def test_the_api_refuses_a_bad_name_too():
    model = compile_source(MODEL)
    with pytest.raises(EngineError, match="is empty"):
        DIALECTS["duckdb"].run(Job(model, None, None, 0, db=":memory:", into=""))


def test_into_on_a_file_engine_needs_db(model_file, tmp_path):
    data = write_data(tmp_path / "a", "a", 2)
    res = subprocess.run([sys.executable, "-m", "leadscore", "run", str(model_file), "--leads",
                          str(data[0]), "--events", str(data[1]), "--into", "scores"],
                         env=ENV, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "give --db PATH" in res.stderr, res.stderr


# ------------------------------------------------------------------ two runs at once
@contextlib.contextmanager
def holding(target: Target) -> Iterator[None]:
    """Hold what two runs into table `scores` must take turns for (the DuckDB file, SQLite's
    write lock, the swap's lock on a server), so that both reach it while it is held."""
    con = target.connect()
    try:
        if target.engine == "duckdb":
            pass  # the open connection holds the file
        elif target.engine == "sqlite":
            con.isolation_level = None
            con.execute("BEGIN IMMEDIATE")
        elif target.engine == "postgres":
            con.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))",
                        (f"{target.schema}.scores",))
        else:
            con.cursor().execute("SELECT GET_LOCK(CONCAT('leadscore_swap_', SHA1(%s)), 0)",
                                 (f"{target.schema}.scores",))
        yield
    finally:
        con.close()


def waiting_runs(target: Target) -> int | None:
    """How many runs wait for the held swap lock on a server; None where no one can tell."""
    if target.engine == "postgres":
        return target.execute("SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' "
                              "AND NOT granted")[0][0]
    if target.engine == "mysql":
        return target.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                              "WHERE INFO LIKE 'SELECT GET_LOCK(CONCAT(''leadscore_swap_%%'")[0][0]
    return None


def test_two_runs_at_once_write_one_complete_table(target, model_file, tmp_path):
    """Both runs succeed, one after the other where the engine makes them take turns, and the
    table is one of their two results, whole. The first round holds the lock they take turns
    for until both wait for it; the second lets them race."""
    a, b = write_data(tmp_path / "a", "a", 30), write_data(tmp_path / "b", "b", 40)
    into = target.name("scores")
    for held in (True, False):
        with contextlib.ExitStack() as stack:
            if held:
                stack.enter_context(holding(target))
            procs = [subprocess.Popen(cli(model_file, d, target, into), env=ENV, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for d in (a, b)]
            deadline = time.monotonic() + (60 if waiting_runs(target) is not None else 6)
            while held and time.monotonic() < deadline and waiting_runs(target) != 2:
                assert all(p.poll() is None for p in procs)
                time.sleep(0.1)
            assert not held or waiting_runs(target) in (None, 2)
        for p in procs:
            _, err = p.communicate(timeout=180)
            assert p.returncode == 0, err
        assert target.rows("scores") in (expected(a), expected(b))
        assert not scratch(target)


# ------------------------------------------------------------------ killed at the swap
# Where the kill lands, and which table a reader finds after it: transactional engines commit
# nothing of a killed run; MySQL's RENAME commits, so from "mid-swap" on the table is new.
POINTS = ["swap", "mid-swap", "commit"]


def after_kill(engine: str, point: str) -> str:
    return "new" if engine == "mysql" and point != "swap" else "old"


def kill_at(model_file, data, target, into, point, marker: Path) -> None:
    proc = subprocess.Popen(cli(model_file, data, target, into),
                            env={**ENV, FAULT_ENV: f"{point}:{marker}"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the run never reached the fault point"
        time.sleep(0.05)
    assert int(marker.read_text()) == proc.pid
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def wait_for_dead_runs(target: Target) -> None:
    """MySQL frees a killed client's named locks once it sees the connection close."""
    if target.engine != "mysql":
        return
    deadline = time.monotonic() + 30
    for t in scratch(target):
        lock = f"leadscore_into_{SCRATCH.fullmatch(t)[1]}"
        while target.execute("SELECT IS_FREE_LOCK(%s)", (lock,))[0][0] != 1:
            assert time.monotonic() < deadline, f"{lock} still held"
            time.sleep(0.1)


@pytest.mark.parametrize("point", POINTS)
def test_a_run_killed_at_the_swap_leaves_one_whole_table(target, model_file, tmp_path, point):
    old, new = write_data(tmp_path / "old", "o", 20), write_data(tmp_path / "new", "n", 25)
    into = target.name("scores")
    res = run_cli(model_file, old, target, into)
    assert res.returncode == 0, res.stderr
    kill_at(model_file, new, target, into, point, tmp_path / "reached")
    want = {"old": expected(old), "new": expected(new)}
    assert target.rows("scores") == want[after_kill(target.engine, point)]
    # MySQL's DDL commits: killed before the old table is dropped, a scratch table is left
    assert bool(scratch(target)) == (target.engine == "mysql" and point != "commit")
    wait_for_dead_runs(target)
    res = run_cli(model_file, new, target, into)  # the next run is not blocked by leftovers
    assert res.returncode == 0, res.stderr
    assert target.rows("scores") == want["new"]
    assert not scratch(target)


def test_a_run_killed_at_the_first_write_leaves_no_table(target, model_file, tmp_path):
    new = write_data(tmp_path / "new", "n", 5)
    kill_at(model_file, new, target, target.name("scores"), "swap", tmp_path / "reached")
    assert target.rows("scores") is None
    wait_for_dead_runs(target)
    assert run_cli(model_file, new, target, target.name("scores")).returncode == 0
    assert target.rows("scores") == expected(new) and not scratch(target)


@pytest.mark.parametrize("engine", engine_params(["postgres", "mysql"]))
def test_a_run_killed_while_the_server_holds_its_swap(engine, model_file, tmp_path):
    """A reader holds the old table open, so the server blocks the swap statement itself
    (PostgreSQL's DROP TABLE, MySQL's RENAME TABLE waiting for the lock); the run is killed
    there. PostgreSQL then rolls the whole swap back; MySQL, whose DDL commits, finishes the
    RENAME it was given: either way one whole table, and the next run succeeds."""
    target = Target(engine, tmp_path)
    try:
        old, new = write_data(tmp_path / "old", "o", 20), write_data(tmp_path / "new", "n", 25)
        into = target.name("scores")
        assert run_cli(model_file, old, target, into).returncode == 0
        reader = target.connect()
        if engine == "postgres":
            reader.autocommit = False
        else:
            reader.autocommit(False)
        cur = reader.cursor()
        cur.execute(f"SELECT COUNT(*) FROM {DIALECTS[engine].table_sql(into)}")
        cur.fetchall()
        proc = subprocess.Popen(cli(model_file, new, target, into), env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        waiting = ("SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND query LIKE 'DROP TABLE%%scores%%'" if engine == "postgres" else
                   "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE "
                   "'Waiting for table metadata lock' AND INFO LIKE 'RENAME TABLE%%'")
        deadline = time.monotonic() + 120
        while target.execute(waiting)[0][0] == 0:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        reader.rollback()
        reader.close()
        want = {"old": expected(old), "new": expected(new)}
        deadline = time.monotonic() + 30
        while engine == "postgres" and target.execute(waiting)[0][0]:  # the orphan backend ends
            assert time.monotonic() < deadline
            time.sleep(0.05)
        got = target.rows("scores")
        assert got == want["old" if engine == "postgres" else "new"]
        wait_for_dead_runs(target)
        res = run_cli(model_file, new, target, into)
        assert res.returncode == 0, res.stderr
        assert target.rows("scores") == want["new"] and not scratch(target)
    finally:
        target.drop()


# ------------------------------------------------------------------ MySQL names and leftovers
@pytest.fixture
def mysql(tmp_path):
    t = Target("mysql", tmp_path)
    yield t
    t.drop()


def test_mysql_into_another_database_than_dbs(mysql, model_file, tmp_path):
    """A table in another database than --db's is replaced on every run, not only the first."""
    other = f"into_other_{uuid.uuid4().hex[:8]}"
    mysql.made.append(other)
    mysql.execute(f"CREATE DATABASE `{other}`")
    a, b = write_data(tmp_path / "a", "a", 3), write_data(tmp_path / "b", "b", 4)
    for data in (a, b, a):
        res = run_cli(model_file, data, mysql, f"{other}.scores")
        assert res.returncode == 0, res.stderr
        got = mysql.execute(f"SELECT id FROM `{other}`.scores ORDER BY id")
        assert [k for (k,) in got] == [k for k, _, _ in expected(data)]
    assert [t for (t,) in mysql.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = %s", (other,))] == ["scores"]
    assert not scratch(mysql)


def test_mysql_names_match_exactly(mysql, model_file, tmp_path):
    """`_` is no wildcard: a user's `scoresXv1` is neither replaced nor mistaken for
    `scores_v1`; nor is `Scores_v1`, another table on a case-sensitive server."""
    cased = mysql.execute("SELECT @@lower_case_table_names")[0][0] == 0
    mysql.execute("CREATE TABLE scoresXv1 (answer INT)")
    mysql.execute("INSERT INTO scoresXv1 VALUES (42)")
    if cased:
        mysql.execute("CREATE TABLE Scores_v1 (answer INT)")
        mysql.execute("INSERT INTO Scores_v1 VALUES (7)")
    a, b = write_data(tmp_path / "a", "a", 3), write_data(tmp_path / "b", "b", 4)
    for data in (a, b):
        res = run_cli(model_file, data, mysql, "scores_v1")
        assert res.returncode == 0, res.stderr
        assert mysql.rows("scores_v1") == expected(data)
    assert mysql.execute("SELECT answer FROM scoresXv1") == ((42,),)
    if cased:
        assert mysql.execute("SELECT answer FROM Scores_v1") == ((7,),)


def test_mysql_leftovers_are_dropped_only_when_their_run_is_gone(mysql, model_file, tmp_path):
    """A dead run's scratch tables (its lock free) go at the next run; a live run's (its lock
    held), tables of another shape, and the old versions' `…__leadscore_old` stay untouched and
    block nothing."""
    dead, live = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    kept = [f"leadscore_into_{live}_new", f"Leadscore_into_{dead}_old",
            f"leadscore_into_{dead[:15]}_old", "scores__leadscore_old", "leadscore_into_mine"]
    for t in [f"leadscore_into_{dead}_new", f"leadscore_into_{dead}_old", *kept]:
        mysql.execute(f"CREATE TABLE `{t}` (answer INT)")
    holder = mysql.connect()
    try:
        holder.cursor().execute("SELECT GET_LOCK(%s, 0)", (f"leadscore_into_{live}",))
        a = write_data(tmp_path / "a", "a", 3)
        for _ in range(2):
            res = run_cli(model_file, a, mysql, "scores")
            assert res.returncode == 0, res.stderr
        assert mysql.tables() == {"scores", *kept}
    finally:
        holder.close()


# ------------------------------------------------------------------ python with --db
def test_python_with_db_is_a_usage_error(model_file, tmp_path):
    data = write_data(tmp_path / "a", "a", 2)
    res = subprocess.run([sys.executable, "-m", "leadscore", "run", str(model_file), "--leads",
                          str(data[0]), "--events", str(data[1]), "--engine", "python",
                          "--db", str(tmp_path / "x.duckdb")],
                         env=ENV, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    clean(res)
    assert "--db" in res.stderr and "--engine duckdb" in res.stderr
    res = subprocess.run([sys.executable, "-m", "leadscore", "run", str(model_file), "--engine",
                          "python", "--db", str(tmp_path / "x.duckdb")],
                         env=ENV, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "--engine duckdb" in res.stderr, res.stderr


@pytest.mark.parametrize("engine", engine_params(["sqlite", "postgres"]))
def test_test_with_python_and_a_database_engine(engine, tmp_path):
    """`test --engine python --engine E --db D`: --db is where E runs; python ignores it."""
    ensure(engine)
    path = tmp_path / "t.score"
    path.write_text(MODEL + """
test "a paying visitor" {
  as_of 2026-03-01T00:00:00Z
  lead { id: "x", plan: "Pro" }
  events {
    visit at 2026-02-01T00:00:00Z
  }
  expect total == 11
  expect tier == hot
}
""")
    db = PG if engine == "postgres" else str(tmp_path / "t.sqlite")
    args = [sys.executable, "-m", "leadscore", "test", str(path), "--engine", "python"]
    res = subprocess.run([*args, "--engine", engine, "--db", db], env=ENV, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr + res.stdout
    assert "1 tests, 4 expectations on python, " + engine + ": ok" in res.stdout
    res = subprocess.run([*args, "--db", db], env=ENV, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "--db is where a database engine" in res.stderr, res.stderr


@pytest.mark.parametrize("url", ["mysql://root@127.0.0.1:99999/test", "mysql://root@[::1/test",
                                 "mysql://root@127.0.0.1:3306", "mysql://root@127.0.0.1:3306/"])
def test_a_mysql_url_that_is_not_one_is_a_clear_error(model_file, tmp_path, url):
    """A bad port or bracket is a message, and a URL without a database is refused: no
    database is chosen for the user (it used to be `test`)."""
    data = write_data(tmp_path / "a", "a", 2)
    res = CliRunner().invoke(main, ["run", str(model_file), "--leads", str(data[0]), "--events",
                                    str(data[1]), "--engine", "mysql", "--db", url])
    assert res.exit_code == 1, res.output
    assert "mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE" in res.output, res.output
    assert "internal error" not in res.output
