"""Every executed engine gives the Python evaluator's answer: example data, Unicode, hostile strings."""

import pyarrow as pa
import pytest

import leadscore
from conftest import ROOT
from engines import engine_params, ensure
from leadscore.compiler import compile_file
from leadscore.runtime.data import parse_timestamp
from leadscore.runtime.engines import run
from leadscore.runtime.runner import score_files

AS_OF = parse_timestamp("2026-03-01T00:00:00Z")


@pytest.fixture(scope="module")
def reference():
    model = compile_file(ROOT / "examples" / "reference.score")
    res = score_files(model, ROOT / "examples" / "data" / "leads.csv",
                      ROOT / "examples" / "data" / "events.csv", AS_OF, "python")
    return model, res


@pytest.mark.parametrize("engine", engine_params())
def test_reference_example_identical(reference, engine):
    ensure(engine)
    model, res = reference
    assert run(model, res.leads, res.events, AS_OF, engine) == res.rows


HOSTILE = [
    "it's", 'say "hi"', "back\\slash", "100%", "under_score", "new\nline", "tab\tstop",
    "TECNOLOGÍA", "São Paulo", "ΣΑΣ", "İstanbul", "日本語", "emoji 🚀", "' OR 1=1 --",
    "DROP TABLE leads;", "$1", ":as_of_us", "?", "%s", "\\z", "a.b", "[x]", "(y)", "^$",
    "trailing space ", " leading", "",
]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")


def hostile_model() -> str:
    rules = []
    for i, s in enumerate(HOSTILE):
        lit = _escape(s)
        rules.append(f'  rule "eq {i}" +1 when `select` == "{lit}"')
        rules.append(f'  rule "sw {i}" +2 when `select` starts_with "{lit}"')
        rules.append(f'  rule "ct {i}" +4 when `Lead Source` contains "{lit}"')
        rules.append(f'  rule "ew {i}" +8 when `Lead Source` ends_with "{lit}"')
    return (
        'schema {\n  lead { key `order`  field `select`: text  field `Lead Source`: text\n'
        '         field `from`: int }\n'
        '  event { lead `group`  time `when`  type `table`  field `where`: text }\n}\n'
        'score `by` {\n' + "\n".join(rules) + "\n"
        '  rule "quoted event field" +16 per event where `where` == "it\'s"\n'
        '  rule "regex" +32 when `select` matches "^it\'s|\\\\$1|\\\\[x\\\\]|日本"\n'
        '}\n'
        'segment `group` when `from` > 1\n'
        'tiers { cold; `hot one` at 10 }\n'
    )


def hostile_data():
    leads, events = [], []
    for i, s in enumerate(HOSTILE):
        for j, v in enumerate([s, s.upper(), "x" + s + "y"]):
            key = f"k'{i}\"{j}"
            leads.append({"order": key, "select": v, "Lead Source": v[::-1] + v, "from": i % 3})
            events.append({"group": key, "when": "2026-02-01T00:00:00Z", "table": "visit",
                           "where": v})
    return leads, events


def test_hostile_model_compiles_and_fires():
    model = leadscore.loads(hostile_model(), "hostile.score")
    leads, events = hostile_data()
    rows = model.score(leads, events, "2026-03-01T00:00:00Z")
    assert len(rows) == len(leads)
    assert sum(1 for r in rows if r["by"] > 0) > len(rows) // 2


@pytest.mark.parametrize("engine", engine_params())
def test_hostile_strings_round_trip(engine):
    ensure(engine)
    model = leadscore.loads(hostile_model(), "hostile.score")
    leads, events = hostile_data()
    expected = model.score(leads, events, "2026-03-01T00:00:00Z", engine="python")
    assert model.score(leads, events, "2026-03-01T00:00:00Z", engine=engine) == expected


def _chars() -> list[str]:
    return [chr(i) for i in range(0x20, 0x30000)
            if not 0xD800 <= i <= 0xDFFF and chr(i).isprintable()]


@pytest.mark.parametrize("engine", engine_params(["duckdb", "sqlite", "postgres", "mysql",
                                                  "clickhouse", "datafusion", "spark"]))
def test_case_folding_equals_python_for_every_character(engine):
    """Unicode text compares the same everywhere: each engine's lowering, char by char."""
    ensure(engine)
    chars = _chars()
    if engine in ("mysql", "spark"):
        chars = chars[::7]  # row-at-a-time loading is slow; a wide sample still covers scripts
    model = leadscore.loads('schema { lead { key id  field t: text } }\n'
                            'score s { rule "same" +1 when t == t }\n'
                            'segment matched when t in ["σ"]\n', "fold.score")
    leads = [{"id": f"{i:06d}", "t": c} for i, c in enumerate(chars)]
    rows = model.score(leads, [], "2026-03-01T00:00:00Z", engine=engine)
    want = model.score(leads, [], "2026-03-01T00:00:00Z", engine="python")
    bad = [(leads[i]["t"], a, b) for i, (a, b) in enumerate(zip(rows, want)) if a != b]
    assert not bad, bad[:5]


def test_arrow_leads_on_an_engine():
    model = leadscore.loads('schema { lead { key id  field t: text } }\n'
                            'score s { rule "r" +1 when t == "A" }\n', "a.score")
    rows = model.score(pa.table({"id": ["1", "2"], "t": ["a", "b"]}), [], "2026-01-01",
                       engine="sqlite")
    assert [r["s"] for r in rows] == [1.0, 0.0]


def test_engine_names_match_the_registry():
    from leadscore.cli.common import IN_DATABASE
    from leadscore.engines import DIALECTS, EXECUTED
    from leadscore.runtime.engines import ENGINES

    assert ENGINES == (EXECUTED[0], "python", *EXECUTED[1:])
    assert IN_DATABASE == tuple(name for name, d in DIALECTS.items() if d.in_database)


def test_generic_sql_code_asks_capabilities_not_engine_names():
    from leadscore.engines import DIALECTS

    src = ROOT / "src" / "leadscore"
    generic = [src / "backends" / f for f in ("sql.py", "explain_sql.py", "account_sql.py")]
    generic += [src / "runtime" / "warehouses.py", *sorted((src / "compiler").rglob("*.py"))]
    for path in generic:
        text = path.read_text(encoding="utf-8")
        for name in DIALECTS:
            assert f'"{name}"' not in text and f"'{name}'" not in text, (path, name)


def test_capability_flags_choose_the_spelling():
    import dataclasses

    from leadscore.backends.sql import to_sql
    from leadscore.engines import SQLITE

    model = compile_file(ROOT / "examples" / "reference.score")
    assert "FILTER(WHERE" not in to_sql(model, SQLITE).replace(" ", "")
    with_filter = dataclasses.replace(SQLITE, filter_clause=True)
    assert "FILTER(WHERE" in to_sql(model, with_filter).replace(" ", "")


def test_generated_only_dialect_does_not_run(reference):
    from leadscore.engines import get_dialect
    from leadscore.runtime.warehouses import EngineError, Job

    model, res = reference
    with pytest.raises(EngineError, match="generated-only"):
        get_dialect("snowflake").run(Job(model, res.leads, res.events, AS_OF))
    with pytest.raises(ValueError, match="unknown engine"):
        run(model, res.leads, res.events, AS_OF, "snowflake")
