"""explain and test blocks: the interpreter, the generated code and the SQL agree."""

import dataclasses
import json

import pytest
from click.testing import CliRunner

import leadscore
from conftest import ROOT
from engines import engine_params, ensure
from leadscore.cli import main
from leadscore.compiler import compile_file, compile_source
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
                         "gates": ["pricing"], "failed_gates": ["pricing"]}]
    assert ex.outputs["held_from"] == "mql"


GATED = ('schema { lead { key id  field pts: int  field pricing: bool  field size: int } }\n'
         'score s { rule "big" +160 when pts >= 160 }\n'
         'tiers { cold; mql at 100 require pricing require size > 10 }\n')
GATED_LEADS = [{"id": "a", "pts": 160, "pricing": False, "size": 50},
               {"id": "b", "pts": 160, "pricing": True, "size": 5},
               {"id": "c", "pts": 160, "pricing": False, "size": 1},
               {"id": "d", "pts": 160, "pricing": True, "size": 20}]


def test_explain_names_exactly_the_gates_that_fail():
    model = compile_source(GATED)
    leads = leads_from_dicts(GATED_LEADS, model.schema)
    failed = {k: explain(model, leads, None, k, AS_OF).tiers[0]["failed_gates"] for k in "abcd"}
    assert failed == {"a": ["pricing"], "b": ["size > 10"], "c": ["pricing", "size > 10"], "d": []}
    path = ROOT / "tests" / "hostile" / "exact" / "two_gates.score"
    res = CliRunner().invoke(main, ["explain", str(path), "--lead", "b", "--leads",
                                    str(path.with_suffix(".csv"))])
    assert res.exit_code == 0, res.output
    assert "held back: `size > 10` does not hold" in res.output and "`pricing`" not in res.output


@pytest.mark.parametrize("engine", engine_params())
def test_each_gate_is_evaluated_alike_on_every_engine(engine):
    """Explain reads each gate's own binding; every engine computes the same ones."""
    ensure(engine)
    model = compile_source(GATED)
    gates = [b.name for b in model.bindings if ":gate:" in b.name]
    assert len(gates) == 2
    with_gates = leadscore.Model(dataclasses.replace(
        model, outputs=list(model.outputs) + [(g, g) for g in gates]))
    rows = with_gates.score(GATED_LEADS, None, "2026-03-01T00:00:00Z", engine=engine)
    leads = leads_from_dicts(GATED_LEADS, model.schema)
    for row in rows:
        failed = explain(model, leads, None, row["id"], AS_OF).tiers[0]["failed_gates"]
        texts = model.gates["tier:default:mql:gate"]
        assert [texts[j].text for j, g in enumerate(gates) if not row[g]] == failed
