"""Scores over time: replay, run --history, and what `history` and `changes` say.

The acceptance test of issue 15: replaying examples/reference.score weekly from 2026-01-04 to
2026-03-01 gives snapshots equal to `leadscore run --as-of` at each date, and `history` and
`changes` (SQL in the database, and runtime/history.py's Python) equal a computation written
here from those runs, on DuckDB, SQLite, PostgreSQL and MariaDB.
"""

import json
import sqlite3
import uuid
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from conftest import ROOT
from engines import ensure
from leadscore.cli import main
from leadscore.compiler import compile_file, compile_source
from leadscore.runtime import history as H
from leadscore.runtime.data import parse_timestamp
from leadscore.runtime.runner import score_files

MODEL = ROOT / "examples" / "reference.score"
LEADS = ROOT / "examples" / "data" / "leads.csv"
EVENTS = ROOT / "examples" / "data" / "events.csv"
WEEKLY = [f"2026-{d}T00:00:00Z" for d in ("01-04", "01-11", "01-18", "01-25", "02-01", "02-08",
                                          "02-15", "02-22", "03-01")]
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MY_URL = "mysql://root@127.0.0.1:3306/test"


class Place:
    """Where a test's history lives: an engine, its --db, and a fresh table name there."""

    def __init__(self, engine: str, db: str, table: str):
        self.engine, self.db, self.table = engine, db, table

    def args(self) -> list[str]:
        return ["--engine", self.engine, "--db", self.db, "--history", self.table]


@pytest.fixture(params=["duckdb", "sqlite", "postgres", "mysql"])
def place(request, tmp_path):
    engine = request.param
    name = f"history_{uuid.uuid4().hex[:10]}"
    if engine == "duckdb":
        yield Place(engine, str(tmp_path / "h.duckdb"), "scores")
    elif engine == "sqlite":
        yield Place(engine, str(tmp_path / "h.sqlite"), "scores")
    elif engine == "postgres":
        ensure("postgres")
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute(f'CREATE SCHEMA "{name}"')
        try:
            yield Place(engine, PG_URL, f"{name}.scores")
        finally:
            with psycopg.connect(PG_URL, autocommit=True) as con:
                con.execute(f'DROP SCHEMA "{name}" CASCADE')
    else:
        ensure("mysql")
        import pymysql

        con = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
        con.cursor().execute(f"CREATE DATABASE `{name}`")
        try:
            yield Place(engine, MY_URL, f"{name}.scores")
        finally:
            con.cursor().execute(f"DROP DATABASE `{name}`")
            con.close()


def leadscore(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result.output


# ---------------------------------------------------------------- an independent computation
def lists(tiers: dict, segment: str) -> list[str]:
    return tiers[segment] if segment in tiers else tiers["default"]


def expected_history(tiers: dict, snapshots: dict[int, dict[str, tuple[str, str]]]) -> list[tuple]:
    """Per lead from {as_of: {key: (segment, tier)}}: reached_<tier> for every tier, the
    current tier and tier_since, written the plain way."""
    names = H.tier_order(tiers)
    out = []
    for key in sorted({k for snap in snapshots.values() for k in snap}):
        seen = [(t, snap[key]) for t, snap in sorted(snapshots.items()) if key in snap]
        reached = {}
        for name in names:
            for t, (segment, tier) in seen:
                order = lists(tiers, segment)
                if name in order and tier in order and order.index(tier) >= order.index(name):
                    reached[name] = t
                    break
        current = seen[-1][1][1]
        since = seen[-1][0]
        for t, (_, tier) in reversed(seen):
            if tier != current:
                break
            since = t
        out.append((key, *(reached.get(n) for n in names), current, since))
    return out


def expected_changes(snapshots: dict[int, dict[str, tuple[str, str]]], since=None) -> list[tuple]:
    out = []
    times = sorted(snapshots)
    for key in {k for snap in snapshots.values() for k in snap}:
        mine = [(t, snapshots[t][key][1]) for t in times if key in snapshots[t]]
        for (_, a), (t, b) in zip(mine, mine[1:]):
            if a != b and (since is None or t > since):
                out.append((key, a, b, t))
    return sorted(out, key=lambda r: (r[3], r[0]))


@pytest.fixture(scope="module")
def runs():
    """`leadscore run --as-of` (the default engine, DuckDB on the files) at each weekly date."""
    model = compile_file(str(MODEL))
    return model, {parse_timestamp(t): score_files(model, LEADS, EVENTS, parse_timestamp(t)).rows
                   for t in WEEKLY}


# ---------------------------------------------------------------- the acceptance test
def test_replay_equals_run_and_history_equals_python(place, runs, tmp_path):
    model, by_date = runs
    out = leadscore("replay", MODEL, "--leads", LEADS, "--events", EVENTS, "--from", WEEKLY[0],
                    "--to", WEEKLY[-1], "--every", "7d", *place.args())
    assert f"wrote 2700 rows in 9 snapshots to history {place.table}" in out
    h = H.read_history(place.engine, place.db, place.table)
    assert h.key == "id" and h.tiers == model.tiers
    assert h.columns == ["as_of", "id", *(c for c, _ in model.outputs)]
    got: dict[int, list[tuple]] = {}
    for row in h.rows:
        got.setdefault(row[0], []).append(row[1:])
    assert got == by_date  # every snapshot is the run at its date, row for row

    snapshots = {t: {r[0]: (r[4], r[5]) for r in rows} for t, rows in by_date.items()}
    want = expected_history(model.tiers, snapshots)
    assert H.lead_history(h) == H.history_sql(place.engine, place.db, place.table)
    assert H.lead_history(h)[1] == want
    assert any(r[1] != r[-1] for r in want)  # leads that moved up: tier_since is not the first
    since = parse_timestamp(WEEKLY[4])
    for cut in (None, since):
        sql = H.changes_sql(place.engine, place.db, place.table, cut)
        assert sql == H.tier_changes(h, cut)
        assert sql[1] == expected_changes(snapshots, cut)
    assert len(H.tier_changes(h)[1]) > len(H.tier_changes(h, since)[1]) > 0

    # the commands write what the functions compute
    leadscore("history", *place.args()[2:], "--engine", place.engine,
              "--out", tmp_path / "h.json")
    rows = json.loads((tmp_path / "h.json").read_text())
    assert rows[0] == dict(zip(want and H.history_columns("id", model.tiers),
                               [H.iso(v) if isinstance(v, int) else v for v in want[0]]))
    leadscore("changes", *place.args()[2:], "--engine", place.engine, "--since", WEEKLY[4],
              "--out", tmp_path / "c.csv")
    lines = (tmp_path / "c.csv").read_text().splitlines()
    assert lines[0] == "id,from_tier,to_tier,as_of"
    assert len(lines) == 1 + len(expected_changes(snapshots, since))


def test_rerun_replaces_only_its_snapshot(place, tmp_path):
    few = tmp_path / "few.csv"
    few.write_text("\n".join(LEADS.read_text().splitlines()[:11]) + "\n")
    base = ["run", MODEL, "--events", EVENTS, *place.args(), "--out", tmp_path / "o.csv"]
    leadscore(*base, "--leads", LEADS, "--as-of", WEEKLY[0])
    leadscore(*base, "--leads", LEADS, "--as-of", WEEKLY[1])
    out = leadscore(*base, "--leads", few, "--as-of", WEEKLY[1])  # the same as_of again
    assert f"wrote 10 rows to history {place.table} as of {WEEKLY[1]}" in out
    h = H.read_history(place.engine, place.db, place.table)
    counts = {}
    for r in h.rows:
        counts[r[0]] = counts.get(r[0], 0) + 1
    assert counts == {parse_timestamp(WEEKLY[0]): 300, parse_timestamp(WEEKLY[1]): 10}


def test_a_table_of_another_shape_is_refused(place, tmp_path):
    other = compile_source("""
schema { lead { key id  field industry: text } }
score s { rule "saas" +10 when industry == "saas" }
tiers { cold; hot at 10 }
""")
    assert other.outputs != compile_file(str(MODEL)).outputs
    leadscore("run", MODEL, "--leads", LEADS, "--events", EVENTS, "--as-of", WEEKLY[0],
              *place.args(), "--out", tmp_path / "o.csv")
    from leadscore.runtime.data import read_leads
    from leadscore.runtime.engines import run
    from leadscore.runtime.warehouses import EngineError

    leads = read_leads(LEADS, other.schema)
    with pytest.raises(EngineError, match=r"columns do not fit the model \(it lacks s; the "
                                          r"model has no fit, engagement"):
        run(other, leads, None, parse_timestamp(WEEKLY[1]), place.engine, place.db,
            history=place.table)
    h = H.read_history(place.engine, place.db, place.table)  # untouched
    assert len(h.rows) == 300


# ---------------------------------------------------------------- the commands' edges
def test_history_names_and_options_are_checked(tmp_path):
    db = str(tmp_path / "h.duckdb")
    common = [MODEL, "--leads", LEADS, "--events", EVENTS]
    out = leadscore("run", *common, "--db", db, "--history", "a..b", code=2)
    assert "has an empty part" in out
    out = leadscore("run", *common, "--history", "scores", code=2)
    assert "--history writes a table of the --db file" in out
    out = leadscore("run", *common, "--engine", "python", "--history", "scores", code=2)
    assert "--history writes to a database" in out
    out = leadscore("run", *common, "--db", db, "--into", "t", "--history", "scores", code=2)
    assert "--into and --history: give one" in out
    out = leadscore("replay", *common, "--from", "2026-03-01", "--to", "2026-01-01", "--db", db,
                    "--history", "scores", code=2)
    assert "--to comes before --from" in out
    out = leadscore("replay", *common, "--from", "2026-01-01", "--to", "2026-03-01",
                    "--every", "7 days", "--db", db, "--history", "scores", code=2)
    assert "write a whole number and a unit" in out
    out = leadscore("replay", *common, "--from", "2000-01-01", "--to", "2026-03-01",
                    "--every", "1d", "--db", db, "--history", "scores", code=2)
    assert "at most 1000 in one replay" in out
    out = leadscore("history", "--db", db, "--history", "scores", code=1)
    assert "cannot read the history table scores" in out
    out = leadscore("changes", "--db", "redis://x", "--history", "scores", code=2)
    assert "no database URL leadscore reads" in out
    assert not Path(db).exists() or duckdb.connect(db).execute("SHOW TABLES").fetchall() == []


def test_terminal_shows_keys_escaped(tmp_path):
    model = tmp_path / "m.score"
    model.write_text('schema { lead { key id  field plan: text } }\n'
                     'score s { rule "paid" +10 when plan == "pro" }\n'
                     'tiers { cold; hot at 10 }\n')
    db = str(tmp_path / "h.sqlite")
    for as_of, plan in (("2026-01-01", "free"), ("2026-02-01", "pro")):
        leads = tmp_path / "leads.csv"
        leads.write_text(f"id,plan\n\x1b[31mevil,{plan}\n")
        leadscore("run", model, "--leads", leads, "--as-of", as_of, "--engine", "sqlite", "--db", db,
                  "--history", "scores", "--out", tmp_path / "o.csv")
    out = leadscore("changes", "--db", db, "--history", "scores")
    assert "\x1b" not in out and "\\x1b[31mevil" in out and "cold" in out and "hot" in out
    out = leadscore("history", "--db", db, "--history", "scores")
    assert "\x1b" not in out and "2026-02-01" in out
    con = sqlite3.connect(db)
    assert con.execute("SELECT segment, tier, rank FROM scores_tiers ORDER BY rank").fetchall() == [
        ("default", "cold", 1.0), ("default", "hot", 2.0)]


def test_a_model_without_tiers_has_no_tier_history(tmp_path):
    model = tmp_path / "m.score"
    model.write_text('schema { lead { key id  field plan: text } }\n'
                     'score s { rule "paid" +10 when plan == "pro" }\n')
    leads = tmp_path / "leads.csv"
    leads.write_text("id,plan\na,pro\n")
    db = str(tmp_path / "h.duckdb")
    leadscore("run", model, "--leads", leads, "--db", db, "--history", "scores", "--as-of",
              "2026-01-01", "--out", tmp_path / "o.csv")
    out = leadscore("history", "--db", db, "--history", "scores", code=1)
    assert "has no tiers" in out


# ---------------------------------------------------------------- sticky tiers read the history
def test_replay_feeds_sticky_tiers_the_previous_snapshot(place, tmp_path):
    """Each as_of of a replay reads each lead's tier in its latest earlier snapshot: the same
    rows as the Python evaluator given, week by week, the tiers it gave the week before."""
    from leadscore.compiler.ir import PREVIOUS_TIER
    from leadscore.runtime.data import Leads, read_events, read_leads
    from leadscore.runtime.engines import run

    text = MODEL.read_text().replace("mql at 100 require", "mql at 100 sticky require").replace(
        "mql at 140 require", "mql at 140 sticky require")
    sticky = tmp_path / "sticky.score"
    sticky.write_text(text)
    model = compile_file(str(sticky))
    leads, events = read_leads(LEADS, model.schema), read_events(EVENTS, model.schema)
    tier = [c for c, _ in model.outputs].index("tier") + 1
    previous: dict[str, str] = {}
    want, plain = {}, {}
    for t in map(parse_timestamp, WEEKLY):
        given = Leads(list(leads.keys), {**leads.columns, PREVIOUS_TIER: [
            previous.get(k) for k in leads.keys]}, list(leads.rows))
        want[t] = run(model, given, events, t, "python")
        plain[t] = run(model, leads, events, t, "python")
        previous = {r[0]: r[tier] for r in want[t]}
    assert want != plain  # stickiness held some lead at mql that fell below it

    leadscore("replay", sticky, "--leads", LEADS, "--events", EVENTS, "--from", WEEKLY[0],
              "--to", WEEKLY[-1], *place.args())
    h = H.read_history(place.engine, place.db, place.table)
    got: dict[int, list[tuple]] = {}
    for row in h.rows:
        got.setdefault(row[0], []).append(row[1:])
    assert got == want

    # a run at the next week reads the replayed history, and rerunning a week reads the one before
    nxt = parse_timestamp("2026-03-08T00:00:00Z")
    given = Leads(list(leads.keys), {**leads.columns, PREVIOUS_TIER: [
        previous.get(k) for k in leads.keys]}, list(leads.rows))
    leadscore("run", sticky, "--leads", LEADS, "--events", EVENTS, "--as-of", "2026-03-08",
              *place.args(), "--out", tmp_path / "o.csv")
    leadscore("run", sticky, "--leads", LEADS, "--events", EVENTS, "--as-of", WEEKLY[-1],
              *place.args(), "--out", tmp_path / "o.csv")
    h = H.read_history(place.engine, place.db, place.table)
    assert [r[1:] for r in h.rows if r[0] == nxt] == run(model, given, events, nxt, "python")
    assert [r[1:] for r in h.rows if r[0] == parse_timestamp(WEEKLY[-1])] == want[
        parse_timestamp(WEEKLY[-1])]


def test_runs_at_once_take_turns(place, tmp_path):
    """Three runs into one history at once: two of the same as_of (300 leads and 10), one of
    another. All succeed; the shared snapshot is one run's rows, whole, never both mixed."""
    import os
    import subprocess
    import sys

    few = tmp_path / "few.csv"
    few.write_text("\n".join(LEADS.read_text().splitlines()[:11]) + "\n")
    procs = [subprocess.Popen(
        [sys.executable, "-m", "leadscore", "run", str(MODEL), "--leads", str(leads), "--events",
         str(EVENTS), "--as-of", as_of, *place.args(), "--out", str(tmp_path / f"o{i}.csv")],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
        for i, (leads, as_of) in enumerate(((LEADS, WEEKLY[0]), (few, WEEKLY[0]),
                                            (LEADS, WEEKLY[1])))]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    counts: dict[int, int] = {}
    for r in H.read_history(place.engine, place.db, place.table).rows:
        counts[r[0]] = counts.get(r[0], 0) + 1
    assert counts[parse_timestamp(WEEKLY[0])] in (300, 10)
    assert counts[parse_timestamp(WEEKLY[1])] == 300
