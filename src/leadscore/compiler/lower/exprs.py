"""The meaning of each expression construct, as IR: what typing hands over, lowered once.

compiler/typing.py decides whether an expression is valid and what type it has; the IR
it stands for is built here, so a construct's meaning (how `not in` treats a missing
value, what `exists` counts, which aggregate `days_since(last ...)` folds) is written in
one place. Event aggregates are collected here too, deduplicated by their description
(spans are not part of it), in the order they are first used.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import ir
from ..diagnostics import Span
from ..regex import PortableRegex

ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div"}
ROLLUPS = {"roll_sum": "sum", "roll_max": "max", "roll_min": "min", "roll_avg": "avg"}


@dataclass(frozen=True)
class Filter:
    """An event filter before it is counted: which events (`where`), how recent (`window`)."""

    where: ir.Expr
    window: int | None = None  # days

    def within(self, days: int) -> Filter:
        return Filter(self.where, days if self.window is None else min(self.window, days))


class Build:
    """Builds IR expressions and keeps the model's aggregates (event and account member)."""

    def __init__(self) -> None:
        self.aggregates: dict[tuple, ir.Aggregate] = {}
        self.member_aggs: dict[tuple, ir.Aggregate] = {}
        self.by_id: dict[str, ir.Aggregate] = {}

    # ------------------------------------------------------------ aggregates
    def aggregate(self, fn: str, f: Filter, value: ir.Expr | None = None, fade: ir.Fade | None = None,
                  period: int | None = None, span: Span | None = None) -> ir.Agg:
        key = (fn, f.where, value, f.window, fade, period)
        a = self.aggregates.get(key)
        if a is None:
            a = ir.Aggregate(f"a{len(self.aggregates)}", fn, f.where, value, f.window, fade, period,
                             span)
            self.aggregates[key] = a
            self.by_id[a.id] = a
        return ir.Agg(a.id, span=span)

    def member(self, fn: str, where: ir.Expr, value: ir.Expr | None, span: Span | None) -> ir.Agg:
        key = (fn, where, value)
        a = self.member_aggs.get(key)
        if a is None:
            a = ir.Aggregate(f"m{len(self.member_aggs)}", fn, where, value, span=span)
            self.member_aggs[key] = a
        return ir.Agg(a.id, span=span)

    def count(self, f: Filter, span: Span | None = None) -> ir.Agg:
        return self.aggregate("count", f, span=span)

    def exists(self, f: Filter, span: Span | None = None) -> ir.Expr:
        return ir.Cmp(">", self.count(f, span), ir.num(0), span=span)

    def days_since_last(self, f: Filter, span: Span | None = None) -> ir.Expr:
        # the newest matching event is the one with the smallest age
        return ir.WholeDays(self.aggregate("min", f, ir.AGE, span=span), span=span)

    def fold_field(self, fn: str, f: Filter, value: ir.Expr, span: Span | None = None) -> ir.Agg:
        """`sum` or `count_distinct` of an event field."""
        return self.aggregate(fn, f, value, span=span)

    def rollup(self, kind: str, where: ir.Expr | None, value: ir.Expr | None,
               span: Span | None = None) -> ir.Agg:
        """An account roll-up: `count(lead where ...)` or sum/max/min/avg of a member value."""
        if kind == "count_leads":
            return self.member("count", where if where is not None else ir.TRUE, None, span)
        return self.member(ROLLUPS[kind], ir.TRUE, value, span)

    # ------------------------------------------------------------ filters
    @staticmethod
    def event_filter(types: list[str] | None, where: ir.Expr | None, within: int | None,
                     span: Span | None = None) -> Filter:
        parts: list[ir.Expr] = []
        if types is not None:
            parts.append(ir.In(ir.EvType(span=span), tuple(dict.fromkeys(types)), span=span))
        if where is not None:
            parts.append(where)
        return Filter(ir.and_(*parts, span=span), within)

    def condition(self, e: ir.Expr | Filter, span: Span | None = None) -> ir.Expr:
        """A value used as a condition: a filter holds when an event matches; a bool field
        that is missing is false (two-valued logic)."""
        if isinstance(e, Filter):
            return self.exists(e, span)
        if isinstance(e, (ir.Field, ir.EvField)):
            return ir.Cmp("==", e, ir.TRUE, span=span)
        return e

    # ------------------------------------------------------------ values
    @staticmethod
    def number(value: float, span: Span | None = None) -> ir.Const:
        return ir.num(value, span)

    @staticmethod
    def string(folded: str, span: Span | None = None) -> ir.Const:
        return ir.text(folded, span)

    @staticmethod
    def boolean(value: bool, span: Span | None = None) -> ir.Const:
        return ir.Const(value, ir.BOOL, span=span)

    @staticmethod
    def lead_field(name: str, type_: str, span: Span | None = None) -> ir.Field:
        return ir.Field(name, type_, span=span)

    @staticmethod
    def event_field(name: str, type_: str | None, span: Span | None = None) -> ir.Expr:
        """An event column; `type_` None is the event's type column."""
        return ir.EvType(span=span) if type_ is None else ir.EvField(name, type_, span=span)

    @staticmethod
    def score(name: str, span: Span | None = None) -> ir.Ref:
        return ir.Ref(f"score:{name}", ir.NUMBER, span=span)

    @staticmethod
    def total(span: Span | None = None) -> ir.Ref:
        return ir.Ref("total", ir.NUMBER, span=span)

    @staticmethod
    def account_score(span: Span | None = None) -> ir.Ref:
        return ir.Ref("account:score", ir.NUMBER, span=span)

    @staticmethod
    def days_since(timestamp: ir.Expr, span: Span | None = None) -> ir.Expr:
        return ir.WholeDays(ir.AgeUs(timestamp, span=span), span=span)

    @staticmethod
    def negate(e: ir.Expr, span: Span | None = None) -> ir.Expr:
        if isinstance(e, ir.Const):
            return ir.num(-e.value, span)
        return ir.Neg(e, span=span)

    @staticmethod
    def arith(op: str, left: ir.Expr, right: ir.Expr, span: Span | None = None) -> ir.Expr:
        return ir.Arith(ARITH[op], left, right, span=span)

    # ------------------------------------------------------------ conditions
    @staticmethod
    def compare(op: str, left: ir.Expr, right: ir.Expr, span: Span | None = None) -> ir.Expr:
        return ir.Cmp(op, left, right, span=span)

    @staticmethod
    def not_(e: ir.Expr, span: Span | None = None) -> ir.Expr:
        return ir.Not(e, span=span)

    @staticmethod
    def bool_op(op: str, items: list[ir.Expr], span: Span | None = None) -> ir.Expr:
        return (ir.And if op == "and" else ir.Or)(tuple(items), span=span)

    @staticmethod
    def in_(value: ir.Expr, items: list, negated: bool, span: Span | None = None) -> ir.Expr:
        e = ir.In(value, tuple(dict.fromkeys(items)), span=span)
        if negated:  # like `!=`, `not in` is false on a missing value
            return ir.and_(ir.Not(ir.IsNull(value)), ir.Not(e), span=span)
        return e

    @staticmethod
    def str_test(test: str, value: ir.Expr, needle: ir.Expr, span: Span | None = None) -> ir.Expr:
        if isinstance(needle, ir.Const) and needle.value == "":
            # every present text starts with, ends with and contains "": engines disagree
            # on empty needles (SUBSTR(v, -0) in SQLite), so decide it here
            return ir.Not(ir.IsNull(value), span=span)
        return ir.StrTest(test, value, needle, span=span)

    @staticmethod
    def matches(value: ir.Expr, rx: PortableRegex, span: Span | None = None) -> ir.Expr:
        return ir.Regex(value, rx, span=span)

    @staticmethod
    def is_missing(value: ir.Expr, negated: bool, span: Span | None = None) -> ir.Expr:
        test = ir.IsNull(value, span=span)
        return ir.Not(test, span=span) if negated else test
