"""`leadscore fmt`: one canonical layout for `.score` files, printed from the syntax tree.

The printer works from the AST (compiler/ast.py) and the comments the parser keeps. It reads
the source text by span only where the AST does not keep what was written: the digits of
numbers and percentages, where entries stored by kind (schema, test blocks) were, and the
comments inside `events { ... }` bodies, which the lexer never sees. Every result is parsed
back and compared with the original tree before it is returned, so fmt cannot change what a
model means; the layout itself is documented in docs/language.md ("Formatting").
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass

from ..compiler import ast
from ..compiler.diagnostics import CompileError, Span
from ..compiler.parse import parse
from .literals import quote_string
from .names import (
    ATOM,
    COUNT_FILTER,
    DAYS_SINCE,
    DECL,
    EXPECT,
    FILTER,
    GRADE,
    TEST_VALUE,
    TIER,
    keywords,
)
from .printer import FormatError, Printer

# the keyword sets and quoting are public for tests/test_fmt.py, which checks them against the parser
__all__ = ["ATOM", "COUNT_FILTER", "DAYS_SINCE", "DECL", "FILTER", "GRADE", "EXPECT", "TEST_VALUE", "TIER",
           "FormatError", "format_source", "keywords", "quote_string"]


# ---------------------------------------------------------------- checking the result
_NOT_MEANING = {"span", "label_span", "name_span", "path_span", "amount_span", "raw", "comments"}


def _shape(obj: object) -> object:
    """The tree without positions and spelling: what must not change when formatting."""
    if isinstance(obj, Span):
        return None
    if isinstance(obj, ast.Signed):
        return ("Signed", obj.value)
    if isinstance(obj, ast.TestValue):
        return ("TestValue", obj.kind, obj.value)
    if is_dataclass(obj):
        out = [type(obj).__name__]
        out += [(f.name, _shape(getattr(obj, f.name))) for f in fields(obj)
                if f.name not in _NOT_MEANING]
        for extra in ("extra", "options", "body"):  # the builder's order of entries
            if hasattr(obj, extra):
                out.append((extra, _shape(getattr(obj, extra))))
        return tuple(out)
    if isinstance(obj, (list, tuple)):
        return tuple(_shape(x) for x in obj)
    return obj


def _fingerprint(text: str, path: str, module: ast.Module) -> tuple[object, list[str]]:
    printer = Printer(text, path, module, False)
    return _shape(module), sorted(c.text for c in printer.comments())


def format_source(text: str, path: str = "<string>") -> str:
    """The canonical layout of a rule file; raise `CompileError` if it does not parse."""
    module = parse(text, path)
    want = _fingerprint(text, path, module)
    for quote_keywords in (False, True):  # the second time, every keyword-like name in backticks
        out = Printer(text, path, module, quote_keywords).run()
        try:
            again = parse(out, path)
        except CompileError:
            continue
        if _fingerprint(out, path, again) == want:
            return out
    raise FormatError(f"{path}: the formatted text would not read back as the same model")
