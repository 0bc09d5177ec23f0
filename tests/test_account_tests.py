"""`test` blocks with several leads and account expectations, on every engine."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engines import engine_params, ensure
from leadscore.cli import main
from leadscore.compiler import compile_source
from leadscore.compiler.ir_json import from_json, to_json
from leadscore.runtime.testing import run_tests

MODEL = """\
schema {
  lead {
    key id
    field company: text
    field title: text
  }
  event {
    lead lead_id
    time at
    type kind
    types visit
  }
}

score fit {
  rule "exec"  +20 when title == "cto"
}

score visits {
  rule "visit"  +10 per event visit cap 30
}

disqualify "competitor" when company == "rival"

account by company {
  score = sum(total)
  rule "committee"  +25 when count(lead where fit > 0) >= 2
  tiers {
    watch
    target at 80
  }
}

test "two executives at acme make a target account" {
  as_of 2026-03-01
  lead { id: "a1", company: "Acme", title: "CTO" }
  lead { id: "a2", company: "ACME", title: "cto" }
  lead { id: "a3", company: "acme", title: "intern" }
  lead { id: "r1", company: "Rival", title: "cto" }
  events {
    visit at 2026-02-20T00:00:00Z lead_id "a1"
    visit at 2026-02-21T00:00:00Z lead_id "a3"
    visit at 2026-02-22T00:00:00Z lead_id "r1"
  }
  expect lead "a1" total == 30
  expect lead "a3" visits == 10
  expect lead "r1" tier == disqualified
  expect account "acme" score == 60
  expect account "ACME" total == 85
  expect account "Acme" tier == target
  expect account "rival" total == missing
}

test "one lead: its own expectations and its account" {
  as_of 2026-03-01
  lead { id: "b1", company: "Beta", title: "cto" }
  expect fit == 20
  expect account "beta" tier == watch
}
"""

WRONG = MODEL.replace('expect account "ACME" total == 85', 'expect account "ACME" total == 86')


@pytest.mark.parametrize("engine", engine_params())
def test_account_expectations_hold_on_every_engine(engine):
    ensure(engine)
    report = run_tests(compile_source(MODEL, "m.score"), [engine])
    assert report.ok, report.failures
    assert (report.tests, report.checks) == (2, 9)


@pytest.mark.parametrize("engine", engine_params())
def test_a_wrong_account_expectation_fails_on_every_engine(engine):
    ensure(engine)
    report = run_tests(compile_source(WRONG, "m.score"), [engine])
    (failure,) = report.failures
    assert (failure.column, failure.expected, failure.actual) == (
        'account "ACME" total', "== 86", "85")
    line = WRONG.splitlines().index('  expect account "ACME" total == 86') + 1
    assert failure.where == f"m.score:{line}:3"


def test_account_tests_survive_the_ir_file():
    model = compile_source(MODEL, "m.score")
    back = from_json(json.loads(json.dumps(to_json(model))))
    assert back.tests == model.tests
    assert run_tests(back, ["python"]).ok


def test_the_cli_reports_an_account_failure(tmp_path):
    path = tmp_path / "m.score"
    path.write_text(WRONG, "utf-8")
    result = CliRunner().invoke(main, ["test", str(path), "--engine", "python"])
    assert result.exit_code == 1
    assert 'expected account "ACME" total == 86, got 85' in result.output
