"""`leadscore fmt`: the layout, and the properties every formatted file must keep.

Idempotent on every example, conformance model and generated model; the formatted model
compiles to the same IR (locations aside) and scores the conformance data identically; no
comment is ever lost.
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from conftest import ROOT
from corpus import Case, load_cases, run_case
from leadscore.cli import main
from leadscore.compiler import CompileError, compile_source, parse
from leadscore.compiler.parse import _parser
from leadscore.fmt import (
    ATOM,
    COUNT_FILTER,
    DAYS_SINCE,
    EXPECT,
    FILTER,
    GRADE,
    TEST_VALUE,
    TIER,
    format_source,
    quote_string,
)

EXAMPLES = sorted((ROOT / "examples").glob("*.score"))
CASES = load_cases()
MODELS = [c for c in CASES if "error" not in c.data]


def _sources():
    for path in EXAMPLES:
        yield pytest.param(path.read_text("utf-8"), str(path), id=f"examples/{path.name}")
    for case in CASES:
        text, path = case.model_text
        yield pytest.param(text, path, id=case.name)


def _parses(text: str, path: str) -> bool:
    try:
        parse(text, path)
    except CompileError:
        return False
    return True


SOURCES = [p for p in _sources() if _parses(*p.values)]


def semantic(text: str, path: str) -> dict | None:
    """The compiled model without source locations (lines, spans, `file:line:col` strings)."""
    try:
        model = compile_source(text, path)
    except CompileError:
        return None

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()
                    if k != "span" and not (k == "line" and isinstance(v, int))
                    and not (k == "where" and isinstance(v, str))}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    ir = clean(model.to_json())
    ir["schema"]["origins"] = sorted(model.schema.origins)
    ir.pop("gates", None)  # each gate's source text, as written: counted below
    for step in ir.get("explain", []):  # conditions quoted as written, for explain's lines
        step.get("facts", {}).pop("condition", None)
    return {"ir": ir, "gates": {k: len(v) for k, v in model.gates.items()}}


def comment_texts(text: str) -> list[str]:
    """Every comment, including those inside `events { }` bodies the lexer never sees."""
    return [m.group().rstrip() for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*', text)
            if m.group().startswith("#")]


# ---------------------------------------------------------------- properties
@pytest.mark.parametrize("text,path", SOURCES)
def test_idempotent(text, path):
    once = format_source(text, path)
    assert format_source(once, path) == once


@pytest.mark.parametrize("text,path", SOURCES)
def test_same_ir(text, path):
    before = semantic(text, path)
    if before is None:
        pytest.skip("the model does not compile (an error case)")
    assert semantic(format_source(text, path), path) == before


@pytest.mark.parametrize("text,path", SOURCES)
def test_comments_survive(text, path):
    out = format_source(text, path)
    assert sorted(comment_texts(out)) == sorted(comment_texts(text))


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@pytest.mark.parametrize("case", MODELS, ids=lambda c: c.name)
def test_scores_identically(case, engine):
    text, path = case.model_text
    data = {k: v for k, v in case.data.items() if k != "model_file"}
    formatted = Case(case.name, {**data, "model": format_source(text, path)})
    assert run_case(formatted, engine) == run_case(case, engine)


def test_generated_models():
    try:
        from generators import example_count, models
    except ImportError as err:  # the generator is another engineer's; fmt does not depend on it
        pytest.skip(f"tests/generators.py is not importable: {err}")
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=example_count(100), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(models())
    def check(case):
        once = format_source(case.text, "gen.score")
        assert format_source(once, "gen.score") == once
        assert semantic(once, "gen.score") == semantic(case.text, "gen.score")

    check()


# ---------------------------------------------------------------- layout
MESSY = """\
# the header stays on top

model "demo"   version 2
import "base.score"    # shared declarations
schema { lead { key id  field `Lead Source`: text  field type: text  field employees: int
                created created_at   table "crm.leads" }
  event { lead lead_id; time ts; type kind; types visit, demo   field page: text } }
let big = employees>=200 and (type=="a" or type=="b")
let   calc = employees - (2 - employees) * -(employees + 1)
score fit   cap +100 {
  rule "big" 10 when big   # a trailing comment
  rule "a much longer label" -5 when not (big and `Lead Source` matches "acme\\.com")


  # stays before the decay
  rule "visits" +1 first, 0.5 repeat per event visit where page == "/a" cap +3
  decay -10 every 30d without event
  # before the closing brace
}
tiers { cold; warm at 20 require event; hot at 50 require event demo }
grade fit { A at 10; B }
"""

MESSY_FORMATTED = """\
# the header stays on top

model "demo" version 2
import "base.score"  # shared declarations

schema {
  lead {
    key id
    field `Lead Source`: text
    field type: text
    field employees: int
    created created_at
    table "crm.leads"
  }
  event {
    lead lead_id
    time ts
    type kind
    types visit, demo
    field page: text
  }
}

let big = employees >= 200 and (type == "a" or type == "b")
let calc = employees - (2 - employees) * -(employees + 1)

score fit cap 100 {
  rule "big"                  +10 when big  # a trailing comment
  rule "a much longer label"   -5 when not (big and `Lead Source` matches "acme\\.com")

  # stays before the decay
  rule "visits"                +1 first, +0.5 repeat per event visit where page == "/a" cap 3
  decay -10 every 30d without event
  # before the closing brace
}

tiers {
  cold
  warm at 20 require (event)
  hot at 50 require event demo
}

grade fit {
  A at 10
  B
}
"""


def test_canonical_layout():
    assert format_source(MESSY, "messy.score") == MESSY_FORMATTED


def test_brief_example_alignment():
    text = ('schema { lead { key id  field country: text } }\n'
            'let tech = true\n'
            'score fit { rule "tech industry" +20 when tech\n'
            'rule "home market" +8 when country in ["CR", "PA"] }\n')
    assert format_source(text).endswith(
        'score fit {\n'
        '  rule "tech industry"  +20 when tech\n'
        '  rule "home market"     +8 when country in ["CR", "PA"]\n'
        '}\n')


@pytest.mark.parametrize("expr,printed", [
    ("a - (b - c)", "a - (b - c)"),
    ("(a - b) - c", "a - b - c"),
    ("a * (b + c)", "a * (b + c)"),
    ("(a * b) + c", "a * b + c"),
    ("-(a * b)", "-(a * b)"),
    ("(-a) * b", "-a * b"),
    ("((a or b)) or c", "(a or b) or c"),  # the tree has a nested `or`: kept
    ("a or b and c", "a or b and c"),
    ("(a or b) and c", "(a or b) and c"),
    ("not (a and b)", "not (a and b)"),
    ("not a == 1", "not a == 1"),
    ("(not a) == 1", "(not a) == 1"),
    ("(a == 1) == (b == 2)", "(a == 1) == (b == 2)"),
    ("(event x where p == 1) and b", "(event x where p == 1) and b"),
    ("b and (event x where p == 1)", "b and event x where p == 1"),
    ("exists(event x where (p == y) within 7d)", "exists(event x where (p == y) within 7d)"),
    ("count(event x where p == 1 within 7d) > 2", "count(event x where p == 1 within 7d) > 2"),
    ("a   not   in [ -1, 2.50, \"x\" ]", 'a not in [-1, 2.50, "x"]'),
    ("a is present or a is missing", "a is present or a is missing"),
    ("sum f(event x) + count distinct f(event) ", "sum f (event x) + count distinct f (event)"),
    ("days_since(last event x|y) + days_since(f)", "days_since(last event x|y) + days_since(f)"),
])
def test_minimal_parentheses(expr, printed):
    out = format_source(f"let e = {expr}\n")
    assert out == f"let e = {printed}\n"


@pytest.mark.parametrize("value", ["plain", 'say "hi"', "back\\slash", "acme\\.com", "\\d+",
                                   "tab\there", "new\nline", "end\\", "\\n literally", "ñandú"])
def test_strings_read_back_the_same(value):
    out = format_source(f"disqualify {quote_string(value)} when true\n")
    module = parse(out)
    assert module.items[0].reason == value
    assert format_source(out) == out


def test_regex_escapes_stay_readable():
    assert quote_string("acme\\.com") == '"acme\\.com"'
    assert quote_string('a"b\\') == '"a\\"b\\\\"'


def test_names_quoted_only_where_needed():
    text = """\
schema { lead { key id  field type: text  field `count`: int  field `Lead Source`: text
  field `not`: bool  field `last`: timestamp  field page: text }
  event { lead lead_id  time ts  type kind  types `score`, visit } }
let a = type == "x" and `count` > 1 and not `not` and `Lead Source` is present
let b = days_since(`last`) + count(event `score`|visit) + count(event visit|`score`)
tiers { cold; `require` at 1; `at` at 2 }
grade a { `at` at 1; B }
test "t" { expect tier == `true`  expect segment == page }
"""
    out = format_source(text)
    assert "field type: text" in out and 'type == "x"' in out  # a keyword elsewhere, fine here
    assert "field count: int" in out and "`count` > 1" in out
    assert "not `not`" in out and "`Lead Source` is present" in out
    assert "days_since(`last`)" in out
    assert "event `score`|visit" in out and "event visit|score" in out
    assert "types score, visit" in out
    assert "  `require` at 1\n" in out and "  `at` at 2\n" in out and "  `at` at 1\n" in out
    assert "expect tier == `true`" in out and "expect segment == page" in out


def _accepted_keywords(prefix: str) -> set[str]:
    ip = _parser().parse_interactive(prefix)
    ip.exhaust_lexer()
    words = set()
    for name in ip.accepts():
        try:
            term = _parser().get_terminal(name)
        except KeyError:
            continue
        if term.pattern.type == "str" and term.pattern.value.isidentifier():
            words.add(term.pattern.value)
    return words


@pytest.mark.parametrize("reserved,prefixes", [
    (ATOM, ["let x = ", "let x = a == ", "let x = not ", "let x = -", "let x = (", "let x = a + ",
            "let x = a * ", "let x = a and ", "let x = a or ", "let x = event a where ",
            'score s { rule "r" +1 when ', "tiers { a require ", "account by f { score = ",
            "let x = sum(", "let x = count(lead where "]),
    (FILTER, ['score s { rule "r" +1 per ', 'score s { rule "r" +1 once ',
              'score s { rule "r" +1 first, +1 repeat per ', "score s { decay -1 every 1d without ",
              "let x = exists(", "let x = days_since(last ", "let x = sum f (",
              "let x = count distinct f ("]),
    (COUNT_FILTER, ["let x = count("]),
    (DAYS_SINCE, ["let x = days_since("]),
    (TIER, ["tiers { ", "tiers { a ", "tiers { a at 1 ", "tiers { a at 1 sticky ",
            "tiers { a require x ",
            "tiers { a require event ", "tiers { a require event x ",
            "tiers { a require event where x == 1 ", "tiers for s { a require x == 1 ",
            "account by f { tiers { a require x "]),
    (GRADE, ["grade g { ", "grade g { a ", "grade g { a at 1 "]),
    (TEST_VALUE, ['test "t" { expect a == ', 'test "t" { lead { a: ',
                  'test "t" { expect account "k" a == ']),
    (EXPECT, ['test "t" { expect ']),
    (frozenset(), ["schema { lead { field ", "schema { lead { field a: ", "schema { lead { key ",
                   "schema { lead { created ", "schema { event { lead ", "schema { event { time ",
                   "schema { event { type ", "schema { event { types ", "schema { event { types a, ",
                   "let ", "score ", "segment ", "grade ", "tiers for ", "account by ",
                   "let x = count distinct ", "let x = sum ", "let x = event a|",
                   'test "t" { lead { ', 'test "t" { lead { a: 1, ',
                   'test "t" { previous_tier ',
                   'test "t" { expect lead "k" ', 'test "t" { expect account "k" ']),
])
def test_reserved_words_match_the_parser(reserved, prefixes):
    """A name needs backticks where the parser would take it for a keyword."""
    for prefix in prefixes:
        assert _accepted_keywords(prefix) <= reserved, prefix


def test_comments_kept_in_place():
    text = """\
schema { lead { key id  field x: int } }   # one-line block
# before the score
score s {  # on the header
  rule "a" +1 when x > 1 and   # inside a multi-line condition
      x < 5                    # at its end
  rule "b" +2 when x > 9
  # last in the block
}  # after the block
test "t" {
  lead { id: "a",  # inside the lead line
         x: 1 }
  events {  # after events {
    # before an event
    visit at 2026-01-01T00:00:00Z  # after an event
    # last in events
  }
  expect s == 1
}
test "empty events" {
  events {
    # nothing yet
  }
}
"""
    out = format_source(text)
    assert out == """\
schema {  # one-line block
  lead {
    key id
    field x: int
  }
}

# before the score
score s {  # on the header
  # inside a multi-line condition
  rule "a"  +1 when x > 1 and x < 5  # at its end
  rule "b"  +2 when x > 9
  # last in the block
}  # after the block

test "t" {
  # inside the lead line
  lead { id: "a", x: 1 }
  events {  # after events {
    # before an event
    visit at 2026-01-01T00:00:00Z  # after an event
    # last in events
  }
  expect s == 1
}

test "empty events" {
  events {
    # nothing yet
  }
}
"""
    assert sorted(comment_texts(out)) == sorted(comment_texts(text))


def test_blank_lines():
    text = "\n\n# a\n\n\n\nlet a = 1\nlet b = 2\n\n\n\nlet c = 3\nschema { lead { key id } }\n\n\n"
    assert format_source(text) == ("# a\n\nlet a = 1\nlet b = 2\n\nlet c = 3\n\n"
                                   "schema {\n  lead {\n    key id\n  }\n}\n")


def test_tests_and_accounts():
    text = """\
account by company { score = sum(total)+max(fit) rule "committee" 25 when count(lead where fit>=20)>=3
  rule "x" -1 when true tiers { watch; target at 150 } }
test "t" { as_of 2026-03-01T00:00:00Z  lead { id: "l1", n: +5, f: 2.50, ok: true, gone: missing,
    t: 2026-01-01 }
  events {
    visit   at   2026-02-27T10:00:00Z   page "/p"   n 3
  }
  expect total >= 10  expect tier == mql  expect reason == "a \\"b\\"" }
"""
    assert format_source(text) == """\
account by company {
  score = sum(total) + max(fit)
  rule "committee"  +25 when count(lead where fit >= 20) >= 3
  rule "x"           -1 when true
  tiers {
    watch
    target at 150
  }
}

test "t" {
  as_of 2026-03-01T00:00:00Z
  lead { id: "l1", n: +5, f: 2.50, ok: true, gone: missing, t: 2026-01-01 }
  events {
    visit at 2026-02-27T10:00:00Z page "/p" n 3
  }
  expect total >= 10
  expect tier == mql
  expect reason == "a \\"b\\""
}
"""


def test_duplicate_entries_are_refused_not_dropped():
    with pytest.raises(CompileError) as err:
        format_source("schema { lead { key a  key b } }\n", "dup.score")
    assert "`key` is given twice" in err.value.diagnostics[0].message


def test_syntax_error_is_a_compile_error():
    with pytest.raises(CompileError):
        format_source("score s { rule \"a\" +1 when }\n")


def test_empty_file():
    assert format_source("") == ""
    assert format_source("\n\n") == ""


# ---------------------------------------------------------------- the command
def invoke(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_cli_rewrites_in_place(tmp_path):
    path = tmp_path / "m.score"
    path.write_text(MESSY)
    path.chmod(0o640)
    res = invoke("fmt", str(path))
    assert res.exit_code == 0, res.output
    assert f"reformatted {path}" in res.output
    assert path.read_text() == MESSY_FORMATTED
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["m.score"]  # no temporary file left
    res = invoke("fmt", str(path))
    assert res.exit_code == 0 and res.output == ""


def test_cli_check_lists_files_that_would_change(tmp_path):
    messy, tidy = tmp_path / "messy.score", tmp_path / "tidy.score"
    messy.write_text(MESSY)
    tidy.write_text(MESSY_FORMATTED)
    res = invoke("fmt", "--check", str(messy), str(tidy))
    assert res.exit_code == 1
    assert res.output.strip() == f"would reformat {messy}"
    assert messy.read_text() == MESSY  # --check changes nothing
    assert invoke("fmt", "--check", str(tidy)).exit_code == 0


def test_cli_diff(tmp_path):
    path = tmp_path / "m.score"
    path.write_text(MESSY)
    res = invoke("fmt", "--diff", str(path))
    assert res.exit_code == 0
    assert f"--- {path}\n+++ {path} (formatted)\n" in res.output
    assert '-  rule "big" 10 when big   # a trailing comment' in res.output
    assert path.read_text() == MESSY


def test_cli_syntax_error(tmp_path):
    bad = tmp_path / "bad.score"
    bad.write_text('score s {\n  rule "a" +1 when\n}\n')
    good = tmp_path / "good.score"
    good.write_text(MESSY)
    res = CliRunner().invoke(main, ["fmt", str(bad), str(good)])
    assert res.exit_code == 1
    assert f"{bad}:3:1: error: unexpected `}}`" in res.output
    assert bad.read_text() == 'score s {\n  rule "a" +1 when\n}\n'
    assert good.read_text() == MESSY_FORMATTED  # the other files are still formatted


def test_cli_stdin_to_stdout():
    res = invoke("fmt", "-", input=MESSY)
    assert res.exit_code == 0
    assert res.output == MESSY_FORMATTED
    assert invoke("fmt", "--check", "-", input=MESSY).exit_code == 1
    assert invoke("fmt", "--check", "-", input=MESSY_FORMATTED).exit_code == 0


def test_cli_help_has_an_example():
    res = invoke("fmt", "--help")
    assert "leadscore fmt --check examples/*.score" in res.output


def test_examples_are_formatted():
    """Acceptance: `leadscore fmt --check examples/*.score` passes."""
    res = invoke("fmt", "--check", *map(str, EXAMPLES))
    assert res.exit_code == 0, res.output


def test_readme_quotes_the_formatted_starter():
    readme = (ROOT / "README.md").read_text("utf-8")
    starter = (ROOT / "examples" / "starter.score").read_text("utf-8")
    body = starter[starter.index("schema {"):]
    assert "score fit {" in body
    for block in re.findall(r"(?ms)^(score \w+ \{.*?^\}|tiers \{.*?^\})", body):
        assert block in readme

