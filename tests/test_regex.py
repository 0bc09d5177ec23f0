"""The portable regular-expression subset."""

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from generators import patterns
from leadscore.compiler.regex import (
    ADJACENT_REPETITIONS,
    MAX_GROUP_DEPTH,
    MAX_PATTERN_LENGTH,
    RegexError,
    compile_portable,
    searcher,
)


@pytest.mark.parametrize("pattern", [
    "(chief|head|director|vp)", "^a.c$", "[a-z0-9_]+@x\\.com", "[^aeiou]{2,3}", "ab?c*d+",
    "a{3}", "a{2,}", "\\(x\\)", "student",
])
def test_accepted(pattern):
    rx = compile_portable(pattern)
    re.compile(rx.python)


@pytest.mark.parametrize("pattern,fragment", [
    ("\\d+", "`\\d` is not in the portable subset"), ("(?i)x", "not portable"),
    ("a*?", "lazy"), ("[abc", "unclosed character class"), ("(ab", "unclosed group"),
    ("ab)", "unbalanced"), ("*a", "nothing to repeat"), ("a{2,1}", "minimum above"),
    ("a{256}", "above 255"), ("x.{0,1000}", "above 255"), ("[[:alpha:]]", "POSIX"), ("a**", "quantifier"),
    ("x\\", "lone backslash"), ("[z-a]", "out of order"), ("a{x}", "repetition"),
])
def test_rejected(pattern, fragment):
    with pytest.raises(RegexError) as err:
        compile_portable(pattern)
    assert fragment in str(err.value)


def test_pattern_is_lowered_and_dollar_is_end_of_text_in_python():
    rx = compile_portable("^ABC$")
    assert rx.render() == "^abc$" and rx.render(end="\\z", dot="[^\\n]") == "^abc\\z"
    assert re.search(rx.python, "abc\n") is None  # Python's `$` would match before the newline
    assert re.search(rx.python, "abc")


def test_hint_for_shorthand():
    with pytest.raises(RegexError) as err:
        compile_portable("x\\s")
    assert err.value.hint and "[" in err.value.hint


# ---------------------------------------------------------------- linear time, limits, rewrite
HOSTILE = [p for p in (ROOT / "tests" / "hostile" / "regex" / "patterns.txt").read_text().splitlines()
           if p and not p.startswith("#")]


@pytest.mark.parametrize("pattern", HOSTILE)
def test_hostile_pattern_is_linear_on_every_python_side_evaluator(pattern):
    # Python's re needs hours for some of these on 33 characters; RE2 is linear
    rx = compile_portable(pattern)
    for value in ("a" * 33 + "!", "a" * 100_000 + "!", "x" * 100_000, "a." * 50_000 + "@"):
        start = time.perf_counter()
        rx.search(value)
        assert time.perf_counter() - start < 1.0, (pattern, len(value))


def test_searcher_means_what_python_re_means():
    for pattern, text, expected in [("^abc$", "abc\n", False), ("^a.c$", "a\nc", False),
                                    ("^a.c$", "aéc", True), ("^.$", "😀", True),
                                    ("[^a]", "\udc80", True), ("x$", "ax", True)]:
        assert compile_portable(pattern).search(text) is expected, (pattern, text)
    assert searcher(compile_portable("ab").re2) is searcher(compile_portable("AB").re2)  # cached


@pytest.mark.parametrize("pattern,fragment", [
    ("(" * 300 + "a" + ")" * 300, f"nested more than {MAX_GROUP_DEPTH} deep"),
    ("(a{200}){200}", "multiply to more than 1000"),
    ("a" * (MAX_PATTERN_LENGTH + 1), f"the limit is {MAX_PATTERN_LENGTH}"),
])
def test_limits_are_errors_not_crashes(pattern, fragment):
    with pytest.raises(RegexError) as err:
        compile_portable(pattern)
    assert fragment in str(err.value)


def test_groups_at_the_depth_limit_compile():
    rx = compile_portable("(" * MAX_GROUP_DEPTH + "a" + ")" * MAX_GROUP_DEPTH)
    assert rx.search("xa") and not rx.search("b")


def test_non_ascii_escape_is_the_character_itself():
    # RE2 (DuckDB, ClickHouse) rejects `\€`; the character is never an operator anywhere
    assert compile_portable("\\€x").re2 == "€x"


@pytest.mark.parametrize("pattern,rewritten", [
    ("(a+)+$", "a\\z"), ("^(a|a)*$", "^a*\\z"), ("([a-z]+)*@", "\\@"), ("(x+x+)+y", "xxy"),
    ("([a-z0-9]|[0-9a])+$", "[0-9a-z]\\z"), ("(a|a?)+$", "\\z"), ("x*", "^"),
    ("(chief|head|director|vp)", "(chief|head|director|vp)"), ("^[a-z]+$", "^[a-z]+\\z"),
    ("([a-z]+\\.)+com$", "[a-z]\\.com\\z"), ("(.*a){3}", "a.*a.*a"),
    ("^a*a*a*$", "^a*\\z"), ("^a+a*$", "^a+\\z"), ("^x{2}x{3,}$", "^x{5,}\\z"),
    ("^[a-z0-9]+[a-z]*$", "^[0-9a-z]+\\z"), ("^[a-z]+[a-z0-9]*$", "^[a-z][0-9a-z]*\\z"),
    ("^a{200}a{100}$", "^a{200}a{100}\\z"),  # one count would be above MAX_REPEAT
])
def test_backtracking_rewrite(pattern, rewritten):
    assert compile_portable(pattern).backtracking_safe(end="\\z", dot=".") == rewritten


def test_backtracking_hazard_is_named_only_when_left():
    assert compile_portable("(a+)+$").backtracking_hazard is None
    assert compile_portable("(ab|cd)+x").backtracking_hazard is None
    assert compile_portable("(.*a){12}").backtracking_hazard == "a repetition inside a repetition"
    assert "alternatives" in compile_portable("^(ab|ac)+x").backtracking_hazard
    assert compile_portable("(ab|ac)+x").backtracking_hazard is None  # one copy is enough
    assert compile_portable("^[a-z]*[0-9a]+$").backtracking_hazard == ADJACENT_REPETITIONS
    assert compile_portable("^[a-z]+[0-9]*$").backtracking_hazard is None  # disjoint
    assert compile_portable("^a*a*a*$").backtracking_hazard is None  # merged into `a*`


_TEXT = st.text(st.sampled_from(list("asidcovp@/._ñíã0xbA\n -")), max_size=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patterns(), st.lists(_TEXT, min_size=1, max_size=8))
def test_backtracking_rewrite_finds_the_same_matches(pattern, texts):
    """The rewrite for PCRE2 / ICU / Java must not change any search result (RE2 judges)."""
    rx = compile_portable(pattern)
    rewritten = searcher(rx.backtracking_safe(end="\\z", dot="."))
    for text in texts:
        lowered = text.lower()
        assert rewritten(lowered) == rx.search(lowered), (pattern, text, rx.backtracking_safe("\\z", "."))


_QUANTIFIED = st.tuples(st.sampled_from(["a", "[a-c]", "[ab]", "[^b]", ".", "b"]),
                        st.sampled_from(["", "*", "+", "?", "{2}", "{1,3}", "{2,}", "{0,2}"]))


@settings(max_examples=400, deadline=None)
@given(st.lists(_QUANTIFIED, min_size=2, max_size=5), st.booleans(), st.booleans(),
       st.lists(st.text(st.sampled_from(list("abc\n")), max_size=10), min_size=1, max_size=8))
def test_merging_adjacent_repetitions_keeps_every_search_result(items, start, end, texts):
    pattern = ("^" if start else "") + "".join(c + q for c, q in items) + ("$" if end else "")
    rx = compile_portable(pattern)
    rewritten = searcher(rx.backtracking_safe(end="\\z", dot="."))
    for text in texts:
        assert rewritten(text) == rx.search(text), (pattern, text, rx.backtracking_safe("\\z", "."))


def test_backtracking_rewrite_of_a_class_union_that_is_every_character():
    rx = compile_portable("([a-z]|[^b])+$")  # found by tests/test_fuzz.py
    assert rx.backtracking_safe(end="\\z", dot=".") == "[\\s\\S]\\z"
    assert searcher(rx.backtracking_safe(end="\\z", dot="."))("a\n") == rx.search("a\n")


def test_literal_operators_are_spelled_as_literals_for_every_engine():
    # Rust's regex reads `&&` `--` `~~` in a class as set operations and `\<` `\>` as word
    # boundaries (and refuses `[\<]`): the spelling every engine gets has none of them
    assert compile_portable("\\<b[\\>]").re2 == "<b[>]"
    assert compile_portable("^[+--][&&~~]").re2 == "^[+-\\-][\\&\\&\\~\\~]"
    assert compile_portable("[<]+$").backtracking_safe(end="$", dot=".") == "<$"
    assert compile_portable("[<>&]+$").backtracking_safe(end="$", dot=".") == "[\\&<>]$"
