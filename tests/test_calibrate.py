"""leadscore calibrate: metrics against brute force, and the X Education report against an
independent computation (plain counting and pair counting over the model's own scores)."""

import csv
import json
import os
from collections import Counter

import numpy as np
import pytest
from click.testing import CliRunner

import leadscore
from conftest import ROOT, SHARED_DATA
from leadscore.analytics import metrics
from leadscore.analytics.leaks import check_field
from leadscore.analytics.table import parse_outcome
from leadscore.cli import main

XED = SHARED_DATA / "x_education" / "Leads.csv"
UCI_SAMPLE = SHARED_DATA / "uci_bank_marketing" / "bank-additional.csv"
HAND = ROOT / "examples" / "calibration" / "x_education.score"


def need(path):
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing, and CI requires the shared data")
        pytest.skip(f"{path} is missing (the shared data sets live in ../shared/data)")


# ---------------------------------------------------------------- metrics vs brute force
def brute_auc(scores, y):
    pos = [s for s, t in zip(scores, y) if t == 1]
    neg = [s for s, t in zip(scores, y) if t == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@pytest.mark.parametrize("seed", range(8))
def test_auc_equals_pair_counting_with_heavy_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 120))
    scores = rng.integers(0, 6, n).astype(float)  # few distinct values: many ties
    y = (rng.random(n) < 0.3 + 0.1 * scores / 5).astype(int)
    if y.min() == y.max():
        y[0] = 1 - y[0]
    assert metrics.roc_auc(scores, y) == pytest.approx(brute_auc(scores, y), abs=1e-12)


def test_auc_edge_cases():
    assert metrics.roc_auc(np.array([1.0, 2.0]), np.array([1, 1])) is None
    assert metrics.roc_auc(np.array([5.0, 5.0, 5.0]), np.array([1, 0, 1])) == 0.5
    assert metrics.roc_auc(np.array([1.0, 2.0, 3.0]), np.array([0, 1, 1])) == 1.0
    assert metrics.roc_auc(np.array([3.0, 2.0, 1.0]), np.array([0, 1, 1])) == 0.0


def test_top_share_splits_the_tie_at_the_cutoff_pro_rata():
    # 10 leads: 90 (conv), 80 (conv), four at 50 (1 converted), four at 10 (none)
    scores = np.array([90, 80, 50, 50, 50, 50, 10, 10, 10, 10], dtype=float)
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    top = metrics.top_share(scores, y, 0.3)  # 3 leads: both 90 and 80, plus 1 of the four 50s
    assert top.leads == pytest.approx(3)
    assert top.converted == pytest.approx(2 + 1 / 4)
    assert top.rate == pytest.approx(2.25 / 3)
    assert top.lift == pytest.approx((2.25 / 3) / 0.3)
    assert top.capture == pytest.approx(2.25 / 3)
    assert top.min_total == 50


def test_deciles_without_ties_are_tenths_and_ties_stay_together():
    scores = np.arange(100, dtype=float)
    y = (scores >= 70).astype(int)
    bands = metrics.deciles(scores, y)
    assert [b.leads for b in bands] == [10] * 10
    assert [b.converted for b in bands] == [10, 10, 10] + [0] * 7
    assert (bands[0].lo, bands[0].hi) == (90, 99)
    tied = np.array([0] * 50 + list(range(1, 51)), dtype=float)
    bands = metrics.deciles(tied, np.zeros(100, dtype=int))
    assert sum(b.leads for b in bands) == 100
    zero_bands = [b for b in bands if b.lo == 0]
    assert len(zero_bands) == 1 and zero_bands[0].leads == 50 and zero_bands[0].hi == 0
    for a, b in zip(bands, bands[1:]):
        assert b.hi < a.lo  # disjoint ranges, top first


@pytest.mark.parametrize("seed", range(5))
def test_thresholds_equal_a_scan_of_every_cut(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 30, 300).astype(float)
    y = (rng.random(300) < scores / 35).astype(int)
    cut, _ = metrics.threshold_for_rate(scores, y, 0.5, min_leads=10)
    expected = None
    for t in sorted(set(scores)):
        above = scores >= t
        if above.sum() >= 10 and y[above].mean() >= 0.5:
            expected = t
            break
    assert (cut.threshold if cut else None) == expected
    share_cut = metrics.threshold_for_share(scores, y, 0.2)
    expected = min(t for t in set(scores) if (scores >= t).mean() <= 0.2)
    assert share_cut.threshold == expected
    assert share_cut.leads_at_or_above == int((scores >= expected).sum())
    assert share_cut.converted_at_or_above == int(y[scores >= expected].sum())


def test_wilson_interval():
    lo, hi = metrics.wilson(0, 10)
    assert lo == 0 and hi == pytest.approx(0.2775, abs=1e-4)
    lo, hi = metrics.wilson(50, 100)
    assert (lo, hi) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))


@pytest.mark.parametrize("value,expected", [("1", 1), ("0", 0), ("yes", 1), ("No", 0),
                                            ("TRUE", 1), (" false ", 0), (1, 1), (0.0, 0),
                                            (True, 1), ("1.0", 1)])
def test_outcome_values(value, expected):
    assert parse_outcome(value) == expected


@pytest.mark.parametrize("value", ["2", "maybe", "-1", 0.5])
def test_invalid_outcome_values(value):
    with pytest.raises(ValueError):
        parse_outcome(value)


# ---------------------------------------------------------------- X Education, end to end
def read_xed():
    with XED.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def xed_report(tmp_path_factory):
    need(XED)
    out = tmp_path_factory.mktemp("cal")
    html = out / "report.html"
    res = CliRunner().invoke(main, ["calibrate", str(HAND), "--leads", str(XED), "--outcome",
                                    "Converted", "--format", "json", "--html", str(html),
                                    "--as-of", "2026-01-01T00:00:00Z"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    rows = read_xed()
    model = leadscore.load(HAND)
    scored = {r["Prospect ID"]: r for r in model.score(rows, as_of="2026-01-01T00:00:00Z")}
    truth = [(float(scored[r["Prospect ID"]]["total"]), int(r["Converted"]),
              scored[r["Prospect ID"]]) for r in rows]
    return report, truth, html


def test_counts_and_auc_match_pair_counting(xed_report):
    report, truth, _ = xed_report
    assert report["counts"]["rows_read"] == 9240
    assert report["counts"]["evaluated"] == 9240
    assert report["counts"]["converted"] == 3561
    totals = np.array([t for t, _, _ in truth])
    y = np.array([c for _, c, _ in truth])
    pos, neg = totals[y == 1], totals[y == 0]
    wins = 0.0
    for chunk in np.array_split(pos, 20):  # every converted-vs-not pair, counted directly
        wins += (chunk[:, None] > neg[None, :]).sum() + 0.5 * (chunk[:, None] == neg[None, :]).sum()
    assert report["auc"] == pytest.approx(wins / (len(pos) * len(neg)), abs=1e-12)
    assert 0.80 < report["auc"] < 0.90  # the hand model ranks well but far from perfectly


def test_tiers_and_segments_match_plain_counting(xed_report):
    report, truth, _ = xed_report
    leads = Counter(r["tier"] for _, _, r in truth)
    conv = Counter(r["tier"] for _, c, r in truth if c)
    got = {t["name"]: t for t in report["tiers"]}
    assert set(got) == set(leads)
    for tier, n in leads.items():
        assert got[tier]["leads"] == n
        assert got[tier]["converted"] == conv[tier]
        assert got[tier]["rate"] == pytest.approx(conv[tier] / n)
    assert [t["name"] for t in report["tiers"]] == ["cold", "nurture", "mql", "sql", "disqualified"]
    seg = Counter(r["segment"] for _, _, r in truth)
    for s in report["segments"]:
        assert s["leads"] == seg[s["name"]]
        assert s["converted"] == sum(c for _, c, r in truth if r["segment"] == s["name"])


def test_funnel_bands_lift_and_thresholds_match_direct_computation(xed_report):
    report, truth, _ = xed_report
    order = {"working": ["cold", "nurture", "mql", "sql"], "default": ["cold", "nurture", "mql", "sql"]}
    for f in report["funnel"]:
        reach = [(c, r) for _, c, r in truth if r["tier"] in order[r["segment"]]
                 and order[r["segment"]].index(r["tier"]) >= order[r["segment"]].index(f["tier"])]
        assert f["leads"] == len(reach)
        assert f["converted"] == sum(c for c, _ in reach)
    for b in report["bands"]:
        inside = [c for t, c, _ in truth if b["min_total"] <= t <= b["max_total"]]
        assert b["leads"] == len(inside) and b["converted"] == sum(inside)
    assert sum(b["leads"] for b in report["bands"]) == 9240
    # top 10%: sort by total; the leads strictly above the cut-off total count fully, the tie
    # at it pro rata
    ranked = sorted(truth, key=lambda t: -t[0])
    k = 0.1 * len(ranked)
    cutoff = ranked[int(k) - 1][0]
    above = [c for t, c, _ in ranked if t > cutoff]
    tie = [c for t, c, _ in ranked if t == cutoff]
    expected = sum(above) + (k - len(above)) * sum(tie) / len(tie)
    top10 = report["lift"][0]
    assert top10["share"] == 0.1 and top10["converted"] == pytest.approx(expected)
    assert top10["lift"] == pytest.approx((expected / k) / (3561 / 9240))
    eligible = [(t, c) for t, c, r in truth if not r["disqualified_by"]]
    overall = next(t for t in report["thresholds"] if t["segment"] == "all")
    want = None
    for s in sorted({t for t, _ in eligible}):
        sent = [c for t, c in eligible if t >= s]
        if len(sent) >= 10 and sum(sent) / len(sent) >= 0.5:
            want = (s, len(sent), sum(sent))
            break
    got = overall["for_rate"]
    assert (got["threshold"], got["leads"], got["converted"]) == want
    at = overall["at_rate"]  # the first total at or above where the logistic fit crosses 50%
    assert at["cut"]["threshold"] == min(t for t, _ in eligible if t >= at["fit_total"])
    share = overall["for_share"]
    expected = min(s for s in {t for t, _ in eligible}
                   if sum(t >= s for t, _ in eligible) <= 0.2 * len(eligible))
    assert share["threshold"] == expected
    assert share["leads"] == sum(t >= expected for t, _ in eligible)


def test_calibration_fit_is_the_maximum_likelihood_logistic_curve(xed_report):
    report, truth, _ = xed_report
    cal = report["calibration"]
    t = np.array([x for x, _, _ in truth])
    y = np.array([c for _, c, _ in truth])
    p = 1 / (1 + np.exp(-(cal["intercept"] + cal["slope"] * t)))
    # the score equations of the likelihood: zero at its maximum
    assert abs(np.sum(y - p)) < 1e-6 * len(y)
    assert abs(np.sum((y - p) * t)) < 1e-6 * len(y) * np.abs(t).mean()
    assert cal["points_to_double"] == pytest.approx(np.log(2) / cal["slope"])


def test_text_report_has_the_tier_table_and_thresholds(tmp_path):
    need(XED)
    res = CliRunner().invoke(main, ["calibrate", str(HAND), "--leads", str(XED), "--outcome",
                                    "Converted", "--engine", "python", "--target-rate", "0.6",
                                    "--sales-share", "0.1"])
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "per tier" in out and "suggested thresholds" in out
    assert "ROC AUC 0.84" in out
    assert "leads >= it convert >= 60%" in out and "top 10% to sales" in out
    assert "a lead's chance >= 60%" in out
    tier_lines = [line.split() for line in out.splitlines() if line.strip().startswith("sql ")]
    assert tier_lines[0][:2] == ["sql", "1532"]


def test_html_report_is_self_contained_with_plots(xed_report):
    _, _, html = xed_report
    text = html.read_text(encoding="utf-8")
    assert text.count("<svg") == 4
    for title in ("Score distribution by outcome", "Conversion by score band",
                  "Calibration: observed conversion", "ROC curve"):
        assert title in text
    lowered = text.lower()
    assert "<script" not in lowered and "http://" not in lowered and "https://" not in lowered
    assert "<link" not in lowered and "src=" not in lowered


# ---------------------------------------------------------------- outcomes and errors
MINI = """schema { lead { key id  field visits: int } }
score s { rule "visits" +10 when visits >= 3 }
tiers { low; high at 10 }
"""


def test_missing_and_invalid_outcomes_are_counted_not_dropped(tmp_path):
    model = tmp_path / "m.score"
    model.write_text(MINI)
    leads = tmp_path / "leads.csv"
    leads.write_text("id,visits,won\n1,5,yes\n2,1,No\n3,4,TRUE\n4,0,\n5,7,maybe\n6,2,0\n"
                     "7,x,1\n8,3,2\n")
    res = CliRunner().invoke(main, ["calibrate", str(model), "--leads", str(leads), "--outcome",
                                    "won", "--format", "json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    c = rep["counts"]
    assert (c["rows_read"], c["rejected"], c["outcome_missing"], c["outcome_invalid"],
            c["evaluated"]) == (8, 1, 1, 2, 4)
    assert c["converted"] == 2
    assert {p["row"] for p in rep["outcome_problems"]} == {5, 6, 9}
    assert {t["name"]: (t["leads"], t["converted"]) for t in rep["tiers"]} == {
        "low": (2, 0), "high": (2, 2)}
    text = CliRunner().invoke(main, ["calibrate", str(model), "--leads", str(leads),
                                     "--outcome", "won"]).stdout
    assert "1 rejected by the model's schema, 1 without an outcome, 2 with an invalid outcome" in text


def test_unknown_outcome_column_is_a_located_error(tmp_path):
    model = tmp_path / "m.score"
    model.write_text(MINI)
    leads = tmp_path / "leads.csv"
    leads.write_text("id,visits,Converted\n1,5,1\n")
    res = CliRunner().invoke(main, ["calibrate", str(model), "--leads", str(leads), "--outcome",
                                    "converted"])
    assert res.exit_code == 1
    assert "no outcome column 'converted'; did you mean 'Converted'?" in res.output
    assert "Traceback" not in res.output
    res = CliRunner().invoke(main, ["calibrate", str(model), "--leads", str(leads), "--outcome",
                                    "Converted", "--target-rate", "1.5"])
    assert res.exit_code == 2 and "--target-rate" in res.output


def test_row_key_on_uci_and_duration_leak_warning(tmp_path):
    need(UCI_SAMPLE)
    model = tmp_path / "bank.score"
    model.write_text("""schema { lead { key row  field duration: int  field poutcome: text
                                           field age: int } }
score s {
  rule "long call" +30 when duration >= 300
  rule "earlier success" +40 when poutcome == "success"
  rule "retired age" +10 when age >= 60
}
tiers { cold; warm at 30; hot at 60 }
""")
    res = CliRunner().invoke(main, ["calibrate", str(model), "--leads", str(UCI_SAMPLE),
                                    "--outcome", "y", "--row-key", "--format", "json"])
    assert res.exit_code == 0, res.output
    rep = json.loads(res.stdout)
    assert rep["counts"]["evaluated"] == 4119 and rep["counts"]["converted"] == 451
    kinds = {(leak["field"], leak["kind"]) for leak in rep["leaks"]}
    assert ("duration", "name") in kinds and ("duration", "value") in kinds
    assert not any(leak["field"] in ("poutcome", "age") for leak in rep["leaks"])
    res = CliRunner().invoke(main, ["calibrate", str(model), "--leads", str(UCI_SAMPLE),
                                    "--outcome", "y"])
    assert res.exit_code == 1 and "missing column" in res.output


def test_leak_heuristics_on_x_education():
    need(XED)
    rows = read_xed()
    y = np.array([int(r["Converted"]) for r in rows])

    def col(name):
        return [r[name] or None for r in rows]

    tags = check_field("Tags", col("Tags"), y)
    assert {leak.kind for leak in tags} == {"value", "alone", "name"}
    value = next(leak for leak in tags if leak.kind == "value")
    assert value.numbers["value"] == "Will revert after reading the email"
    assert value.numbers["leads"] == 2072
    assert value.numbers["rate"] == pytest.approx(2007 / 2072)
    assert {leak.kind for leak in check_field("Lead Quality", col("Lead Quality"), y)} >= {"name"}
    for legit in ("Lead Origin", "Lead Source", "What is your current occupation",
                  "Last Activity", "Lead Profile", "City"):
        assert check_field(legit, col(legit), y) == [], legit


@pytest.mark.parametrize("values, holds", [
    (["", ""], "(2 empty)"),
    (["maybe", ""], "(1 empty, 1 other value such as 'maybe' (row 2))"),
    (["won", "lost"], "(0 empty, 2 other values such as 'won' (row 2), 'lost' (row 3))"),
])
def test_an_outcome_column_without_0_1_values_is_a_clear_error(tmp_path, values, holds):
    model = tmp_path / "m.score"
    model.write_text('schema { lead { key id  field x: int } }\nscore s { rule "r" +1 when x > 1 }\n')
    leads = tmp_path / "leads.csv"
    leads.write_text("id,x,won\n" + "".join(f"l{i},{i},{v}\n" for i, v in enumerate(values)))
    res = CliRunner().invoke(main, ["calibrate", str(model), "--leads", str(leads), "--outcome",
                                    "won", "--as-of", "2026-01-01"])
    assert res.exit_code == 1
    assert f"outcome column 'won' holds no 0/1 value in its 2 rows {holds}" in res.output
    assert "internal error" not in res.output and "Traceback" not in res.output
