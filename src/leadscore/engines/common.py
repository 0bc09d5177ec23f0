"""Portable spellings shared by several dialects."""

from __future__ import annotations

from sqlglot import exp


def prefold(value: exp.Expression) -> exp.Expression:
    """LOWER after mapping `İ` and `Σ` by hand.

    Engines whose LOWER is Unicode *full* case mapping (Java, Rust, ICU) turn `İ` into
    two code points and a word-final `Σ` into `ς`; replacing both first makes their
    LOWER equal to simple case mapping (compiler/text.py).
    """
    inner = exp.Anonymous(this="REPLACE", expressions=[
        exp.Anonymous(this="REPLACE", expressions=[value, exp.Literal.string("İ"),
                                                     exp.Literal.string("i")]),
        exp.Literal.string("Σ"), exp.Literal.string("σ")])
    return exp.Lower(this=inner)


def strpos_contains(value: exp.Expression, needle: exp.Expression) -> exp.Expression:
    return exp.GT(this=exp.StrPosition(this=value, substr=needle), expression=exp.Literal.number(0))


def length(value: exp.Expression) -> exp.Expression:
    return exp.Length(this=value)


def substr_starts_with(value: exp.Expression, needle: exp.Expression) -> exp.Expression:
    prefix = exp.Substring(this=value, start=exp.Literal.number(1), length=length(needle.copy()))
    return exp.EQ(this=prefix, expression=needle)


def right_ends_with(value: exp.Expression, needle: exp.Expression) -> exp.Expression:
    suffix = exp.Right(this=value, expression=length(needle.copy()))
    return exp.EQ(this=suffix, expression=needle)
