"""Names in any alphabet: Python's identifier rules after NFKC, in the parser, fmt and lint.

Running such names on every engine is the conformance case names_unicode (and
tests/test_spanish.py); this file checks what a name is.
"""

from __future__ import annotations

import re
import unicodedata

import pytest

from corpus import load_cases
from leadscore.backends.sql import to_sql
from leadscore.compiler import CompileError, compile_source, names, parse
from leadscore.compiler.parse import _parser
from leadscore.engines import DIALECTS
from leadscore.fmt import format_source
from leadscore.lint.rules.structure import _words

SCHEMA = "schema {\n  lead {\n    key id\n    field país: text\n  }\n}\n"


def _compile(body: str):
    return compile_source(SCHEMA + body, "m.score")


def test_the_grammar_lexes_names_as_names_py_says():
    term = next(t for t in _parser().terminals if t.name == "NAME")
    # Lark reads the grammar's \\uXXXX escapes into the characters
    assert term.pattern.value == re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m[1], 16)),
                                        names.LEX)


@pytest.mark.parametrize("word", ["interés", "frío", "visita_página", "Ñandú", "関心", "отдел",
                                  "_x1", "ﬁt", "ｓｃｏｒｅ２"])
def test_python_identifiers_are_names(word):
    assert names.is_name(word) and unicodedata.normalize("NFKC", word).isidentifier()
    model = _compile(f"score {word} {{ rule \"r\" +1 when país == \"es\" }}\n")
    assert [c for c, _ in model.outputs][0] == unicodedata.normalize("NFKC", word)


def test_spellings_equal_under_nfkc_are_one_name():
    composed, decomposed = "interés", "intere\u0301s"
    assert composed != decomposed
    model = _compile(f"let {decomposed} = país == \"es\"\n"
                     f"score s {{ rule \"r\" +1 when {composed} }}\n"
                     f"score ﬁt {{ rule \"r\" +1 when {decomposed} }}\ntotal = s + fit\n")
    assert [c for c, _ in model.outputs][:2] == ["s", "fit"]


def test_a_name_declared_twice_in_two_spellings_is_a_clash():
    with pytest.raises(CompileError) as err:
        _compile("score interés { rule \"r\" +1 when true }\n"
                 "score intere\u0301s { rule \"r\" +1 when true }\n")
    assert any("interés" in d.message for d in err.value.diagnostics)


def test_back_quoted_names_are_kept_as_written():
    module = parse("schema { lead { key id  field `ﬁt`: int } }\n", "m.score")
    assert module.items[0].lead.fields[0].name.text == "ﬁt"


@pytest.mark.parametrize(("source", "column", "shown"), [
    ('score x½ { rule "a" +1 when true }', 7, "`x½` is not a name"),
    ('score café☕ { rule "a" +1 when true }', 11, "unexpected character '☕'"),
])
def test_a_word_that_is_no_name_says_what_a_name_is(source, column, shown):
    with pytest.raises(CompileError) as err:
        parse(SCHEMA + source + "\n", "m.score")
    (diag,) = err.value.diagnostics
    assert (diag.span.line, diag.span.column) == (7, column)
    assert shown in diag.message
    assert names.ALLOWED in diag.message + (diag.hint or "")
    assert "backticks" in (diag.hint or "")


def test_an_event_line_reads_unicode_names():
    source = ("schema {\n  lead { key id }\n  event { lead l  time t  type tipo  types visita_página"
              "  field página: text }\n}\nscore s { rule \"r\" +1 per event visita_página }\n"
              'test "t" {\n  as_of 2026-03-01\n  lead { id: "a" }\n  events {\n'
              '    visita_pa\u0301gina at 2026-02-01 página "/x"\n  }\n  expect s == 1\n}\n')
    event = parse(source, "m.score").items[-1].events[0]
    assert event.type.text == "visita_página" and event.fields[0].name.text == "página"


def test_fmt_writes_unicode_names_bare_and_quotes_what_would_not_read_back():
    source = (SCHEMA.replace("field país: text", "field país: text\n    field `ﬁt`: int")
              + "score `interés` {\n  rule \"r\"  +1 when país == \"es\" and `ﬁt` > 1\n}\n")
    out = format_source(source, "m.score")
    assert "score interés {" in out  # needs no backticks
    assert "`ﬁt`" in out  # bare, it would read back as `fit`
    assert format_source(out, "m.score") == out


def test_lint_reads_the_words_of_a_unicode_name():
    assert _words("estado_conversión") == ["estado", "conversión"]
    assert _words("dealStage") == ["deal", "stage"]


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_every_dialect_quotes_unicode_names(dialect):
    """Executed engines run them (conformance names_unicode); the generated dialects at least
    quote every such name with their own identifier quotes."""
    case = next(c for c in load_cases() if c.name == "names_unicode")
    model = compile_source(*case.model_text)
    sql = to_sql(model, DIALECTS[dialect], 0, pretty=False)
    quoted = {"mysql": "`{}`", "spark": "`{}`", "bigquery": "`{}`", "databricks": "`{}`",
              "tsql": "[{}]"}.get(dialect, '"{}"')
    for name in ("interés", "Ñandú", "país", "отдел"):
        assert quoted.format(name) in sql, name
