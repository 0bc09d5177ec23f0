"""leadscore diff: tier migration between two models on the same leads."""

import csv
import json
import subprocess

import pytest
from click.testing import CliRunner

from conftest import ROOT
from leadscore.cli import main
from leadscore.compiler import compile_file
from leadscore.runtime.data import parse_timestamp
from leadscore.runtime.runner import score_files

REF = ROOT / "examples" / "reference.score"
DATA = ["--leads", str(ROOT / "examples" / "data" / "leads.csv"), "--events",
        str(ROOT / "examples" / "data" / "events.csv"), "--as-of", "2026-03-01T00:00:00Z"]


def changed(tmp_path):
    text = REF.read_text().replace(
        'rule "email opens"       +1 per event email_open within 90d cap 10',
        'rule "email opens"       +2 per event email_open within 90d cap 30')
    assert text != REF.read_text()
    new = tmp_path / "new.score"
    new.write_text(text)
    return new


def test_same_model_moves_nobody():
    res = CliRunner().invoke(main, ["diff", str(REF), str(REF), *DATA, "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["moved"] == 0 and data["rules"] == []
    assert sum(m["leads"] for m in data["matrix"]) == 300


def test_matrix_counts_add_up_and_rules_are_named(tmp_path):
    res = CliRunner().invoke(main, ["diff", str(REF), str(changed(tmp_path)), *DATA,
                                    "--format", "json"])
    data = json.loads(res.output)
    assert sum(m["leads"] for m in data["matrix"]) == 300
    moved = sum(m["leads"] for m in data["matrix"] if m["from"] != m["to"])
    assert moved == data["moved"] > 0
    assert sum(data["entering"].values()) == sum(data["leaving"].values()) == moved
    top = data["rules"][0]
    assert (top["score"], top["rule"], top["status"]) == ("engagement", "email opens", "changed")
    assert top["new"] > top["old"]


def test_markdown_and_text(tmp_path):
    new = str(changed(tmp_path))
    md = CliRunner().invoke(main, ["diff", str(REF), new, *DATA, "--format", "markdown"]).output
    assert md.startswith("### leadscore diff") and "| from \\ to |" in md
    text = CliRunner().invoke(main, ["diff", str(REF), new, *DATA]).output
    assert "tier migration" in text and "email opens" in text


def test_diff_against_a_git_revision(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    model = repo / "m.score"
    model.write_text(REF.read_text())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "m.score"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    model.write_text(changed(tmp_path).read_text())
    res = CliRunner().invoke(main, ["diff", str(model), "--rev", "HEAD", *DATA, "--format",
                                    "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["old"].endswith("m.score@HEAD") and data["moved"] > 0


def test_usage_errors():
    res = CliRunner().invoke(main, ["diff", str(REF), *DATA])
    assert res.exit_code == 2
    res = CliRunner().invoke(main, ["diff", str(REF), "--rev", "no-such-rev", *DATA])
    assert res.exit_code == 1 and "cannot read" in res.output


OLD = '''schema {
  lead { key id  field size: int  field plan: text  field email: text  field account: text }
  event { lead lead_id  time at  type kind  types visit, demo }
}
score fit cap 40 {
  rule "big" +10 when size >= 100
  rule "pro" +5 when plan == "pro"
  rule "tiny" -5 when size < 5
}
score engagement floor 0 {
  rule "visits" +2 per event visit cap 20
  rule "demo" +30 once event demo
  decay -5 every 30d without event visit
}
total = fit + engagement
clamp total 0..100
disqualify "student" when email ends_with ".edu"
segment enterprise when size >= 1000
tiers {
  cold
  warm at 20
  hot at 50 require event demo
}
tiers for enterprise {
  cold
  hot at 60
}
grade fit {
  A at 15
  B at 5
  C
}
account by account {
  score = sum(total)
  tiers {
    watch
    target at 60
  }
}
'''


def _edited(text: str, *pairs: tuple[str, str]) -> str:
    for a, b in pairs:
        assert a in text, a
        text = text.replace(a, b)
    return text


NEW = _edited(
    OLD,
    ('rule "big" +10 when size >= 100', 'rule "big" +12 when size >= 100'),  # re-weighted
    ('rule "pro" +5 when plan == "pro"', 'rule "pro" +5 when plan in ["pro", "team"]'),
    ('  rule "tiny" -5 when size < 5\n', '  rule "mid" +3 when size >= 50\n'),  # removed, added
    ("score fit cap 40", "score fit cap 35"),
    ("+2 per event visit cap 20", "+2 per event visit cap 25"),
    ("decay -5 every 30d", "decay -5 every 14d"),  # the same event filter
    ("clamp total 0..100", "clamp total 0..120"),
    ('disqualify "student" when email ends_with ".edu"\n', ""),
    ("enterprise when size >= 1000", "enterprise when size >= 500\nsegment smb when size < 20"),
    ("warm at 20", "warm at 25"),
    ("hot at 50 require event demo", "hot at 50 require size >= 10"),
    ("  cold\n  hot at 60", "  cold\n  warm at 30\n  hot at 60"),
    ("B at 5\n", "B at 8\n"),
    ("target at 60", "target at 40"),
)

EXPECTED_CHANGES = [
    ("cap", "score fit", "fit", "changed", "40", "35"),
    ("rule", "score fit", "big", "re-weighted", "+10", "+12"),
    ("rule", "score fit", "pro", "condition changed", 'rule "pro" +5 when plan == "pro"',
     'rule "pro" +5 when plan in ["pro", "team"]'),
    ("rule", "score fit", "tiny", "removed", 'rule "tiny" -5 when size < 5', ""),
    ("rule", "score fit", "mid", "added", "", 'rule "mid" +3 when size >= 50'),
    ("decay", "score engagement", "engagement", "changed", "-5 every 30d", "-5 every 14d"),
    ("cap", "score engagement", "visits", "changed", "20", "25"),
    ("clamp", "", "total", "changed", "[0, 100]", "[0, 120]"),
    ("disqualify", "", "student", "removed", 'email ends_with ".edu"', ""),
    ("segment", "", "enterprise", "condition changed", "size >= 1000", "size >= 500"),
    ("segment", "", "smb", "added", "", "size < 20"),
    ("threshold", "segment default", "warm", "changed", "20", "25"),
    ("gate", "segment default", "hot", "removed", "event demo", ""),
    ("gate", "segment default", "hot", "added", "", "size >= 10"),
    ("tier", "segment enterprise", "warm", "added", "", "at 30"),
    ("grade", "", "grade", "changed", "fit: A at 15, B at 5, C", "fit: A at 15, B at 8, C"),
]

LEADS_CSV = "id,size,plan,email,account,converted\n" + "\n".join(
    f"l{i:02d},{(i * 37) % 1500},{['pro', 'team', 'free'][i % 3]},"
    f"u{i}@{'uni.edu' if i % 7 == 0 else 'co.com'},acc{i % 4},{int(i % 3 != 2 and i % 5 < 3)}"
    for i in range(40)) + "\n"
EVENTS_CSV = "lead_id,at,kind\n" + "\n".join(
    f"l{i % 40:02d},2026-02-{1 + i % 27:02d}T10:00:00Z,{'demo' if i % 9 == 0 else 'visit'}"
    for i in range(120)) + "\n"


def _pair(tmp_path):
    paths = {}
    for name, text in (("old.score", OLD), ("new.score", NEW), ("leads.csv", LEADS_CSV),
                       ("events.csv", EVENTS_CSV)):
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


def test_the_structural_changes_are_every_kind_of_change(tmp_path):
    p = _pair(tmp_path)
    res = CliRunner().invoke(main, ["diff", str(p["old.score"]), str(p["new.score"]), "--leads",
                                    str(p["leads.csv"]), "--events", str(p["events.csv"]),
                                    "--as-of", "2026-03-01T00:00:00Z", "--format", "json"])
    assert res.exit_code == 0, res.output
    got = [tuple(c[k] for k in ("kind", "where", "name", "change", "old", "new"))
           for c in json.loads(res.output)["changes"]]
    assert got == EXPECTED_CHANGES


def test_an_unchanged_model_has_no_structural_change(tmp_path):
    p = _pair(tmp_path)
    formatted = tmp_path / "same.score"  # the same declarations, laid out differently
    formatted.write_text(OLD.replace("  rule", "    rule").replace("\n}", "\n\n}"),
                         encoding="utf-8")
    res = CliRunner().invoke(main, ["diff", str(p["old.score"]), str(formatted), "--leads",
                                    str(p["leads.csv"]), "--events", str(p["events.csv"]),
                                    "--as-of", "2026-03-01T00:00:00Z", "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["changes"] == [] and data["moved_leads"] == [] and data["moved"] == 0


def _independent_tiers(path, leads, events):
    """Each lead's (tier, total) scored on its own, by the generated Python evaluator."""
    model = compile_file(path)
    res = score_files(model, leads, events, parse_timestamp("2026-03-01T00:00:00Z"), "python")
    at = res.columns
    return {r[0]: (r[at.index("tier")], r[at.index("total")]) for r in res.rows}


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_moved_leads_are_the_leads_whose_tier_differs(tmp_path, suffix):
    p = _pair(tmp_path)
    out = tmp_path / f"moved{suffix}"
    res = CliRunner().invoke(main, ["diff", str(p["old.score"]), str(p["new.score"]), "--leads",
                                    str(p["leads.csv"]), "--events", str(p["events.csv"]),
                                    "--as-of", "2026-03-01T00:00:00Z", "--moved-out", str(out),
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    old = _independent_tiers(p["old.score"], p["leads.csv"], p["events.csv"])
    new = _independent_tiers(p["new.score"], p["leads.csv"], p["events.csv"])
    want = [(k, old[k][0], new[k][0], old[k][1], new[k][1]) for k in sorted(old)
            if old[k][0] != new[k][0]]
    assert want, "the fixture pair moves some leads"
    if suffix == ".csv":
        with out.open(encoding="utf-8") as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["key", "old_tier", "new_tier", "old_total", "new_total"]
        got = [(k, a or None, b or None, float(x), float(y)) for k, a, b, x, y in rows[1:]]
    else:
        got = [tuple(r.values()) for r in json.loads(out.read_text(encoding="utf-8"))]
    assert got == want
    data = json.loads(res.stdout)
    assert data["moved"] == len(want)
    assert data["accounts"]["accounts"] == 4


def _auc(totals, y) -> float:
    """The probability a converted lead outranks one that did not (ties count half)."""
    pos = [t for t, v in zip(totals, y) if v]
    neg = [t for t, v in zip(totals, y) if not v]
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def test_outcome_compares_auc_and_conversion_per_tier(tmp_path):
    p = _pair(tmp_path)
    res = CliRunner().invoke(main, ["diff", str(p["old.score"]), str(p["new.score"]), "--leads",
                                    str(p["leads.csv"]), "--events", str(p["events.csv"]),
                                    "--as-of", "2026-03-01T00:00:00Z", "--outcome", "converted",
                                    "--format", "json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)["outcome"]
    y = {f"l{i:02d}": int(i % 3 != 2 and i % 5 < 3) for i in range(40)}
    for side, path in (("old", p["old.score"]), ("new", p["new.score"])):
        scored = _independent_tiers(path, p["leads.csv"], p["events.csv"])
        keys = sorted(scored)
        assert data[side]["auc"] == pytest.approx(_auc([scored[k][1] for k in keys],
                                                       [y[k] for k in keys]))
        for t in data[side]["tiers"]:
            members = [k for k in keys if scored[k][0] == t["name"]]
            assert t["leads"] == len(members)
            assert t["converted"] == sum(y[k] for k in members)
    md = CliRunner().invoke(main, ["diff", str(p["old.score"]), str(p["new.score"]), "--leads",
                                   str(p["leads.csv"]), "--events", str(p["events.csv"]),
                                   "--as-of", "2026-03-01T00:00:00Z", "--outcome", "converted",
                                   "--format", "markdown", "--top", "3"]).output
    assert "| AUC |" in md and "| conversion, tier hot |" in md
    assert "… and 13 more changes" in md
    assert md.count("\n| ") < 60  # one page: every list bounded by --top
    text = CliRunner().invoke(main, ["diff", str(p["old.score"]), str(p["new.score"]),
                                     "--leads", str(p["leads.csv"]), "--events",
                                     str(p["events.csv"]), "--outcome", "converted"]).output
    assert "model changes" in text and "against the outcome" in text


def test_moved_out_needs_a_known_format(tmp_path):
    p = _pair(tmp_path)
    res = CliRunner().invoke(main, ["diff", str(p["old.score"]), str(p["new.score"]), "--leads",
                                    str(p["leads.csv"]), "--moved-out", str(tmp_path / "x.txt")])
    assert res.exit_code == 2 and "--moved-out" in res.output
