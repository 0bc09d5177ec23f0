"""The portable regular-expression subset."""

import re

import pytest

from leadscore.compiler.regex import RegexError, compile_portable


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
    ("a{1001}", "above 1000"), ("[[:alpha:]]", "POSIX"), ("a**", "quantifier"),
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
