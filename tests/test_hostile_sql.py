"""Hostile server settings and column collations: the SQL engines still give Python's answer.

tests/hostile/settings/servers.toml lists the settings a DBA (or an attacker with a role)
may set, given here to a database and a role of this test's own: PostgreSQL
`standard_conforming_strings = off` (a backslash in '...' escapes), other date styles and
time zone, `extra_float_digits = -15`, a search_path with pg_catalog after a schema holding
a `lower(text)` that answers 'pwned', an LC_CTYPE "C" database; MySQL/MariaDB sql_mode
NO_BACKSLASH_ESCAPES, ANSI_QUOTES, PIPES_AS_CONCAT, HIGH_NOT_PRECEDENCE and a latin1
database. There the conformance corpus and the injection rule file (injection.score with
its data) must give Python's rows, the generated SQL must give them even without the
runner's pinned session, and a canary table must survive with its rows never read. Tables
with the listed column collations (C, nondeterministic ICU, general_ci, latin1, PAD SPACE,
DuckDB NOCASE/NOACCENT, SQLite NOCASE/RTRIM) scored in place must not depend on them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from conftest import ROOT
from corpus import load_cases, same_value
from engines import SERVERS, engine_params, ensure
from leadscore.compiler import CompileError, compile_file, compile_source
from leadscore.engines import DIALECTS
from leadscore.runtime.accounts import run_accounts
from leadscore.runtime.data import (
    csv_text_records,
    empty_events,
    events_from_records,
    leads_from_records,
    parse_timestamp,
)
from leadscore.runtime.engines import run
from leadscore.runtime.output import format_value
from leadscore.runtime.warehouses import Job, Tables

HOSTILE = ROOT / "tests" / "hostile" / "settings"
AS_OF = parse_timestamp("2026-03-01T00:00:00Z")
DB = "sqlsafe_hostile"
ROLE = "sqlsafe_role"
CANARY = [("SECRET-canary-1",), ("SECRET-canary-2",)]

SERVERS_TOML = tomllib.loads((HOSTILE / "servers.toml").read_text("utf-8"))
PG, MY = SERVERS_TOML["postgres"], SERVERS_TOML["mysql"]


def _base(engine: str) -> str:
    url = SERVERS[engine]
    return f"{url.scheme}://{{user}}@{url.hostname}:{url.port}/{{db}}"


def _records(path: Path):
    return csv_text_records(path.read_text("utf-8"))


def _injection():
    model = compile_file(HOSTILE / "injection.score")
    leads = leads_from_records("leads.csv", *_records(HOSTILE / "leads.csv"), model.schema)
    events = events_from_records("events.csv", *_records(HOSTILE / "events.csv"), model.schema)
    return model, leads, events


def _corpus():
    """The conformance cases that compile, with their data, as the corpus runner loads them."""
    out = []
    for case in load_cases():
        if "expected" not in case.data:
            continue
        text, path = case.model_text
        try:
            model = compile_source(text, path)
        except CompileError:
            continue
        schema = model.schema
        leads = leads_from_records("leads", *csv_text_records(case.data["leads"].strip("\n") + "\n"),
                                   schema, strict=True)
        events = empty_events(schema)
        if schema.has_events and case.data.get("events", "").strip():
            events = events_from_records(
                "events", *csv_text_records(case.data["events"].strip("\n") + "\n"), schema,
                strict=True)
        out.append((case.name, model, leads, events, parse_timestamp(case.data["as_of"])))
    return out


def _same(got: list[tuple], want: list[tuple]) -> bool:
    """Rows equal as the corpus compares them (floats to 1e-9: float sums are not this
    test's subject)."""
    return len(got) == len(want) and all(
        len(g) == len(w) and all(same_value(format_value(a), format_value(b)) for a, b in zip(g, w))
        for g, w in zip(got, want))


def _corpus_mismatches(engine: str, url: str) -> list[str]:
    cases = _corpus()
    assert len(cases) > 100
    return [name for name, model, leads, events, as_of in cases
            if not _same(run(model, leads, events, as_of, engine, url),
                         run(model, leads, events, as_of, "python"))]


@pytest.mark.parametrize("engine", engine_params())
def test_injection_rule_file_on_every_engine(engine):
    """The strings, names (a column named with `"` and `\\'`) and labels of injection.score,
    on each engine's own settings: Python's rows, the explain and account queries included."""
    ensure(engine)
    model, leads, events = _injection()
    assert run(model, leads, events, AS_OF, engine) == run(model, leads, events, AS_OF, "python")


# ---------------------------------------------------------------- PostgreSQL
@pytest.fixture(scope="module")
def pg():
    """(URL as the hostile role, admin connection to the hostile database); dropped after."""
    ensure("postgres")
    import psycopg

    base = _base("postgres")
    admin = psycopg.connect(base.format(user="postgres", db="test"), autocommit=True)
    admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    admin.execute(f"DROP ROLE IF EXISTS {ROLE}")
    admin.execute(f"CREATE DATABASE {DB} {PG['database']}")
    admin.execute(f"CREATE ROLE {ROLE} LOGIN")
    for name, value in PG["settings"].items():
        admin.execute(f"ALTER DATABASE {DB} SET {name} = {value}")
        admin.execute(f"ALTER ROLE {ROLE} SET {name} = {value}")
    con = psycopg.connect(base.format(user="postgres", db=DB), autocommit=True)
    con.execute(f"GRANT ALL ON SCHEMA public TO {ROLE}")
    con.execute("CREATE SCHEMA sqlsafe_evil")
    con.execute(f"GRANT USAGE ON SCHEMA sqlsafe_evil TO {ROLE}")
    con.execute("CREATE FUNCTION sqlsafe_evil.lower(text) RETURNS text LANGUAGE sql "
                "AS $$ SELECT 'pwned' $$")
    con.execute("CREATE TABLE public.sqlsafe_canary (secret TEXT)")
    con.execute("INSERT INTO public.sqlsafe_canary VALUES ('SECRET-canary-1'), ('SECRET-canary-2')")
    con.execute(f"GRANT ALL ON public.sqlsafe_canary TO {ROLE}")
    try:
        yield base.format(user=ROLE, db=DB), con
    finally:
        con.close()
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"DROP ROLE IF EXISTS {ROLE}")
        admin.close()


def _pg_canary_intact(con) -> None:
    assert con.execute("SELECT secret FROM public.sqlsafe_canary ORDER BY 1").fetchall() == CANARY


def test_pg_role_and_database_really_are_hostile(pg):
    import psycopg

    url, _ = pg
    with psycopg.connect(url) as con:
        got = con.execute("SHOW standard_conforming_strings").fetchone()[0]
        assert got == "off"
        assert con.execute("SELECT lower('ABC')").fetchone()[0] == "pwned"
        assert con.execute("SELECT (1::float8 / 3)::text").fetchone()[0] != repr(1 / 3)
        assert con.execute("SELECT E'a' || 'b\\'' || 'c'").fetchone()[0] == "ab'c"


def test_pg_conformance_corpus_under_hostile_settings(pg):
    url, con = pg
    assert not _corpus_mismatches("postgres", url)
    _pg_canary_intact(con)


def test_pg_injection_rule_file_fails_closed(pg):
    url, con = pg
    model, leads, events = _injection()
    want = run(model, leads, events, AS_OF, "python")
    got = run(model, leads, events, AS_OF, "postgres", url)
    assert got == want
    assert not any("SECRET" in str(v) for row in got for v in row)
    explain = DIALECTS["postgres"].run(Job(model, leads, events, AS_OF, "explain", url))
    labels = {r[4] for r in explain if r[2] == "rule"}
    assert labels == {r.label for r in model.rules}  # labels with \' intact
    _pg_canary_intact(con)


def test_pg_generated_sql_is_safe_without_the_pinned_session(pg):
    """Defence in depth: the query text alone, run in the hostile role's own session with
    standard_conforming_strings off (and its DateStyle, IntervalStyle, time zone) over the
    same data in the database, gives Python's rows. The search_path and extra_float_digits
    are the pinned session's to fix (a function call or a float read back), so they are
    reset here."""
    import psycopg

    url, con = pg
    model, leads, events = _injection()
    _copy_to_pg(con, model, leads, events, "inj_leads", "inj_events")
    want = run(model, leads, events, AS_OF, "python")
    job = Job(model, None, None, AS_OF, db=url)
    sql = job.sql(DIALECTS["postgres"], Tables("inj_leads", "inj_events"))
    with psycopg.connect(url) as raw:
        assert raw.execute("SHOW standard_conforming_strings").fetchone()[0] == "off"
        raw.execute("SET search_path = public")
        raw.execute("SET extra_float_digits = 1")
        rows = raw.execute(sql).fetchall()
    assert job.normalize(rows) == want
    _pg_canary_intact(con)


def _copy_to_pg(con, model, leads, events, lead_table: str, event_table: str) -> None:
    """The validated data as tables of the hostile database, owned by the test's role."""
    job = Job(model, leads, events, AS_OF)
    types = DIALECTS["postgres"].column_types
    for table, cols in zip((lead_table, event_table), job.input_columns()):
        con.execute(f'DROP TABLE IF EXISTS public."{table}"')
        decl = ", ".join(f"{DIALECTS['postgres'].quote(n)} {types[t]}" for n, t, _ in cols)
        con.execute(f'CREATE TABLE public."{table}" ({decl})')
        with con.cursor().copy(f'COPY public."{table}" FROM STDIN') as copy:
            for row in zip(*[vals for _, _, vals in cols]):
                copy.write_row(row)
        con.execute(f'GRANT ALL ON public."{table}" TO {ROLE}')


COLLATED = """
schema {
  lead  { key id  field country: text  field city: text  table "%(leads)s" }
  event { lead lead_id  time at  type kind  table "%(events)s" }
}
score s {
  rule "spain" +1 when country == "españa"
  rule "spain, plain" +2 when country == "espana"
  rule "trailing" +4 when city == "köln"
  rule "upper" +8 when city starts_with "straße"
  rule "visits" +16 per event visit
}
account by country { score = sum(s) }
"""
COLLATED_LEADS = [("a", "ESPAÑA", "KÖLN"), ("A", "Espana", "köln "), ("b", "españa", "STRAẞE 1"),
                  ("B", "España ", "Straße"), ("c", None, "ĀĒĪ")]
# keys that differ in case only are different leads (data.py trims keys: no spaces here)
COLLATED_EVENTS = [("a", "visit"), ("A", "VISIT"), ("A", "visit"), ("b", "visit"), ("B", "visit"),
                   ("B", "visit"), ("C", "visit")]


def _collated_data(model):
    s = model.schema
    leads = leads_from_records("leads", [s.lead_key, "country", "city"],
                               list(enumerate([[k, c or "", t] for k, c, t in COLLATED_LEADS], 2)), s)
    events = events_from_records("events", [s.event_lead, s.event_time, s.event_type],
                                 list(enumerate([[k, "2026-02-01T00:00:00Z", t]
                                                for k, t in COLLATED_EVENTS], 2)), s)
    return leads, events


@pytest.mark.parametrize("collation", PG["collations"])
def test_pg_in_database_runs_do_not_depend_on_column_collations(pg, collation):
    url, con = pg
    con.execute("CREATE COLLATION IF NOT EXISTS sqlsafe_ci (provider = icu, "
                "locale = 'und-u-ks-level1', deterministic = false)")
    leads_t, events_t = "coll_leads", "coll_events"
    model = compile_source(COLLATED % {"leads": leads_t, "events": events_t})
    leads, events = _collated_data(model)
    for t in (leads_t, events_t):
        con.execute(f"DROP TABLE IF EXISTS public.{t}")
    con.execute(f"CREATE TABLE public.{leads_t} (id TEXT COLLATE {collation}, "
                f"country TEXT COLLATE {collation}, city TEXT COLLATE {collation})")
    con.execute(f"CREATE TABLE public.{events_t} (lead_id TEXT COLLATE {collation}, "
                f"at TIMESTAMP, kind TEXT COLLATE {collation})")
    with con.cursor() as cur:
        cur.executemany(f"INSERT INTO public.{leads_t} VALUES (%s, %s, %s)", COLLATED_LEADS)
        cur.executemany(f"INSERT INTO public.{events_t} VALUES (%s, '2026-02-01 00:00:00', %s)",
                        COLLATED_EVENTS)
    for t in (leads_t, events_t):
        con.execute(f"GRANT ALL ON public.{t} TO {ROLE}")
    assert run(model, None, None, AS_OF, "postgres", url) == run(model, leads, events, AS_OF,
                                                                 "python")
    assert run_accounts(model, None, None, AS_OF, "postgres", url) == run_accounts(
        model, leads, events, AS_OF, "python")


# ---------------------------------------------------------------- MySQL / MariaDB
@pytest.fixture(scope="module")
def my():
    """(URL of the hostile database, admin connection to it); dropped after. MariaDB has no
    per-database or per-account sql_mode: the hostile mode is the session's in the tests
    that run the SQL text themselves."""
    ensure("mysql")
    import pymysql

    url = SERVERS["mysql"]
    admin = pymysql.connect(host=url.hostname, port=url.port, user="root", charset="utf8mb4",
                            autocommit=True)
    cur = admin.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB} {MY['database']}")
    cur.execute(f"USE {DB}")
    cur.execute("CREATE TABLE sqlsafe_canary (secret VARCHAR(40)) CHARACTER SET utf8mb4 "
                "COLLATE utf8mb4_general_ci")
    cur.execute("INSERT INTO sqlsafe_canary VALUES ('SECRET-canary-1'), ('SECRET-canary-2')")
    try:
        yield _base("mysql").format(user="root", db=DB), cur
    finally:
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.close()


def _my_canary_intact(cur) -> None:
    cur.execute("SELECT secret FROM sqlsafe_canary ORDER BY 1")
    assert list(cur.fetchall()) == CANARY


def test_mysql_conformance_corpus_in_a_latin1_database(my):
    url, cur = my
    assert not _corpus_mismatches("mysql", url)
    _my_canary_intact(cur)


def test_mysql_injection_rule_file_fails_closed(my):
    url, cur = my
    model, leads, events = _injection()
    want = run(model, leads, events, AS_OF, "python")
    got = run(model, leads, events, AS_OF, "mysql", url)
    assert got == want
    assert not any("SECRET" in str(v) for row in got for v in row)
    _my_canary_intact(cur)


def _fill_mysql(cur, model, leads, events, lead_table: str, event_table: str,
                text_type: str) -> None:
    job = Job(model, leads, events, AS_OF)
    types = {**DIALECTS["mysql"].column_types, "key": text_type.replace("TEXT", "VARCHAR(64)"),
             "text": text_type}
    for table, cols in zip((lead_table, event_table), job.input_columns()):
        cur.execute(f"DROP TABLE IF EXISTS `{table}`")
        decl = ", ".join(f"{DIALECTS['mysql'].quote(n)} {types[t]}" for n, t, _ in cols)
        cur.execute(f"CREATE TABLE `{table}` ({decl})")
        rows = list(zip(*[vals for _, _, vals in cols]))
        cur.executemany(f"INSERT INTO `{table}` VALUES ({', '.join(['%s'] * len(cols))})", rows)


def test_mysql_generated_sql_is_safe_under_a_hostile_sql_mode(my):
    """Defence in depth: the query text alone, in a session with NO_BACKSLASH_ESCAPES,
    ANSI_QUOTES, PIPES_AS_CONCAT and a case-insensitive connection collation, gives the
    pinned run's rows (the runner sets its own sql_mode)."""
    import pymysql

    url, cur = my
    model, leads, events = _injection()
    _fill_mysql(cur, model, leads, events, "inj_leads", "inj_events",
                "TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
    want = run(model, leads, events, AS_OF, "python")
    job = Job(model, None, None, AS_OF, db=url)
    sql = job.sql(DIALECTS["mysql"], Tables("inj_leads", "inj_events"))
    u = SERVERS["mysql"]
    raw = pymysql.connect(host=u.hostname, port=u.port, user="root", database=DB,
                          charset="utf8mb4")
    try:
        rc = raw.cursor()
        rc.execute(f"SET SESSION sql_mode = '{MY['sql_mode']}'")
        rc.execute(f"SET NAMES {MY['names']}")
        rc.execute(sql)
        rows = job.normalize(rc.fetchall())
    finally:
        raw.close()
    assert rows == want
    _my_canary_intact(cur)


@pytest.mark.parametrize("text_type", MY["text_types"])
def test_mysql_in_database_runs_do_not_depend_on_column_collations(my, text_type):
    url, cur = my
    leads_t, events_t = "coll_leads", "coll_events"
    model = compile_source(COLLATED % {"leads": leads_t, "events": events_t})
    leads, events = _collated_data(model)
    if "latin1" in text_type:  # latin1 holds no ẞ or Ā: those leads are left out
        keep = [r for r in COLLATED_LEADS if all(v is None or v.encode("latin1", "ignore").decode(
            "latin1") == v for v in r)]
        leads = leads_from_records("leads", [model.schema.lead_key, "country", "city"],
                                   list(enumerate([[k, c or "", t] for k, c, t in keep], 2)),
                                   model.schema)
    _fill_mysql(cur, model, leads, events, leads_t, events_t, text_type)
    assert run(model, None, None, AS_OF, "mysql", url) == run(model, leads, events, AS_OF,
                                                              "python")
    assert run_accounts(model, None, None, AS_OF, "mysql", url) == run_accounts(
        model, leads, events, AS_OF, "python")


# ---------------------------------------------------------------- DuckDB and SQLite files
@pytest.mark.parametrize("collation", SERVERS_TOML["duckdb"]["collations"])
def test_duckdb_file_tables_do_not_depend_on_column_collations(tmp_path, collation):
    import duckdb

    db = str(tmp_path / "crm.duckdb")
    model = compile_source(COLLATED % {"leads": "coll_leads", "events": "coll_events"})
    leads, events = _collated_data(model)
    con = duckdb.connect(db)
    try:
        text = f"VARCHAR COLLATE {collation}"
        con.execute(f"CREATE TABLE coll_leads (id {text}, country {text}, city {text})")
        con.execute(f'CREATE TABLE coll_events (lead_id {text}, "at" TIMESTAMP, kind {text})')
        con.executemany("INSERT INTO coll_leads VALUES (?, ?, ?)", COLLATED_LEADS)
        con.executemany("INSERT INTO coll_events VALUES (?, TIMESTAMP '2026-02-01', ?)",
                        COLLATED_EVENTS)
    except duckdb.CatalogException as err:  # "de" needs the ICU extension
        pytest.skip(f"DuckDB here has no collation {collation}: {err}")
    finally:
        con.close()
    assert run(model, None, None, AS_OF, "duckdb", db) == run(model, leads, events, AS_OF,
                                                              "python")
    assert run_accounts(model, None, None, AS_OF, "duckdb", db) == run_accounts(
        model, leads, events, AS_OF, "python")


@pytest.mark.parametrize("collation", SERVERS_TOML["sqlite"]["collations"])
def test_sqlite_file_tables_do_not_depend_on_column_collations(tmp_path, collation):
    import sqlite3

    db = str(tmp_path / "crm.sqlite")
    model = compile_source(COLLATED % {"leads": "coll_leads", "events": "coll_events"})
    leads, events = _collated_data(model)
    con = sqlite3.connect(db)
    text = f"TEXT COLLATE {collation}"
    con.execute(f"CREATE TABLE coll_leads (id {text}, country {text}, city {text})")
    con.execute(f"CREATE TABLE coll_events (lead_id {text}, at TEXT, kind {text})")
    con.executemany("INSERT INTO coll_leads VALUES (?, ?, ?)", COLLATED_LEADS)
    con.executemany("INSERT INTO coll_events VALUES (?, '2026-02-01 00:00:00.000000', ?)",
                    COLLATED_EVENTS)
    con.commit()
    con.close()
    assert run(model, None, None, AS_OF, "sqlite", db) == run(model, leads, events, AS_OF,
                                                              "python")
    assert run_accounts(model, None, None, AS_OF, "sqlite", db) == run_accounts(
        model, leads, events, AS_OF, "python")


# ---------------------------------------------------------------- a server that cannot fold
@pytest.mark.parametrize("engine, needs", [("postgres", "built with ICU"),
                                           ("mysql", "MariaDB 10.10 or later")])
def test_a_server_without_the_folding_collation_is_a_clear_error(monkeypatch, engine, needs):
    """A PostgreSQL without ICU, or a MariaDB before 10.10 (or MySQL), has no collation the
    runner lower-cases under: the run stops with the server's message and what it needs,
    not an internal error. (The collation named is one no server has.)"""
    import importlib

    from leadscore.runtime.warehouses import EngineError

    ensure(engine)
    module = importlib.import_module(f"leadscore.engines.{engine}")
    monkeypatch.setattr(module, "FOLD_COLLATION", "sqlsafe_no_such_collation")
    model, leads, events = _injection()
    with pytest.raises(EngineError, match=f"sqlsafe_no_such_collation.*{needs}"):
        run(model, leads, events, AS_OF, engine)
