"""`leadscore calibrate --from/--to/--every/--horizon/--outcome-time`: the back-test on the bundled
examples/calibration/backtest_leads.csv, every figure recomputed independently: the rows come
from `leadscore run --as-of` at each date, the outcome rule is applied here in plain Python, and
AUC, lift and thresholds are counted by brute force, not with analytics.metrics."""

import csv
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from conftest import ROOT
from leadscore.cli import main

MODEL = ROOT / "examples" / "reference.score"
LEADS = ROOT / "examples" / "calibration" / "backtest_leads.csv"
EVENTS = ROOT / "examples" / "data" / "events.csv"
START, END, EVERY, HORIZON = "2025-12-01", "2026-02-01", 30, 60
BACKTEST = ["--leads", str(LEADS), "--events", str(EVENTS), "--outcome", "won",
            "--outcome-time", "won_at", "--from", START, "--to", END, "--every", f"{EVERY}d",
            "--horizon", f"{HORIZON}d"]


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def invoke(args, code=0):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    return result.output


# ---------------------------------------------------------------- independent figures
def pair_auc(scores, y):
    pos = [s for s, t in zip(scores, y) if t]
    neg = [s for s, t in zip(scores, y) if not t]
    if not pos or not neg:
        return None
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))


def top_lift(scores, y, share):
    """Conversions among the top `share` of leads, ties at the cut-off taken pro rata."""
    k = share * len(scores)
    taken = conv = 0.0
    for value in sorted(set(scores), reverse=True):
        group = [t for s, t in zip(scores, y) if s == value]
        if taken >= k:
            break
        use = min(len(group), k - taken)
        conv += sum(group) * use / len(group)
        taken += use
    return (conv / k) / (sum(y) / len(y))


def lowest_threshold(scores, y, target, min_leads):
    """The lowest total whose leads at or above it convert at `target` or more."""
    for t in sorted(set(scores)):
        above = [c for s, c in zip(scores, y) if s >= t]
        if len(above) < min_leads:
            return None
        if sum(above) / len(above) >= target:
            return t
    return None


def share_threshold(scores, share):
    """The lowest total that sends at most `share` of the leads."""
    for t in sorted(set(scores)):
        if sum(s >= t for s in scores) / len(scores) <= share + 1e-12:
            return t
    return max(scores)


@pytest.fixture(scope="module")
def independent(tmp_path_factory):
    """Per as_of: (total, tier, converted, disqualified) of every lead the rule keeps."""
    tmp = tmp_path_factory.mktemp("backtest")
    with LEADS.open(newline="", encoding="utf-8") as f:
        leads = {r["id"]: r for r in csv.DictReader(f)}
    out = {}
    as_of = when(START + "T00:00:00Z")
    while as_of <= when(END + "T00:00:00Z"):
        path = tmp / f"{as_of:%Y%m%d}.csv"
        invoke(["run", str(MODEL), "--leads", str(LEADS), "--events", str(EVENTS),
                "--as-of", as_of.strftime("%Y-%m-%dT%H:%M:%SZ"), "--out", str(path)])
        kept = []
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                lead = leads[row["id"]]
                if when(lead["created_at"]) > as_of:
                    continue  # not created yet
                won = when(lead["won_at"]) if lead["won"] == "yes" else None
                if won is not None and won <= as_of:
                    continue  # converted already
                converted = won is not None and won <= as_of + timedelta(days=HORIZON)
                kept.append((float(row["total"]), row["tier"], int(converted),
                             row["disqualified_by"] or None))
        out[as_of.strftime("%Y-%m-%dT%H:%M:%SZ")] = kept
        as_of += timedelta(days=EVERY)
    return out


@pytest.fixture(scope="module")
def report():
    return json.loads(invoke(["calibrate", str(MODEL), *BACKTEST, "--format", "json"]))


def test_the_as_ofs_are_the_range(report, independent):
    assert [p["as_of"] for p in report["as_ofs"]] == list(independent)
    assert [p["as_of"] for p in report["as_ofs"]] == [
        "2025-12-01T00:00:00Z", "2025-12-31T00:00:00Z", "2026-01-30T00:00:00Z"]


def test_per_as_of_figures_equal_an_independent_computation(report, independent):
    for p in report["as_ofs"]:
        rows = independent[p["as_of"]]
        scores = [r[0] for r in rows]
        y = [r[2] for r in rows]
        assert p["leads"] == len(rows)
        assert p["converted"] == sum(y) > 0
        assert p["auc"] == pytest.approx(pair_auc(scores, y), abs=1e-12)
        for top in p["lift"]:
            assert top["lift"] == pytest.approx(top_lift(scores, y, top["share"]), abs=1e-12)
        for tier in p["tiers"]:
            got = [r[2] for r in rows if r[1] == tier["name"]]
            assert (tier["leads"], tier["converted"]) == (len(got), sum(got))


def test_pooled_figures_and_thresholds_equal_an_independent_computation(report, independent):
    rows = [r for kept in independent.values() for r in kept]
    scores = [r[0] for r in rows]
    y = [r[2] for r in rows]
    pooled = report["pooled"]
    assert (pooled["leads"], pooled["converted"]) == (len(rows), sum(y))
    assert pooled["auc"] == pytest.approx(pair_auc(scores, y), abs=1e-12)
    assert 0.6 < pooled["auc"] < 0.8  # the model ranks what happened next better than chance
    for top in pooled["lift"]:
        assert top["lift"] == pytest.approx(top_lift(scores, y, top["share"]), abs=1e-12)
    tiers = {t["name"]: (t["leads"], t["converted"]) for t in pooled["tiers"]}
    for name in {r[1] for r in rows}:
        got = [r[2] for r in rows if r[1] == name]
        assert tiers[name] == (len(got), sum(got))
    # thresholds over every (lead, as_of) that is not disqualified
    eligible = [(s, c) for s, _, c, d in rows if d is None]
    es, ey = [s for s, _ in eligible], [c for _, c in eligible]
    everyone = pooled["thresholds"][0]
    assert everyone["segment"] == "all" and everyone["leads"] == len(eligible)
    assert everyone["for_share"]["threshold"] == share_threshold(es, 0.2)
    target = lowest_threshold(es, ey, 0.5, 10)
    assert target is None and everyone["for_rate"] is None  # nothing converts at 50% here
    low = lowest_threshold(es, ey, 0.15, 10)
    again = json.loads(invoke(["calibrate", str(MODEL), *BACKTEST, "--format", "json",
                               "--target-rate", "0.15"]))
    assert again["pooled"]["thresholds"][0]["for_rate"]["threshold"] == low is not None


def test_leads_converted_before_or_created_after_are_counted(report, independent):
    with LEADS.open(newline="", encoding="utf-8") as f:
        leads = list(csv.DictReader(f))
    for p in report["as_ofs"]:
        a = when(p["as_of"])
        assert p["not_created"] == sum(when(r["created_at"]) > a for r in leads)
        assert p["converted_before"] == sum(
            r["won"] == "yes" and when(r["won_at"]) <= a and when(r["created_at"]) <= a
            for r in leads)
        assert p["leads"] + p["not_created"] + p["converted_before"] == len(leads)


def test_python_engine_gives_the_same_back_test(report):
    python = json.loads(invoke(["calibrate", str(MODEL), *BACKTEST, "--format", "json",
                                "--engine", "python"]))
    python["engine"] = report["engine"]
    assert python == report


def test_a_parquet_file_with_typed_times_gives_the_same_back_test(report, tmp_path):
    import duckdb

    parquet = tmp_path / "leads.parquet"
    duckdb.sql(f"COPY (SELECT * REPLACE (CAST(won_at AS TIMESTAMP) AS won_at) FROM "
               f"read_csv('{LEADS}', all_varchar = true)) TO '{parquet}' (FORMAT parquet)")
    args = [str(parquet) if a == str(LEADS) else a for a in BACKTEST]
    typed = json.loads(invoke(["calibrate", str(MODEL), *args, "--format", "json"]))
    assert typed["as_ofs"] == report["as_ofs"] and typed["pooled"] == report["pooled"]


def test_text_and_html_reports(tmp_path):
    page = tmp_path / "bt.html"
    text = invoke(["calibrate", str(MODEL), *BACKTEST, "--html", str(page)])
    assert "back-test per as_of" in text and "pooled" in text
    assert "suggested thresholds from the pooled back-test" in text
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 3 and "<script" not in html
    assert "Suggested thresholds from the pooled back-test" in html


def test_generated_example_data_is_what_the_script_writes(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_backtest_data", ROOT / "examples" / "calibration" / "make_backtest_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    assert (tmp_path / "backtest_leads.csv").read_bytes() == LEADS.read_bytes()


# ---------------------------------------------------------------- errors
def write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_a_conversion_without_a_time_is_counted_and_left_out(tmp_path):
    leads = write(tmp_path / "l.csv", "id,created_at,email,industry,title,employees,country,"
                  "plan_interest,account,won,won_at\n"
                  "a,2025-01-01T00:00:00Z,a@x.io,SaaS,CEO,10,CR,,,yes,2025-02-10\n"
                  "b,2025-01-01T00:00:00Z,b@x.io,Retail,,10,US,,,yes,\n"
                  "c,2025-01-01T00:00:00Z,c@x.io,Retail,,10,US,,,yes,soon\n"
                  "d,2025-01-01T00:00:00Z,d@x.io,Retail,,10,US,,,no,\n")
    out = json.loads(invoke(["calibrate", str(MODEL), "--leads", leads, "--events", str(EVENTS),
                             "--outcome", "won", "--outcome-time", "won_at", "--from",
                             "2025-02-01", "--to", "2025-02-01", "--every", "1d", "--horizon",
                             "30d", "--format", "json"]))
    assert (out["counts"]["time_missing"], out["counts"]["time_invalid"]) == (1, 1)
    assert [(p["row"], p["reason"]) for p in out["time_problems"]] == [
        (3, "missing"), (4, "not a timestamp")]
    assert (out["as_ofs"][0]["leads"], out["as_ofs"][0]["converted"]) == (2, 1)


@pytest.mark.parametrize("args, message", [
    (["--every", "30"], "'30': write a whole number and a unit"),
    (["--every", "0d"], "'0d': write a whole number and a unit"),
    (["--horizon", "3m"], "'3m': write a whole number and a unit"),
    (["--to", "2025-01-01"], "--to comes before --from"),
    (["--every", "1h", "--to", "2030-01-01"], "at most 1000"),
    (["--as-of", "2026-01-01"], "--as-of scores at one instant"),
    (["--from", "yesterday"], "--from"),
])
def test_bad_back_test_options_are_clear_errors(args, message):
    base = dict(zip(BACKTEST[::2], BACKTEST[1::2]))
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    result = CliRunner().invoke(main, ["calibrate", str(MODEL), *(x for kv in base.items() for x in kv)])
    assert result.exit_code == 2  # a usage error
    assert message in result.output and "Traceback" not in result.output


def test_a_back_test_needs_all_its_options():
    result = CliRunner().invoke(main, ["calibrate", str(MODEL), "--leads", str(LEADS), "--events",
                                       str(EVENTS), "--outcome", "won", "--from", START])
    assert result.exit_code == 2
    assert "missing --to, --every, --horizon, --outcome-time" in result.output


def test_a_missing_outcome_time_column_is_named():
    args = [a if a != "won_at" else "won_when" for a in BACKTEST]
    result = CliRunner().invoke(main, ["calibrate", str(MODEL), *args])
    assert result.exit_code == 1
    assert "no outcome time column 'won_when'" in result.output
    assert "the file has: " in result.output and "'won_at'" in result.output
