"""examples/es: a model written entirely in Spanish checks, formats, lints, passes its tests and
scores its data identically on every engine and evaluator, accounts included."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from conftest import ROOT
from corpus import EVALUATORS
from engines import engine_params, ensure
from leadscore.cli import main
from leadscore.compiler import compile_file
from leadscore.fmt import format_source
from leadscore.lint import lint_file
from leadscore.runtime.accounts import run_accounts
from leadscore.runtime.data import parse_timestamp, read_events, read_leads
from leadscore.runtime.engines import evaluator, run
from leadscore.runtime.testing import run_tests

ES = ROOT / "examples" / "es"
MODEL = ES / "modelo.score"
AS_OF = "2026-03-01T00:00:00Z"


@pytest.fixture(scope="module")
def model():
    return compile_file(MODEL)


@pytest.fixture(scope="module")
def data(model):
    return (read_leads(ES / "leads.csv", model.schema), read_events(ES / "eventos.csv", model.schema),
            parse_timestamp(AS_OF))


@pytest.fixture(scope="module")
def reference(model, data):
    leads, events, as_of = data
    return run(model, leads, events, as_of, "python"), run_accounts(model, leads, events, as_of,
                                                                    "python")


def _rows(name: str) -> list[dict[str, str]]:
    with open(ES / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_every_name_is_spanish_and_kept_as_written(model):
    assert [c for c, _ in model.outputs][:2] == ["perfil", "interés"]
    assert model.schema.lead_key == "código"
    assert {"país", "empleados"} <= set(model.schema.lead_fields)
    assert "visita_página" in model.schema.event_types
    assert model.tiers["default"] == ["frío", "tibio", "caliente"]
    assert model.account.field == "empresa" and model.account.tiers == ["vigilar", "objetivo"]


def test_fmt_leaves_it_unchanged():
    text = MODEL.read_text("utf-8")
    assert format_source(text, str(MODEL)) == text


def test_lint_finds_nothing():
    assert lint_file(str(MODEL)).findings == []


@pytest.mark.parametrize("engine", engine_params())
def test_its_test_blocks_pass(model, engine):
    ensure(engine)
    report = run_tests(model, [engine])
    assert report.ok, report.failures
    assert report.tests == 3 and len(report.covered) == len(model.rules)


@pytest.mark.parametrize("engine", engine_params() + engine_params(list(EVALUATORS)))
def test_every_engine_gives_the_same_rows(model, data, reference, engine):
    ensure(engine)
    leads, events, as_of = data
    rows, accounts = reference
    if engine in EVALUATORS:
        got = evaluator(engine, model).score(leads, events, as_of)
    else:
        got = run(model, leads, events, as_of, engine)
    assert got == rows
    if engine == "interpreter":
        assert evaluator(engine, model).accounts(leads, events, as_of) == accounts
    elif engine == "stream":  # the stream's lead rows, rolled up by the Python account pass
        assert run_accounts(model, leads, events, as_of, "python", lead_rows=got) == accounts
    else:
        assert run_accounts(model, leads, events, as_of, engine) == accounts


def test_accounts_are_spelled_by_their_member_with_the_smallest_key(reference):
    """Computed from the CSV alone: members are the leads with a company that are not the
    competitor's; the spelling is that of the smallest key (plain `min`, code points)."""
    first: dict[str, tuple[str, str]] = {}
    for r in _rows("leads.csv"):
        if r["empresa"] and not r["correo"].lower().endswith("@rival.es"):
            key = r["empresa"].lower()
            first[key] = min(first.get(key, (r["código"], r["empresa"])),
                             (r["código"], r["empresa"]))
    _, accounts = reference
    assert [a[0] for a in accounts] == sorted(spelled for _, spelled in first.values())
    assert len({a[0].lower() for a in accounts}) == len(accounts) == 8
    assert any(a[0] != a[0].lower() for a in accounts) and any(a[0] == a[0].lower()
                                                               for a in accounts)


def test_calibrate_accounts_ranks_the_account_totals(reference):
    res = CliRunner().invoke(main, [
        "calibrate", str(MODEL), "--leads", str(ES / "leads.csv"), "--events",
        str(ES / "eventos.csv"), "--accounts", str(ES / "cuentas.csv"), "--outcome", "ganada",
        "--as-of", AS_OF, "--format", "json", "--min-leads", "1"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    won = {r["empresa"].lower(): int(r["ganada"]) for r in _rows("cuentas.csv")}
    _, accounts = reference
    truth = [(a[2], won[a[0].lower()]) for a in accounts]  # (total, outcome) per account
    pos = [t for t, y in truth if y]
    neg = [t for t, y in truth if not y]
    pairs = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    assert report["unit"] == "accounts"
    assert report["counts"]["evaluated"] == len(truth) == 8
    assert report["counts"]["converted"] == sum(y for _, y in truth)
    assert report["auc"] == pytest.approx(pairs / (len(pos) * len(neg)), abs=1e-12)
    tiers = {row["name"]: (row["leads"], row["converted"]) for row in report["tiers"]}
    for name in ("vigilar", "objetivo"):
        members = [y for a, (_, y) in zip(accounts, truth) if a[3] == name]
        assert tiers[name] == (len(members), sum(members))


def test_calibrate_accounts_needs_an_account_block(tmp_path):
    res = CliRunner().invoke(main, [
        "calibrate", str(ROOT / "examples" / "starter.score"), "--leads",
        str(ROOT / "examples" / "data" / "leads.csv"), "--events",
        str(ROOT / "examples" / "data" / "events.csv"), "--accounts", str(ES / "cuentas.csv"),
        "--outcome", "ganada"])
    assert res.exit_code == 2
    assert "has no `account by` block" in res.output
