"""leadscore diff: tier migration between two models on the same leads."""

import json
import subprocess

from click.testing import CliRunner

from conftest import ROOT
from leadscore.cli import main

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
