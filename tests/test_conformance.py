"""The conformance corpus: every case on every engine, against hand-computed results."""

import pytest

from corpus import compare, compile_error, load_cases, run_accounts_case, run_case
from engines import engine_params, ensure

CASES = load_cases()
RUN_CASES = [c for c in CASES if "error" not in c.data]
ERROR_CASES = [c for c in CASES if "error" in c.data]


def test_corpus_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("engine", engine_params())
@pytest.mark.parametrize("case", RUN_CASES, ids=lambda c: c.name)
def test_case(case, engine):
    ensure(engine)
    problems = compare(run_case(case, engine), case.data["expected"])
    assert not problems, f"{case.name} on {engine}: {case.data.get('description', '')}\n" + \
        "\n".join(problems)


ACCOUNT_CASES = [c for c in RUN_CASES if "accounts_expected" in c.data]


def test_account_cases_exist():
    assert len(ACCOUNT_CASES) >= 5


@pytest.mark.parametrize("engine", engine_params())
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
