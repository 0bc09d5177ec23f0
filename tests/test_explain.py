"""explain and test blocks: the interpreter, the generated code and the SQL agree."""

import dataclasses
import json
import math
import uuid

import pytest
from click.testing import CliRunner

import leadscore
from conftest import ROOT
from corpus import load_cases
from engines import engine_params, ensure
from leadscore.cli import main
from leadscore.compiler import compile_file, compile_source
from leadscore.runtime.accounts import run_accounts
from leadscore.runtime.data import (
    csv_text_records,
    empty_events,
    events_from_records,
    leads_from_dicts,
    leads_from_records,
    parse_timestamp,
)
from leadscore.runtime.engines import evaluator
from leadscore.runtime.explain import explain, explain_account, explain_account_sql
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


def same_row(got: tuple, want: tuple) -> bool:
    """An explain row: the same step, the same values (numbers within 1e-9)."""
    def same(a, b) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        return a == b and (a is None) == (b is None)
    return len(got) == len(want) and all(same(a, b) for a, b in zip(got, want))


@pytest.mark.parametrize("engine", engine_params())
def test_explain_sql_equals_python(scored, engine):
    """Every lead's every step from the explain query equals the interpreter's."""
    ensure(engine)
    model, res = scored
    if engine == "python":
        pytest.skip("the interpreter is the reference here")
    rows = run_query("explain", engine, model, res.leads, res.events, AS_OF)
    want = [r for key in sorted(res.leads.keys)
            for r in explain(model, res.leads, res.events, key, AS_OF).rows()]
    assert len(rows) == len(want) == 300 * len(model.explain)
    for got, exp in zip(rows, want):
        assert same_row(got, exp), (got, exp)


def _parts_add_up(ex) -> None:
    """Each score is its rules' points through its cap, decays and floor; the total is the
    scores' sum (unless the model writes its own) through the clamp."""
    scores = {}
    for ln in ex.lines:
        kind, subject = ln.step.kind, ln.step.subject
        if kind == "score":
            scores[subject] = {"value": ln.value, "running": 0.0}
        elif kind == "rule":
            if ln.before is not None:
                cap = ln.step.facts["cap"]
                assert ln.value == (min(ln.before, cap) if cap >= 0 else max(ln.before, cap))
            scores[subject]["running"] += ln.value
        elif kind in ("score_cap", "decay", "floor"):
            assert ln.before == pytest.approx(scores[subject]["running"], rel=1e-9, abs=1e-9)
            if kind == "score_cap":
                cap = ln.step.facts["cap"]
                assert ln.value == (min(ln.before, cap) if cap >= 0 else max(ln.before, cap))
            elif kind == "floor":
                assert ln.value == max(ln.before, ln.step.facts["floor"])
            else:
                assert ln.value <= ln.before or ln.before < 0
            scores[subject]["running"] = ln.value
        elif kind == "total":
            for s in scores.values():
                assert s["running"] == pytest.approx(s["value"], rel=1e-9, abs=1e-9)
            f = ln.step.facts
            unclamped = ln.before if f["low"] is not None else ln.value
            if not f["formula"]:
                assert unclamped == pytest.approx(sum(s["value"] for s in scores.values()),
                                                  rel=1e-9, abs=1e-9)
            if f["low"] is not None and unclamped is not None:
                assert ln.value == max(f["low"], min(unclamped, f["high"]))
    assert ex.outputs["total"] == next(ln.value for ln in ex.of("total"))


def _case_inputs(case):
    text, path = case.model_text
    model = compile_source(text, path)
    header, rows = csv_text_records(case.data["leads"].strip("\n") + "\n")
    leads = leads_from_records("leads", header, rows, model.schema, strict=True)
    events = empty_events(model.schema)
    if model.schema.has_events and case.data.get("events", "").strip():
        header, rows = csv_text_records(case.data["events"].strip("\n") + "\n")
        events = events_from_records("events", header, rows, model.schema, strict=True)
    return model, leads, events, parse_timestamp(case.data["as_of"])


CASES = [c for c in load_cases() if "error" not in c.data]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_parts_sum_to_the_total_on_every_conformance_case(case):
    model, leads, events, as_of = _case_inputs(case)
    rows = {r[0]: r for r in evaluator("python", model).score(leads, events, as_of)}
    for key in leads.keys:
        ex = explain(model, leads, events, key, as_of)
        assert tuple(ex.outputs.values()) == rows[key]
        _parts_add_up(ex)


@pytest.mark.parametrize("engine", engine_params(["duckdb", "sqlite"]))
def test_parts_from_sql_equal_python_on_every_conformance_case(engine):
    for case in CASES:
        model, leads, events, as_of = _case_inputs(case)
        rows = run_query("explain", engine, model, leads, events, as_of)
        want = [r for key in sorted(leads.keys)
                for r in explain(model, leads, events, key, as_of).rows()]
        assert len(rows) == len(want), case.name
        for got, exp in zip(rows, want):
            assert same_row(got, exp), (case.name, got, exp)


CLI = ["explain", str(REF), "--lead", "L0257", "--leads", str(LEADS), "--events", str(EVENTS),
       "--as-of", "2026-03-01T00:00:00Z"]


def test_explain_cli_text_and_json():
    res = CliRunner().invoke(main, CLI)
    assert res.exit_code == 0, res.output
    assert "email opens  (11 events, capped at 10 from 11)" in res.output
    assert "decay 1 (-10 every 30d): 0 idle days: 120 -> 120" in res.output
    assert "total = 173 (the model's total formula; within the clamp [0, 200])" in res.output
    assert "mql at 100: threshold met, held back: `pricing_visit within 30d` does not hold" \
        in res.output
    assert "tier nurture (held from sql" in res.output
    data = json.loads(CliRunner().invoke(main, CLI + ["--format", "json"]).output)
    assert data["outputs"]["tier"] == "nurture"
    rules = [s for s in data["steps"] if s["kind"] == "rule"]
    assert sum(s["value"] for s in rules if s["subject"] == "fit") == 53
    md = CliRunner().invoke(main, CLI + ["--format", "markdown"]).output
    assert md.startswith("### lead `L0257`") and "**score fit = 53**" in md
    assert "- +10  email opens  (11 events, capped at 10 from 11)  [line 40]" in md


@pytest.mark.parametrize("engine", engine_params(["duckdb", "sqlite", "datafusion",
                                                  "clickhouse"]))
def test_explain_cli_on_any_engine_prints_the_same(engine):
    ensure(engine)
    want = CliRunner().invoke(main, CLI + ["--format", "json"]).output
    got = CliRunner().invoke(main, CLI + ["--format", "json", "--engine", engine]).output
    assert json.loads(got) == {**json.loads(want), "engine": engine}


def _load_csvs(con, engine: str, prefix: str) -> None:
    """The reference CSVs as the schema's tables (`leads`, `events`) of a database."""
    import csv

    model = compile_file(REF)
    s = model.schema
    ts = {"duckdb": "TIMESTAMP", "sqlite": "TEXT", "postgres": "TIMESTAMP"}[engine]
    types = {"text": "TEXT", "int": "DOUBLE PRECISION", "float": "DOUBLE PRECISION",
             "bool": "BOOLEAN", "timestamp": ts}
    mark = "%s" if engine == "postgres" else "?"
    cur = con.cursor()
    for table, path, cols in (
            (f"{prefix}leads", LEADS, {s.lead_key: "text", **s.lead_fields}),
            (f"{prefix}events", EVENTS, {s.event_lead: "text", s.event_time: "timestamp",
                                         s.event_type: "text", **s.event_fields})):
        with open(path, encoding="utf-8") as f:
            reader = csv.DictReader(f)
            names = [n for n in reader.fieldnames if n in cols]
            rows = [[None if r[n] == "" else r[n] for n in names] for r in reader]
        cur.execute(f"CREATE TABLE {table} ("
                    + ", ".join(f'"{n}" {types[cols[n]]}' for n in names) + ")")
        cur.executemany(f"INSERT INTO {table} VALUES ({', '.join([mark] * len(names))})", rows)
    con.commit()


@pytest.mark.parametrize("engine", engine_params(["duckdb", "sqlite", "postgres"]))
def test_explain_from_db_equals_explain_from_files(engine, tmp_path):
    """A lead in the warehouse: the schema's tables, `--db`, the same explanation."""
    ensure(engine)
    prefix = f"explain_{uuid.uuid4().hex[:6]}_"
    text = REF.read_text(encoding="utf-8")
    model_path = tmp_path / "m.score"
    model_path.write_text(_with_tables(text, prefix + "leads", prefix + "events"),
                          encoding="utf-8")
    if engine == "duckdb":
        import duckdb

        db = str(tmp_path / "crm.duckdb")
        con = duckdb.connect(db)
    elif engine == "sqlite":
        import sqlite3

        db = str(tmp_path / "crm.sqlite")
        con = sqlite3.connect(db)
    else:
        import psycopg

        db = "postgresql://postgres@127.0.0.1:5432/test"
        con = psycopg.connect(db)
    try:
        _load_csvs(con, engine, prefix)
        if engine != "postgres":
            con.close()
        files = ["explain", str(model_path), "--lead", "L0257", "--leads", str(LEADS),
                 "--events", str(EVENTS), "--as-of", "2026-03-01T00:00:00Z"]
        in_db = ["explain", str(model_path), "--lead", "L0257", "--db", db, "--engine", engine,
                 "--as-of", "2026-03-01T00:00:00Z"]
        for fmt in ("json", "text"):
            want = CliRunner().invoke(main, files + ["--format", fmt])
            got = CliRunner().invoke(main, in_db + ["--format", fmt])
            assert got.exit_code == 0, got.output
            if fmt == "json":
                assert json.loads(got.output) == {**json.loads(want.output), "engine": engine}
            else:
                assert got.output == want.output
        missing = CliRunner().invoke(main, in_db[:3] + ["nobody"] + in_db[4:])
        assert missing.exit_code == 1 and "no lead with key 'nobody'" in missing.output
    finally:
        if engine == "postgres":
            cur = con.cursor()
            for t in ("leads", "events"):
                cur.execute(f"DROP TABLE IF EXISTS {prefix}{t}")
            con.commit()
            con.close()


def _with_tables(text: str, leads: str, events: str) -> str:
    """The reference model reading the tables `leads` and `events`."""
    tables = {"lead {": leads, "event {": events}
    out = []
    for line in text.split("\n"):
        out.append(line)
        if line.strip() in tables:  # the schema's blocks (a test's `lead { ... }` is one line)
            out.append(f'    table "{tables[line.strip()]}"')
    return "\n".join(out)


def test_explain_without_tiers_has_no_tier_part(tmp_path):
    path = tmp_path / "m.score"
    path.write_text('schema { lead { key id  field x: int } }\n'
                    'score s { rule "big" +10 when x > 5 }\n', encoding="utf-8")
    leads = tmp_path / "l.csv"
    leads.write_text("id;x\na;7\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["explain", str(path), "--lead", "a", "--leads", str(leads),
                                    "--delimiter", ";"])
    assert res.exit_code == 0, res.output
    assert "score s = 10" in res.output and "total = 10" in res.output
    assert "tier" not in res.output


def test_explain_row_key_and_usage_errors(tmp_path):
    path = tmp_path / "m.score"
    path.write_text('schema { lead { key id  field x: int } }\n'
                    'score s { rule "big" +10 when x > 5 }\n', encoding="utf-8")
    leads = tmp_path / "l.csv"
    leads.write_text("x\n1\n9\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["explain", str(path), "--lead", "3", "--leads", str(leads),
                                    "--row-key"])
    assert res.exit_code == 0, res.output
    assert "lead 3 at" in res.output and "+10  big" in res.output
    res = CliRunner().invoke(main, ["explain", str(path), "--leads", str(leads)])
    assert res.exit_code == 2 and "--lead KEY, or --account KEY" in res.output
    res = CliRunner().invoke(main, ["explain", str(path), "--lead", "a"])
    assert res.exit_code == 2 and "pass --leads PATH, or --db" in res.output


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
    assert [(ln.step.label, ln.holds) for ln in ex.of("tier")] == [("cold", None), ("mql", True)]
    assert [(g.step.facts["condition"], g.holds) for g in ex.of("gate")] == [("pricing", False)]
    assert ex.outputs["held_from"] == "mql"


GATED = ('schema { lead { key id  field pts: int  field pricing: bool  field size: int } }\n'
         'score s { rule "big" +160 when pts >= 160 }\n'
         'tiers { cold; mql at 100 require pricing require size > 10 }\n')
GATED_LEADS = [{"id": "a", "pts": 160, "pricing": False, "size": 50},
               {"id": "b", "pts": 160, "pricing": True, "size": 5},
               {"id": "c", "pts": 160, "pricing": False, "size": 1},
               {"id": "d", "pts": 160, "pricing": True, "size": 20}]


def failed_gates(ex) -> list[str]:
    return [g.step.facts["condition"] for g in ex.of("gate") if not g.holds]


def test_explain_names_exactly_the_gates_that_fail():
    model = compile_source(GATED)
    leads = leads_from_dicts(GATED_LEADS, model.schema)
    failed = {k: failed_gates(explain(model, leads, None, k, AS_OF)) for k in "abcd"}
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
        failed = failed_gates(explain(model, leads, None, row["id"], AS_OF))
        texts = model.gates["tier:default:mql:gate"]
        assert [texts[j].text for j, g in enumerate(gates) if not row[g]] == failed


def test_account_explain_adds_up_to_the_account_roll_up(scored):
    model, res = scored
    accounts = {r[0]: r for r in run_accounts(model, res.leads, res.events, AS_OF, "python")}
    for key, (_, score, total, tier) in accounts.items():
        ex = explain_account(model, res.leads, res.events, key.upper(), AS_OF)
        out = ex.account.outputs
        assert (out["score"], out["total"], out["tier"]) == (score, total, tier)
        # `score = sum(total)`: the members' totals add up to the account's score
        given = [ln.value for _, lines in ex.members for ln in lines if ln.step.label == "sum(total)"]
        assert sum(given) == pytest.approx(score, rel=1e-12)
        committee = [ln for _, lines in ex.members for ln in lines
                     if ln.step.facts["fn"] == "count"]
        rule = next(ln for ln in ex.account.lines if ln.step.kind == "rule")
        assert rule.value == (25 if sum(bool(ln.holds) for ln in committee) >= 3 else 0)
        assert ex.account.lines[-1].step.subject == "tier"


def test_account_explain_cli(tmp_path):
    args = ["explain", str(REF), "--account", "ACME", "--leads", str(LEADS), "--events",
            str(EVENTS), "--as-of", "2026-03-01T00:00:00Z"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "members: 38" in res.output and "+25  buying committee" in res.output
    assert "target at 150: reached" in res.output
    data = json.loads(CliRunner().invoke(main, args + ["--format", "json"]).output)
    assert len(data["members"]) == 38 and data["outputs"]["tier"] == "target"
    res = CliRunner().invoke(main, args[:3] + ["nobody"] + args[4:])
    assert res.exit_code == 1 and "no account 'nobody'" in res.output
    sql = CliRunner().invoke(main, args + ["--engine", "duckdb", "--format", "json"])
    assert sql.exit_code == 0, sql.output
    assert json.loads(sql.output)["outputs"]["tier"] == "target"


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("engine", engine_params(["duckdb", "sqlite", "postgres", "mysql",
                                                  "clickhouse", "datafusion", "spark"]))
def test_account_explain_sql_equals_python(scored, engine):
    """The account explain query: every member's contributions and the account's steps, as
    the interpreter gives them (account sums within 1e-9: the engine's order of additions)."""
    ensure(engine)
    model, res = scored
    for key in ("acme", "Wayne"):
        want = explain_account(model, res.leads, res.events, key, AS_OF)
        got = explain_account_sql(model, engine, key, AS_OF, res.leads, res.events)
        assert [k for k, _ in got.members] == [k for k, _ in want.members]
        for (_, a), (_, b) in zip(got.members, want.members):
            assert all(_close(x.values[n], y.values[n]) for x, y in zip(a, b)
                       for n in x.values)
        assert len(got.account.lines) == len(want.account.lines)
        for x, y in zip(got.account.lines, want.account.lines):
            assert all(_close(x.values[n], y.values[n]) for n in x.values), (x, y)


def test_explain_steps_round_trip_through_the_ir_file(tmp_path):
    from leadscore.compiler.ir_json import from_json

    model = compile_file(REF)
    again = from_json(json.loads(model.dumps()))
    assert again.explain == model.explain and again.account.explain == model.account.explain


ACCOUNT_CASES = [c for c in CASES if "accounts_expected" in c.data]


@pytest.mark.parametrize("case", ACCOUNT_CASES, ids=[c.name for c in ACCOUNT_CASES])
def test_account_explain_equals_the_roll_up_on_every_account_case(case):
    model, leads, events, as_of = _case_inputs(case)
    for key, *values in run_accounts(model, leads, events, as_of, "python"):
        ex = explain_account(model, leads, events, key, as_of)
        out = ex.account.outputs
        assert [out[c] for c, _ in model.account.outputs] == values
        got = explain_account_sql(model, "duckdb", key, as_of, leads, events)
        assert all(_close(x.values[n], y.values[n]) for x, y in
                   zip(got.account.lines, ex.account.lines) for n in x.values), case.name
