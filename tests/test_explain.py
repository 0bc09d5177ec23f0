"""explain and test blocks: the interpreter, the generated code and the SQL agree."""

import json

import pytest
from click.testing import CliRunner

from conftest import ROOT
from engines import engine_params, ensure
from leadscore.cli import main
from leadscore.compiler import compile_file
from leadscore.runtime.data import leads_from_dicts, parse_timestamp
from leadscore.runtime.explain import explain
from leadscore.runtime.runner import score_files
from leadscore.runtime.warehouses import run_query

REF = ROOT / "examples" / "reference.score"
LEADS = ROOT / "examples" / "data" / "leads.csv"
EVENTS = ROOT / "examples" / "data" / "events.csv"
AS_OF = parse_timestamp("2026-03-01T00:00:00Z")


@pytest.fixture(scope="module")
def scored():
    model = compile_file(REF)
    return model, score_files(model, LEADS, EVENTS, AS_OF, "python")


def test_interpreter_equals_generated_python_for_every_lead(scored):
    model, res = scored
    for row in res.rows:
        ex = explain(model, res.leads, res.events, row[0], AS_OF)
        assert tuple(ex.outputs.values()) == row


@pytest.mark.parametrize("engine", engine_params(["duckdb", "sqlite", "postgres", "datafusion"]))
def test_explain_sql_equals_python(scored, engine):
    ensure(engine)
    model, res = scored
    rows = run_query("explain", engine, model, res.leads, res.events, AS_OF)
    want = []
    for key in sorted(res.leads.keys):
        ex = explain(model, res.leads, res.events, key, AS_OF)
        for i, r in enumerate(ex.rules):
            want.append((key, i, r.score, r.label, r.line, r.events, r.points))
    assert len(rows) == len(want) == 300 * len(model.rules)
    for got, exp in zip(rows, sorted(want)):
        assert got[:5] == exp[:5] and got[5] == exp[5]
        assert got[6] == pytest.approx(exp[6], rel=1e-9, abs=1e-12)


def test_explain_cli_text_and_json():
    args = ["explain", str(REF), "--lead", "L0257", "--leads", str(LEADS), "--events",
            str(EVENTS), "--as-of", "2026-03-01T00:00:00Z"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "email opens  (11 events, capped)" in res.output
    assert "held back: `pricing_visit within 30d` does not hold" in res.output
    assert "tier nurture (held from sql" in res.output
    data = json.loads(CliRunner().invoke(main, args + ["--format", "json"]).output)
    assert data["outputs"]["tier"] == "nurture"
    assert sum(r["points"] for r in data["rules"] if r["score"] == "fit") == 53


def test_explain_unknown_lead_is_an_error():
    res = CliRunner().invoke(main, ["explain", str(REF), "--lead", "nope", "--leads", str(LEADS),
                                    "--events", str(EVENTS)])
    assert res.exit_code == 1
    assert "no lead with key 'nope'" in res.output


def test_leadscore_test_runs_blocks_and_reports_coverage():
    res = CliRunner().invoke(main, ["test", str(REF)])
    assert res.exit_code == 0, res.output
    assert "5 tests, 46 expectations on python, duckdb: ok" in res.output
    assert "rule coverage: 16/16 rules fired" in res.output


def test_leadscore_test_failure_shows_expected_and_actual(tmp_path):
    model = tmp_path / "m.score"
    model.write_text(
        'schema { lead { key id  field x: int } }\n'
        'score s {\n  rule "big" +10 when x > 5\n  rule "never" +1 when x > 100\n}\n'
        'test "seven" {\n  as_of 2026-01-01\n  lead { id: "a", x: 7 }\n  expect s == 11\n}\n')
    res = CliRunner().invoke(main, ["test", str(model), "--engine", "python", "--engine",
                                    "sqlite"])
    assert res.exit_code == 1
    assert f"{model}:9:3: FAIL [python] seven: expected s == 11, got 10" in res.output
    assert "[sqlite]" in res.output
    assert 'never fired: score s, rule "never" (line 4)' in res.output


def test_test_block_errors_are_located(tmp_path):
    model = tmp_path / "m.score"
    model.write_text(
        'schema { lead { key id  field x: int } }\nscore s { rule "r" +1 when x > 1 }\n'
        'test "t" {\n  as_of 2026-01-01\n  lead { id: "a", y: 7 }\n  expect tier == hot\n}\n')
    res = CliRunner().invoke(main, ["test", str(model)])
    assert res.exit_code == 1
    assert "m.score:5:19: error: unknown lead field `y`" in res.output


def test_explain_takes_gate_text_from_the_model_not_the_rule_file(tmp_path):
    """The gates are shown as written even when the rule file has gone since it compiled
    (a model loaded from its IR, a file edited meanwhile)."""
    path = tmp_path / "m.score"
    path.write_text('schema { lead { key id  field pts: int  field pricing: bool } }\n'
                    'score s { rule "big" +160 when pts >= 160 }\n'
                    'tiers { cold; mql at 100 require   pricing }\n', encoding="utf-8")
    model = compile_file(path)
    path.unlink()
    leads = leads_from_dicts([{"id": "a", "pts": 160, "pricing": False}], model.schema)
    ex = explain(model, leads, None, "a", AS_OF)
    assert ex.tiers == [{"tier": "mql", "threshold_met": True, "gates_hold": False,
                         "gates": ["pricing"]}]
    assert ex.outputs["held_from"] == "mql"
