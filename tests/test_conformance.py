"""The conformance corpus: every case on every engine and every Python evaluator, against
hand-computed results."""

import os

import pytest

import leadscore
from corpus import EVALUATORS, compare, compile_error, load_cases, run_accounts_case, run_case
from engines import SELECTED, engine_params, ensure
from leadscore.runtime.data import leads_from_dicts, parse_timestamp
from leadscore.runtime.engines import evaluator

CASES = load_cases()
RUN_CASES = [c for c in CASES if "error" not in c.data]
ERROR_CASES = [c for c in CASES if "error" in c.data]
# with LEADSCORE_ENGINES set, the evaluators it names (e.g. python,interpreter,stream)
WITH_EVALUATORS = engine_params() + engine_params(
    [e for e in EVALUATORS if "LEADSCORE_ENGINES" not in os.environ or e in SELECTED])


def test_corpus_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("engine", WITH_EVALUATORS)
@pytest.mark.parametrize("case", RUN_CASES, ids=lambda c: c.name)
def test_case(case, engine):
    ensure(engine)
    problems = compare(run_case(case, engine), case.data["expected"])
    assert not problems, f"{case.name} on {engine}: {case.data.get('description', '')}\n" + \
        "\n".join(problems)


ACCOUNT_CASES = [c for c in RUN_CASES if "accounts_expected" in c.data]


def test_account_cases_exist():
    assert len(ACCOUNT_CASES) >= 5


@pytest.mark.parametrize("engine", WITH_EVALUATORS)
@pytest.mark.parametrize("case", ACCOUNT_CASES, ids=lambda c: c.name)
def test_account_case(case, engine):
    ensure(engine)
    problems = compare(run_accounts_case(case, engine), case.data["accounts_expected"])
    assert not problems, f"{case.name} accounts on {engine}: {case.data.get('description', '')}\n" \
        + "\n".join(problems)


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c.name)
def test_error_case(case):
    err = compile_error(case)
    assert err is not None, f"{case.name} compiled, but should fail"
    want = case.data["error"]
    found = [(d.span.line, d.span.column, d.message) for d in err.diagnostics if d.span]
    assert any(line == want["line"] and col == want["column"] and want["message"] in msg
               for line, col, msg in found), f"expected {want}, got {found}"


def test_every_evaluator_keys_a_float_key_as_the_loader_does():
    """A key given as 7.0 (pandas makes an int column with gaps float) is the lead "7"."""
    model = leadscore.loads(
        'schema {\n  lead { key id  field x: int }\n'
        '  event { lead lead_id  time ts  type kind  types visit }\n}\n'
        'score s {\n  rule "big" +10 when x > 5\n  rule "visits" +1 per event visit\n}\n')
    lead, event = {"id": 7.0, "x": 8}, {"lead_id": 7.0, "ts": "2026-01-01", "kind": "visit"}
    as_of = "2026-02-01T00:00:00Z"
    assert [r["id"] for r in model.score([lead], [event], as_of)] == ["7"]
    stream = model.stream()
    stream.lead(lead)
    assert stream.update(event)["id"] == "7"
    assert stream.score(7.0, as_of) == stream.score("7", as_of)
    assert stream.score("7", as_of)["s"] == 11.0
    leads = leads_from_dicts([lead], model.ir.schema)
    assert evaluator("interpreter", model.ir).score(leads, None, parse_timestamp(as_of))[0][0] == "7"
