"""`leadscore funnel`: funnel velocity from a history table, on DuckDB, SQLite, PostgreSQL and
MySQL, against an independent computation over the rows `leadscore run --as-of` gives at each
date (at-or-above, cohorts, days and nearest-rank percentiles all recounted here)."""

import csv
import json
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from conftest import ROOT
from engines import ensure
from leadscore.analytics.funnel import funnel, nearest_rank, read_outcome
from leadscore.cli import main
from leadscore.compiler import compile_file
from leadscore.runtime.history import lead_history, read_history

MODEL = ROOT / "examples" / "reference.score"
LEADS = ROOT / "examples" / "calibration" / "backtest_leads.csv"
EVENTS = ROOT / "examples" / "data" / "events.csv"
FIRST = datetime(2025, 11, 2, tzinfo=UTC)
AS_OFS = [FIRST + timedelta(weeks=i) for i in range(18)]  # weekly to 2026-03-01
DAY = 86_400_000_000
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306"
OUTCOME = ["--leads", str(LEADS), "--outcome", "won", "--outcome-time", "won_at"]


def us(t):
    return int((t - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def invoke(args, code=0):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    return result.output


# ---------------------------------------------------------------- percentiles
def brute_percentile(values, p):
    """The smallest value with at least p% of the values at or below it."""
    return min(v for v in values if Fraction(sum(x <= v for x in values), len(values)) >= Fraction(p, 100))


@given(st.lists(st.integers(-50, 50), min_size=1, max_size=60), st.integers(1, 100))
def test_nearest_rank_is_the_smallest_value_covering_the_share(values, p):
    assert nearest_rank([float(v) for v in values], p) == brute_percentile(values, p)


def test_nearest_rank_examples():
    assert nearest_rank([], 50) is None
    assert nearest_rank([7.0], 90) == 7.0
    assert nearest_rank([1.0, 2.0, 3.0, 4.0], 50) == 2.0  # the lower middle value
    assert nearest_rank([4.0, 1.0, 3.0, 2.0, 5.0], 50) == 3.0
    # 0.9 * 30 is 27.000000000000004 in floats: the 27th value, not the 28th
    assert nearest_rank([float(i) for i in range(1, 31)], 90) == 27.0
    assert nearest_rank([float(i) for i in range(1, 11)], 90) == 9.0


# ---------------------------------------------------------------- the independent funnel
@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    """as_of (µs) -> [(key, segment, tier)] from `leadscore run --as-of` at each date."""
    tmp = tmp_path_factory.mktemp("funnel")
    out = {}
    for t in AS_OFS:
        path = tmp / f"{t:%Y%m%d}.csv"
        invoke(["run", str(MODEL), "--leads", str(LEADS), "--events", str(EVENTS),
                "--as-of", t.strftime("%Y-%m-%dT%H:%M:%SZ"), "--out", str(path)])
        with path.open(newline="", encoding="utf-8") as f:
            out[us(t)] = [(r["id"], r["segment"] or "default", r["tier"]) for r in csv.DictReader(f)]
    return out


def outcomes():
    with LEADS.open(newline="", encoding="utf-8") as f:
        return {r["id"]: us(when(r["won_at"])) if r["won"] == "yes" else None
                for r in csv.DictReader(f)}


def percentile(values, p):
    s = sorted(values)
    return s[max(1, -(-p * len(s) // 100)) - 1] if s else None


def stage_rows(stages, journeys):
    """journeys: per lead, stage -> reached time, or None for a stage not reached; an
    untimed but reached stage maps to the marker `True`."""
    rows = []
    for i, stage in enumerate(stages):
        got = [j for j in journeys if j[stage] is not None]
        row = {"stage": stage, "reached": len(got), "share": len(got) / len(journeys)}
        if i + 1 < len(stages):
            nxt = stages[i + 1]
            both = [j for j in got if j[nxt] is not None]
            days = [(j[nxt] - j[stage]) / DAY for j in both if j[nxt] is not True
                    and j[stage] is not True and j[nxt] >= j[stage]]
            row.update({"next": nxt, "reached_next": len(both),
                        "next_share": len(both) / len(got) if got else None, "timed": len(days),
                        "p50_days": percentile(days, 50), "p90_days": percentile(days, 90)})
        rows.append(row)
    return rows


def expected(snapshots, won=None):
    model = compile_file(str(MODEL))
    tiers = model.tiers
    order = []
    for names in tiers.values():
        order += [t for t in names if t not in order]
    reached = {}
    for as_of in sorted(snapshots):
        for key, segment, tier in snapshots[as_of]:
            names = tiers.get(segment, tiers["default"])
            lead = reached.setdefault(key, {t: None for t in order})
            if tier in names:
                for t in names[:names.index(tier) + 1]:
                    if lead[t] is None:
                        lead[t] = as_of
    entered = [j for j in reached.values() if j[order[0]] is not None]
    stages = list(order)
    if won is not None:
        stages.append("won")
        keys = [k for k, j in reached.items() if j[order[0]] is not None]
        for k, j in zip(keys, entered):
            j["won"] = won.get(k)
    cohorts = {}
    for j in entered:
        if j[order[1]] is not None:
            month = datetime.fromtimestamp(j[order[1]] / 1e6, UTC).strftime("%Y-%m")
            cohorts.setdefault(month, []).append(j)
    return {"entered": len(entered), "never": len(reached) - len(entered),
            "all": stage_rows(stages, entered),
            "cohorts": [{"cohort": c, "leads": len(js), "stages": stage_rows(stages[1:], js)}
                        for c, js in sorted(cohorts.items())]}


def same(report, want):
    assert report["counts"]["entered"] == want["entered"]
    assert report["counts"]["never_in_a_tier"] == want["never"]
    assert report["all"] == want["all"]
    assert report["cohorts"] == want["cohorts"]


# ---------------------------------------------------------------- histories on every engine
def write_history(engine, db, name):
    """The weekly history, written by `leadscore replay`."""
    invoke(["replay", str(MODEL), "--leads", str(LEADS), "--events", str(EVENTS), "--from",
            AS_OFS[0].strftime("%Y-%m-%d"), "--to", AS_OFS[-1].strftime("%Y-%m-%d"), "--every",
            "7d", "--engine", engine, "--db", db, "--history", name])


@pytest.fixture(params=["duckdb", "sqlite", "postgres", "mysql"])
def history(request, tmp_path):
    """(engine, --db, --history) of a filled history table; server schemas dropped after."""
    engine = request.param
    tag = f"funnel_{uuid.uuid4().hex[:8]}"
    if engine in ("duckdb", "sqlite"):
        db = str(tmp_path / f"h.{engine}")
        name = "scores" if engine == "sqlite" else "main.scores"
        write_history(engine, db, name)
        yield engine, db, name
        return
    ensure(engine)
    if engine == "postgres":
        import psycopg

        admin = psycopg.connect(PG_URL, autocommit=True)
        admin.execute(f'CREATE SCHEMA "{tag}"')
        db, drop = PG_URL, f'DROP SCHEMA "{tag}" CASCADE'
    else:
        import pymysql

        admin = pymysql.connect(host="127.0.0.1", user="root", password="", autocommit=True)
        admin.cursor().execute(f"CREATE DATABASE `{tag}`")
        db, drop = f"{MYSQL_URL}/{tag}", f"DROP DATABASE `{tag}`"
    try:
        write_history(engine, db, f"{tag}.scores")
        yield engine, db, f"{tag}.scores"
    finally:
        admin.cursor().execute(drop)
        admin.close()


def test_funnel_equals_an_independent_computation(history, snapshots):
    engine, db, name = history
    report = json.loads(invoke(["funnel", "--engine", engine, "--db", db, "--history", name,
                                "--format", "json", *OUTCOME]))
    assert report["stages"] == ["cold", "nurture", "mql", "sql", "won"]
    assert report["cohort_stage"] == "nurture"
    assert report["percentile_method"] == "nearest rank"
    same(report, expected(snapshots, outcomes()))
    rows = {s["stage"]: s for s in report["all"]}
    assert rows["cold"]["reached"] > rows["nurture"]["reached"] > rows["mql"]["reached"] > 0
    assert rows["mql"]["timed"] > 0 and rows["sql"]["reached_next"] > 0
    # the database's answer is the Python one over the same rows (runtime/history.py)
    columns, lead_rows = lead_history(read_history(engine, db, name))
    assert funnel(columns, lead_rows, read_outcome(LEADS, "id", "won", "won_at"), name) == report


def test_funnel_without_an_outcome(tmp_path, snapshots):
    db = str(tmp_path / "h.duckdb")
    write_history("duckdb", db, "main.scores")
    report = json.loads(invoke(["funnel", "--db", db, "--history", "main.scores",
                                "--format", "json"]))
    assert report["stages"] == ["cold", "nurture", "mql", "sql"] and report["outcome"] is None
    same(report, expected(snapshots))
    assert "next" not in report["all"][-1]


def test_an_outcome_without_its_time_counts_leads_but_no_days(tmp_path, snapshots):
    db = str(tmp_path / "h.duckdb")
    write_history("duckdb", db, "main.scores")
    report = json.loads(invoke(["funnel", "--db", db, "--history", "main.scores", "--format",
                                "json", "--leads", str(LEADS), "--outcome", "won"]))
    sql = report["all"][3]
    assert sql["next"] == "won" and sql["reached_next"] > 0
    assert (sql["timed"], sql["p50_days"], sql["p90_days"]) == (0, None, None)
    won = expected(snapshots, outcomes())["all"][4]["reached"]
    assert report["all"][4]["reached"] == report["counts"]["converted"] == won > 0


def test_leads_missing_from_the_outcome_file_are_counted(tmp_path):
    db = str(tmp_path / "h.duckdb")
    write_history("duckdb", db, "main.scores")
    part = tmp_path / "some.csv"
    with LEADS.open(encoding="utf-8") as f:
        lines = f.readlines()
    part.write_text("".join(lines[:101]) + "L0101,,,,,,,,,maybe,\n", encoding="utf-8")
    report = json.loads(invoke(["funnel", "--db", db, "--history", "main.scores", "--format",
                                "json", "--leads", str(part), "--outcome", "won",
                                "--outcome-time", "won_at"]))
    c = report["counts"]
    assert c["outcome_rows"] == 101 and c["outcome_problems"] == 1
    entered_in_file = c["entered"] - c["without_outcome"]
    assert 0 < entered_in_file <= 100


def test_text_and_html(tmp_path):
    db = str(tmp_path / "h.duckdb")
    write_history("duckdb", db, "main.scores")
    text = invoke(["funnel", "--db", db, "--history", "main.scores", *OUTCOME])
    assert "all leads" in text and "per cohort (the month a lead first reached nurture)" in text
    assert "median days" in text and "p90 days" in text
    page = tmp_path / "f.html"
    invoke(["funnel", "--db", db, "--history", "main.scores", *OUTCOME, "--format", "html",
            "--out", str(page)])
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "<script" not in html
    assert "Funnel velocity" in html and "Per cohort" in html
    out = tmp_path / "f.json"
    invoke(["funnel", "--db", db, "--history", "main.scores", "--format", "json", "--out",
            str(out)])
    assert json.loads(out.read_text(encoding="utf-8"))["stages"][0] == "cold"


@pytest.mark.parametrize("args, message", [
    (["--db", "nowhere.duckdb", "--history", "main.scores"], "is not a database file"),
    (["--db", "{db}", "--history", "main.nothing"], "cannot read the history table main.nothing"),
    (["--db", "{db}", "--history", "main.scores", "--outcome", "won"],
     "--outcome and --leads go together"),
    (["--db", "{db}", "--history", "main.scores", "--leads", str(LEADS), "--outcome", "wonn"],
     "no outcome column 'wonn'"),
    (["--db", "{db}", "--history", "a.b.c.d"], "--history"),
])
def test_bad_input_is_a_clear_error(tmp_path, args, message):
    db = str(tmp_path / "h.duckdb")
    write_history("duckdb", db, "main.scores")
    result = CliRunner().invoke(main, ["funnel", *(a.format(db=db) for a in args)])
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output


# ---------------------------------------------------------------- the definitions on a small case
def test_a_hand_counted_funnel():
    d = DAY
    jan, feb = us(datetime(2026, 1, 5, tzinfo=UTC)), us(datetime(2026, 2, 2, tzinfo=UTC))
    columns = ["id", "reached_cold", "reached_mql", "reached_sql", "tier", "tier_since"]
    rows = [("a", jan, jan + 7 * d, jan + 21 * d, "sql", 0),   # up in 7, then 14 days
            ("b", jan, jan + 14 * d, None, "mql", 0),          # stays an mql
            ("c", jan, feb, feb, "sql", 0),                    # jumps two tiers at once
            ("d", jan, None, None, "cold", 0),                 # never rises: in no cohort
            ("e", None, None, None, "disqualified", 0)]        # never holds a tier
    report = funnel(columns, rows, None, "h")
    assert report["counts"] == {"leads": 5, "entered": 4, "never_in_a_tier": 1}
    cold, mql, sql = report["all"]
    assert (cold["reached"], cold["reached_next"], cold["next_share"]) == (4, 3, 0.75)
    assert (cold["p50_days"], cold["p90_days"]) == (14.0, 28.0)  # of 7, 14, 28
    assert (mql["reached"], mql["reached_next"], mql["timed"]) == (3, 2, 2)
    assert (mql["p50_days"], mql["p90_days"]) == (0.0, 14.0)  # of 14 and 0
    assert sql == {"stage": "sql", "reached": 2, "share": 0.5}
    assert report["cohort_stage"] == "mql"
    assert [(g["cohort"], g["leads"]) for g in report["cohorts"]] == [("2026-01", 2), ("2026-02", 1)]
    assert [s["stage"] for s in report["cohorts"][0]["stages"]] == ["mql", "sql"]


def test_a_hand_counted_outcome_stage():
    from leadscore.analytics.funnel import Outcome

    d = DAY
    jan = us(datetime(2026, 1, 5, tzinfo=UTC))
    columns = ["id", "reached_cold", "reached_sql", "tier", "tier_since"]
    rows = [("a", jan, jan + 7 * d, "sql", 0), ("b", jan, jan + 7 * d, "sql", 0),
            ("c", jan, None, "cold", 0), ("d", jan, None, "cold", 0)]
    won = Outcome("won", {"a": (1, jan + 10 * d),   # 3 days after reaching sql
                          "b": (1, jan + 2 * d),    # won before it was an sql: not timed
                          "c": (1, None),           # won, time unknown
                          "d": (0, None)}, rows=4, problems=0, time_problems=1)
    report = funnel(columns, rows, won, "h")
    cold, sql, last = report["all"]
    assert report["stages"] == ["cold", "sql", "won"] and report["counts"]["converted"] == 3
    assert (sql["reached_next"], sql["next_share"], sql["timed"]) == (2, 1.0, 1)
    assert (sql["p50_days"], sql["p90_days"]) == (3.0, 3.0)
    assert last == {"stage": "won", "reached": 3, "share": 0.75}


def test_an_outcome_named_like_a_tier_is_refused(tmp_path):
    db = str(tmp_path / "h.duckdb")
    write_history("duckdb", db, "main.scores")
    leads = tmp_path / "l.csv"
    leads.write_text("id,sql\nL0001,yes\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["funnel", "--db", db, "--history", "main.scores",
                                       "--leads", str(leads), "--outcome", "sql"])
    assert result.exit_code == 1
    assert "the outcome column 'sql' has the name of a tier of main.scores" in result.output
