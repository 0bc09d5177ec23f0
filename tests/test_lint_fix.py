"""`leadscore lint --fix`: every mechanical fix, the fixpoint, and what a fix must keep."""

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings

import leadscore
from generators import Dataset, ModelCase, example_count, examples
from leadscore.cli import main
from leadscore.compiler import compile_source
from leadscore.compiler.diagnostics import Source, Span
from leadscore.lint import RULES, LintConfig, lint_source
from leadscore.lint.edits import Edit, Text, apply_edits
from leadscore.lint.fix import MAX_FIX_ROUNDS, fix_source

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "lint_fix" / "every_fix.score"
FIXED = ROOT / "tests" / "lint_fix" / "every_fix.fixed.score"
EXAMPLES = sorted((ROOT / "examples").rglob("*.score"))
ALL = LintConfig(select=["ALL"])
FIXABLE = sorted(code for code, r in RULES.items() if r.fixable)


def invoke(*args: str, stdin: str | None = None):
    return CliRunner().invoke(main, ["lint", *args], input=stdin, catch_exceptions=False)


# ---------------------------------------------------------------- the fixture
def test_the_fixture_has_a_fixable_finding_of_every_fixable_rule():
    found = lint_source(FIXTURE.read_text(), str(FIXTURE), ALL).findings
    assert {f.code for f in found if f.fix} == set(FIXABLE)
    assert all(f.fix for f in found), [f for f in found if not f.fix]


def test_fix_makes_the_expected_file():
    """The expected file is exact: lines without a finding keep their layout and comments."""
    fixed = fix_source(FIXTURE.read_text(), str(FIXTURE), ALL)
    assert fixed.text == FIXED.read_text()
    assert fixed.remaining == []  # it passes lint, every rule selected
    compile_source(fixed.text, str(FIXTURE))  # and still compiles
    assert {f.code for f in fixed.applied} == set(FIXABLE)


def test_fix_is_idempotent():
    again = fix_source(FIXED.read_text(), str(FIXED), ALL)
    assert again.text == FIXED.read_text() and again.applied == []


def test_only_selected_and_unsuppressed_findings_are_fixed():
    model = FIXTURE.read_text()
    fixed = fix_source(model, str(FIXTURE), LintConfig(select=["LS401"]))
    assert {f.code for f in fixed.applied} == {"LS401"}
    assert "matches \"manager\"" in fixed.text
    suppressed = model.replace('let helper = employees >= 200',
                               'let helper = employees >= 200  # leadscore: ignore[LS401]')
    fixed = fix_source(suppressed, str(FIXTURE), LintConfig(select=["LS401"]))
    assert "let helper" in fixed.text and "let unused_one" not in fixed.text


def test_rounds_are_bounded():
    # a chain of lets, each used only by the next: one let goes per round
    chain = "\n".join(f"let l{i} = {'employees >= 1' if i == 0 else f'l{i - 1}'}"
                      for i in range(MAX_FIX_ROUNDS + 3))
    model = f'schema {{ lead {{ key id  field employees: int }} }}\n{chain}\n' \
            'score s { rule "r" +1 when employees > 3 }\n'
    fixed = fix_source(model, "chain.score", LintConfig(select=["LS401"]))
    assert len(fixed.applied) == MAX_FIX_ROUNDS
    assert [f.code for f in fixed.remaining] == ["LS401"]
    assert fix_source(fixed.text, "chain.score", LintConfig(select=["LS401"])).remaining == []


def test_a_model_that_does_not_compile_is_left_alone():
    broken = FIXTURE.read_text().replace("employees >= 50", "employes >= 50")
    fixed = fix_source(broken, str(FIXTURE), ALL)
    assert fixed.text == broken and fixed.applied == []
    assert {f.code for f in fixed.remaining} == {"LS000"}


@pytest.fixture
def breaking_rule():
    """A rule whose fix breaks the model (it deletes the score's `{`): what a buggy fix in a
    future rule would do. Registered for the test only."""
    from leadscore.lint.edits import Fix
    from leadscore.lint.registry import Hit, Rule, register

    def check(facts):
        for s in facts.scores.values():
            brace = facts.doc.text.index("{", facts.doc.range(s.name.span)[1])
            yield Hit(s.name.span, "breaks", None, Fix("Break the model", (
                Edit(facts.doc.span(brace, brace + 1), ""),)))

    register(Rule("LS999", "test-breaking-fix", "warning", "a fix that breaks", check, True))
    yield "LS999"
    del RULES["LS999"]


def test_a_fix_that_would_break_the_model_is_not_made(breaking_rule: str):
    model = FIXTURE.read_text()
    fixed = fix_source(model, str(FIXTURE), LintConfig(select=[breaking_rule, "LS401"]))
    assert {f.code for f in fixed.applied} == {"LS401"}  # the other fixes are still made
    assert "let helper" not in fixed.text and "score fit cap 100 floor -50 {" in fixed.text
    assert {f.code for f in fixed.remaining} == {breaking_rule}
    compile_source(fixed.text, str(FIXTURE))


# ---------------------------------------------------------------- the examples
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_fix_to_a_model_that_passes_and_compiles(path: Path):
    fixed = fix_source(path.read_text(), str(path), ALL)
    assert not [f for f in fixed.remaining if f.fix], "a fix left behind"
    assert not [f for f in fixed.remaining if f.code in {f.code for f in fixed.applied}]
    compile_source(fixed.text, str(path))
    assert fix_source(fixed.text, str(path), ALL).text == fixed.text


def _scores(tmp_path: Path, name: str, model: str) -> list[dict]:
    p = tmp_path / f"{name}.score"
    p.write_text(model)
    out = tmp_path / f"{name}.csv"
    data = ROOT / "examples" / "data"
    res = CliRunner().invoke(main, ["run", str(p), "--leads", str(data / "leads.csv"),
                                    "--events", str(data / "events.csv"),
                                    "--as-of", "2026-03-01T00:00:00Z", "--out", str(out)])
    assert res.exit_code == 0, res.output
    with out.open() as f:
        return list(csv.DictReader(f))


def test_the_reference_example_scores_the_same_after_fix(tmp_path: Path):
    """LS302's rewrite (`matches "student"` -> `contains "student"`) keeps every score."""
    ref = ROOT / "examples" / "reference.score"
    fixed = fix_source(ref.read_text(), str(ref), ALL)
    assert [f.code for f in fixed.applied] == ["LS302"]
    assert _scores(tmp_path, "before", ref.read_text()) == _scores(tmp_path, "after", fixed.text)


# the fixes docs/lint.md says keep every score
KEEPS_SCORES = LintConfig(select=["LS001", "LS107", "LS110", "LS204", "LS207", "LS302", "LS401"])


@settings(max_examples=example_count(60), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(examples())
def test_fixes_that_keep_scores_keep_them_on_random_models(example: tuple[ModelCase, Dataset]):
    case, data = example
    fixed = fix_source(case.text, "gen.score", KEEPS_SCORES)
    for f in fixed.applied:
        event(f"fixed {f.code}")
    if not fixed.applied:
        return
    assert fix_source(fixed.text, "gen.score", KEEPS_SCORES).applied == []
    before = leadscore.loads(case.text).score(data.leads, data.events, data.as_of)
    after = leadscore.loads(fixed.text).score(data.leads, data.events, data.as_of)
    assert list(after) == list(before), fixed.text


HOSTILE = sorted((ROOT / "tests" / "errors").glob("*.score")) + sorted(
    (ROOT / "tests" / "hostile" / "rulefiles").glob("*.score"))


@pytest.mark.parametrize("path", HOSTILE, ids=lambda p: p.name)
def test_fix_never_fails_on_broken_or_hostile_files(path: Path):
    text = path.read_text("utf-8", errors="replace")
    fixed = fix_source(text, str(path), ALL)
    if fixed.applied:
        compile_source(fixed.text, str(path))


# ---------------------------------------------------------------- imports
def test_a_base_model_is_never_edited_from_its_importer(tmp_path: Path):
    base = tmp_path / "base.score"
    base.write_text(FIXTURE.read_text())
    product = tmp_path / "product.score"
    product.write_text('import "base.score"\nlet mine = employees >= 7\n')
    fixed = fix_source(product.read_text(), str(product), ALL)
    assert fixed.text == 'import "base.score"\n'
    assert base.read_text() == FIXTURE.read_text()


# ---------------------------------------------------------------- edits
def _doc(text: str) -> Text:
    return Text(Source("m.score", text))


def _span(doc: Text, needle: str) -> Span:
    a = doc.text.index(needle)
    return doc.span(a, a + len(needle))


@pytest.mark.parametrize(("text", "needle", "want"), [
    ("a\nlet x = 1\nb\n", "let x = 1", "a\nb\n"),
    ("a\n  let x = 1   # why\nb\n", "let x = 1", "a\nb\n"),
    ("a\n\nlet x = 1\n\nb\n", "let x = 1", "a\n\nb\n"),  # one blank line stays
    ("let x = 1; let y = 2\n", "let x = 1", "let y = 2\n"),
    ("let x = 1; let y = 2\n", "let y = 2", "let x = 1\n"),
    ("let x = 1\n", "let x = 1", ""),
])
def test_remove_statement(text: str, needle: str, want: str):
    doc = _doc(text)
    assert apply_edits(text, [doc.remove_statement(_span(doc, needle))]) == want


def test_remove_item_takes_one_comma():
    text = 'x in ["a", "b", "c"]'
    doc = _doc(text)
    items = [_span(doc, '"a"'), _span(doc, '"b"'), _span(doc, '"c"')]
    got = [apply_edits(text, [doc.remove_item(items, i)]) for i in range(3)]  # type: ignore[list-item]
    assert got == ['x in ["b", "c"]', 'x in ["a", "c"]', 'x in ["a", "b"]']
    assert doc.remove_item(items[:1], 0) is None  # an empty list is no fix


def test_overlapping_edits_are_refused():
    doc = _doc("abcdef")
    with pytest.raises(ValueError, match="overlapping"):
        apply_edits(doc.text, [Edit(doc.span(0, 3), "x"), Edit(doc.span(2, 4), "y")])
    assert apply_edits(doc.text, [Edit(doc.span(0, 3), "x"), Edit(doc.span(3, 4), "y")]) == "xyef"


def test_columns_count_characters():
    text = 'let é = "ü"; let x = 1\n'
    doc = _doc(text)
    assert apply_edits(text, [doc.remove_statement(_span(doc, "let x = 1"))]) == 'let é = "ü"\n'


# ---------------------------------------------------------------- docs and the CLI
def test_docs_say_which_rules_are_fixable():
    docs = (ROOT / "docs" / "lint.md").read_text()
    sections = re.split(r"^## (LS\d{3}) ", docs, flags=re.M)[1:]
    said = {code: "**Autofix:** yes" in body for code, body in zip(sections[::2], sections[1::2])}
    assert said == {code: r.fixable for code, r in RULES.items()}


def test_cli_fix_rewrites_and_reports_what_is_left(tmp_path: Path):
    p = tmp_path / "m.score"
    p.write_text(FIXTURE.read_text())
    res = invoke(str(p), "--isolated", "--select", "ALL", "--fix")
    assert res.exit_code == 0, res.output
    assert f"fixed 31 findings in {p}" in res.output and "no findings" in res.output
    assert p.read_text() == FIXED.read_text()


def test_cli_diff_changes_nothing(tmp_path: Path):
    p = tmp_path / "m.score"
    p.write_text(FIXTURE.read_text())
    res = invoke(str(p), "--isolated", "--select", "LS302", "--diff")
    assert res.exit_code == 1
    assert f"--- {p}\n+++ {p} (fixed)\n" in res.output
    assert '+  rule "title"   +10 when title contains "manager"' in res.output
    assert p.read_text() == FIXTURE.read_text()
    res = invoke(str(FIXED), "--isolated", "--select", "ALL", "--diff")
    assert (res.exit_code, res.output) == (0, "")


def test_cli_fix_and_diff_together_is_a_usage_error():
    res = invoke(str(FIXTURE), "--fix", "--diff")
    assert res.exit_code == 2 and "give one" in res.output


def test_cli_json_carries_the_fix():
    res = invoke(str(FIXTURE), "--isolated", "--select", "LS105", "--format", "json")
    fixes = [f["fix"] for f in json.loads(res.output)["findings"]]
    assert fixes[0]["title"] == "Write `cap -30`"
    assert fixes[0]["edits"][0]["text"] == "-30"


def test_list_rules_marks_the_fixable_ones():
    res = invoke("--list-rules")
    rows = {line.split()[0]: line for line in res.output.splitlines()}
    assert all((" fix " in rows[c]) == RULES[c].fixable for c in RULES)
