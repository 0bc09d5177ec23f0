"""Typing: every expression resolved in its context and given a type; what it means as IR
is built by compiler/lower/exprs.py, so this stage only decides validity and types.
"""

from __future__ import annotations

import math

from . import ast, ir
from .checked import ERR, FILTER, MAX_POINTS, TYPE_WORDS, Ctx
from .diagnostics import Span
from .lower.exprs import Filter
from .regex import RegexError, compile_portable
from .text import fold

NO_EVENTS = Filter(ir.FALSE)  # what a filter that failed to check stands for


def _source_offset(raw: str, offset: int) -> int:
    """Column offset, within a string literal as written, of character `offset` of its value."""
    i, produced = 1, 0  # skip the opening quote
    while i < len(raw) - 1 and produced < offset:
        i += 2 if raw[i] == "\\" and raw[i + 1] in '"\\ntr' else 1
        produced += 1
    return i



class Typing:
    """Checker stage 2 (a mixin of compiler/check.py `Checker`)."""

    def fail(self, message: str, span: Span, hint: str | None = None) -> tuple[ir.Expr, str]:
        """Report an error; the expression is then of the error type (no follow-on errors)."""
        self.error(message, span, hint=hint)
        return ir.FALSE, ERR

    def _cond(self, node: ast.Expr, ctx: Ctx) -> ir.Expr:
        e, t = self.resolve(node, ctx)
        return self.as_cond(e, t, node.span, ctx)

    def as_cond(self, e: ir.Expr | Filter, t: str, span: Span, ctx: Ctx) -> ir.Expr:
        if t == ERR:
            return ir.FALSE
        if t == FILTER and not ctx.events:
            self.error(f"an event filter cannot be used in {ctx.what}", span)
            return ir.FALSE
        if t not in (ir.BOOL, FILTER):
            self.error(f"expected a condition, found {TYPE_WORDS.get(t, t)}", span,
                       hint="compare it, e.g. `employees >= 200`" if t == ir.NUMBER else None)
            return ir.FALSE
        return self.build.condition(e, span)

    def _filter(self, node: ast.Expr, ctx: Ctx) -> Filter:
        e, t = self.resolve(node, ctx)
        if t == ERR:
            return NO_EVENTS
        if t != FILTER:
            self.error(f"expected an event filter such as `event page_view`, found "
                       f"{TYPE_WORDS.get(t, t)}", node.span)
            return NO_EVENTS
        return e

    def _name_error(self, name: ast.Name, ctx: Ctx) -> tuple[ir.Expr, str]:
        text = name.text
        if ctx.kind == "event":
            if text in self.lead_fields:
                return self.fail(f"`{text}` is a lead field; an event filter can only use event fields",
                                  name.span, hint="move the lead condition out of the `where`, "
                                  "e.g. `when tech and exists(event ...)`")
            cands = list(self.event_fields)
        else:
            if text in self.event_fields:
                return self.fail(f"`{text}` is an event field; use it inside an event filter",
                                  name.span, hint=f"e.g. `count(event where {text} ...)`")
            cands = list(self.lead_fields) + list(self.lets)
            if ctx.scores:
                cands += list(self.scores)
        if text == self.schema.lead_key:
            return self.fail(f"`{text}` is the lead key, which rules cannot use", name.span)
        if fold(text) in self.schema.event_types:
            return self.fail(f"unknown name `{text}`", name.span,
                              hint=f"`{text}` is an event type: write `event {text}`")
        if text in self.broken_names:
            return ir.FALSE, ERR  # its declaration already has an error
        return self.fail(f"unknown name `{text}`", name.span, hint=self.suggest(text, cands))

    def resolve(self, node: ast.Expr, ctx: Ctx) -> tuple[ir.Expr | Filter, str]:
        """Type `node` in `ctx` and return (its IR, or a `Filter` for an event filter; type)."""
        method = getattr(self, "_r_" + type(node).__name__)
        return method(node, ctx)

    def _r_Number(self, n: ast.Number, ctx):
        if not math.isfinite(n.value) or abs(n.value) > MAX_POINTS:
            self.error(f"number `{n.value:g}` is out of range", n.span)
            return ir.num(0), ERR
        return self.build.number(n.value, n.span), ir.NUMBER

    def _r_String(self, n: ast.String, ctx):
        return self.build.string(fold(n.value), n.span), ir.TEXT

    def _r_Bool(self, n: ast.Bool, ctx):
        return self.build.boolean(n.value, n.span), ir.BOOL

    def _r_NameRef(self, n: ast.NameRef, ctx: Ctx):
        e, t = self._name(n.name, ctx)
        if n.within is not None:
            if t == ERR:
                return e, t
            if t != FILTER:
                return self.fail(f"`within` applies to event filters; `{n.name.text}` is "
                                  f"{TYPE_WORDS.get(t, t)}", n.within.span)
            return e.within(self._days(n.within, "window")), FILTER
        return e, t

    def _name(self, name: ast.Name, ctx: Ctx) -> tuple[ir.Expr | Filter, str]:
        text = name.text
        if ctx.account:
            if text == "score" and ctx.kind == "account_rule":
                return self.build.account_score(name.span), ir.NUMBER
            if text in self.lets:
                return self._let(name, ctx)
            return self.fail(f"`{text}` is a lead value; an account uses roll-ups of its leads",
                              name.span, hint=f"e.g. `max({text})`, `sum({text})` or "
                              f"`count(lead where {text} ...)`")
        if ctx.kind == "event" and text in self.event_fields:
            return self._event_field(name)
        if text in self.lets:
            return self._let(name, ctx)
        if ctx.kind != "event" and ctx.kind != "total" and text in self.lead_fields:
            t, _ = self.lead_fields[text]
            self.refer(name, "lead field")
            return self.build.lead_field(text, t, name.span), t
        if ctx.kind == "any" and text in self.event_fields:
            return self._event_field(name)
        if text in self.scores:
            self.refer(name, "score")
            if not ctx.scores:
                return self.fail(f"score `{text}` cannot be used in {ctx.what}", name.span,
                                  hint="scores can be used in `total`, segments, disqualify and tier gates")
            return self.build.score(text, name.span), ir.NUMBER
        if text == "total" and ctx.kind in ("post", "any", "member"):
            self.refer(name, "total")
            return self.build.total(name.span), ir.NUMBER
        if text == "total":
            return self.fail(f"`total` cannot be used in {ctx.what}", name.span)
        if ctx.kind == "total" and text in self.lead_fields:
            return self.fail("the total combines scores; lead fields belong in rules", name.span)
        return self._name_error(name, ctx)

    def _event_field(self, name: ast.Name) -> tuple[ir.Expr, str]:
        self.refer(name, "event field")
        t, _ = self.event_fields[name.text]
        if t == "ev_type":
            return self.build.event_field(name.text, None, name.span), ir.TEXT
        return self.build.event_field(name.text, t, name.span), t

    def _let(self, name: ast.Name, ctx: Ctx) -> tuple[ir.Expr | Filter, str]:
        text = name.text
        self.refer(name, "let")
        let = self.lets[text]  # cycles are reported (and their lets broken) up front
        self._check_let(let)
        if let.broken:
            return ir.FALSE, ERR
        saved = self.diagnostics
        self.diagnostics = []
        try:
            e, t = self.resolve(let.decl.value, ctx)
            inner = self.diagnostics
        finally:
            self.diagnostics = saved
        if inner:
            return self.fail(f"`{text}` cannot be used in {ctx.what}: {inner[0].message}", name.span,
                              hint=f"`{text}` is defined at {let.decl.span}")
        return e, t

    def _of_type(self, node: ast.Expr, ctx: Ctx, want: str, word: str) -> ir.Expr | None:
        """`node` if it is of type `want`; None when it is not (reported) or already failed."""
        e, t = self.resolve(node, ctx)
        if t == ERR:
            return None
        if t != want:
            self.error(f"`{word}` needs {TYPE_WORDS[want]}, not {TYPE_WORDS.get(t, t)}", node.span)
            return None
        return e

    def _r_Neg(self, n: ast.Neg, ctx):
        e = self._of_type(n.operand, ctx, ir.NUMBER, "-")
        if e is None:
            return ir.FALSE, ERR
        return self.build.negate(e, n.span), ir.NUMBER

    def _r_Not(self, n: ast.Not, ctx):
        e, t = self.resolve(n.operand, ctx)
        return self.build.not_(self.as_cond(e, t, n.operand.span, ctx), n.span), ir.BOOL

    def _r_BoolOp(self, n: ast.BoolOp, ctx):
        items = []
        for item in n.items:
            e, t = self.resolve(item, ctx)
            items.append(self.as_cond(e, t, item.span, ctx))
        return self.build.bool_op(n.op, items, n.span), ir.BOOL

    def _binary(self, n: ast.BinOp | ast.StrTest, ctx: Ctx, want: str, word: str, build,
                type_: str):
        """An operator whose two sides must both be of type `want`."""
        le, lt = self.resolve(n.left, ctx)
        re_, rt = self.resolve(n.right, ctx)
        if ERR in (lt, rt):
            return ir.FALSE, ERR
        for side, t in ((n.left, lt), (n.right, rt)):
            if t != want:
                return self.fail(f"`{n.op}` needs {word}, but this is {TYPE_WORDS.get(t, t)}", side.span)
        return build(n.op, le, re_, n.span), type_

    def _r_BinOp(self, n: ast.BinOp, ctx):
        return self._binary(n, ctx, ir.NUMBER, "numbers", self.build.arith, ir.NUMBER)

    def _r_StrTest(self, n: ast.StrTest, ctx):
        return self._binary(n, ctx, ir.TEXT, "text", self.build.str_test, ir.BOOL)

    def _r_Compare(self, n: ast.Compare, ctx):
        le, lt = self.resolve(n.left, ctx)
        re_, rt = self.resolve(n.right, ctx)
        if ERR in (lt, rt):
            return ir.FALSE, ERR
        if FILTER in (lt, rt):
            side = n.left if lt == FILTER else n.right
            return self.fail("an event filter cannot be compared; count it first", side.span,
                              hint="e.g. `count(event page_view) >= 3`")
        if lt != rt:
            return self.fail(f"cannot compare {TYPE_WORDS.get(lt, lt)} with {TYPE_WORDS.get(rt, rt)}",
                              n.span, hint=self._type_hint(n.left, lt, n.right, rt))
        if lt == ir.TIMESTAMP:
            return self.fail("timestamps cannot be compared directly", n.span,
                              hint="compare days instead, e.g. `days_since(created_at) > 30`")
        if lt in (ir.TEXT, ir.BOOL) and n.op not in ("==", "!="):
            return self.fail(f"{TYPE_WORDS[lt]} can only be compared with == and !=", n.span)
        return self.build.compare(n.op, le, re_, n.span), ir.BOOL

    def _type_hint(self, left, lt, right, rt) -> str | None:
        for node, t in ((left, lt), (right, rt)):
            if isinstance(node, ast.NameRef) and node.name.text in self.lead_fields:
                return f"`{node.name.text}` is {TYPE_WORDS.get(t, t)}"
        return None

    def _r_In(self, n: ast.In, ctx):
        ve, vt = self.resolve(n.value, ctx)
        if vt == ERR:
            return ir.FALSE, ERR
        if vt not in (ir.TEXT, ir.NUMBER, ir.BOOL):
            return self.fail(f"`in` needs text or a number, not {TYPE_WORDS.get(vt, vt)}", n.value.span)
        values = []
        for item in n.items:
            e, t = self.resolve(item, ctx)
            if t != vt:
                return self.fail(f"list item is {TYPE_WORDS.get(t, t)} but the value is "
                                  f"{TYPE_WORDS.get(vt, vt)}", item.span)
            values.append(e.value)
        if not values:
            return self.fail("an empty list never matches", n.span)
        return self.build.in_(ve, values, n.negated, n.span), ir.BOOL

    def _r_Matches(self, n: ast.Matches, ctx):
        ve = self._of_type(n.value, ctx, ir.TEXT, "matches")
        if ve is None:
            return ir.FALSE, ERR
        try:
            rx = compile_portable(n.pattern.value)
        except RegexError as err:
            s = n.pattern.span
            col = s.column + _source_offset(n.pattern.raw, err.offset)
            return self.fail(f"invalid pattern: {err}", Span(s.path, s.line, col, s.line, col + 1),
                              hint=err.hint)
        return self.build.matches(ve, rx, n.pattern.span), ir.BOOL

    def _r_IsMissing(self, n: ast.IsMissing, ctx):
        e, t = self.resolve(n.value, ctx)
        if t == ERR:
            return ir.FALSE, ERR
        if t == FILTER:
            return self.fail("an event filter is never missing; use `exists(...)`", n.value.span)
        return self.build.is_missing(e, n.negated, n.span), ir.BOOL

    def _r_EventFilter(self, n: ast.EventFilter, ctx: Ctx):
        if not self.schema.has_events:
            if self.events_broken:
                return ir.FALSE, ERR  # the event schema's own error says why
            return self.fail("the schema declares no events", n.span,
                              hint="add `event { lead ..., time ..., type ... }` to the schema")
        if ctx.kind == "event":
            return self.fail("an event filter cannot be nested in another", n.span)
        if not ctx.events:
            return self.fail(f"events cannot be used in {ctx.what}", n.span)
        wanted = None
        if n.types:
            wanted = []
            for t in n.types:
                low = fold(t.text)
                if self.schema.event_types and low not in self.schema.event_types:
                    self.error(f"unknown event type `{t.text}`", t.span,
                               hint=self.suggest(low, self.schema.event_types) or
                               "the schema's `types` line lists the known types")
                wanted.append(low)
        where = None
        if n.where is not None:
            e, t = self.resolve(n.where, Ctx("event", "an event filter"))
            where = self.as_cond(e, t, n.where.span, Ctx("event", "an event filter"))
        within = self._days(n.within, "window") if n.within is not None else None
        return self.build.event_filter(wanted, where, within, n.span), FILTER

    def _rollup(self, n: ast.Aggregate, ctx: Ctx):
        word = "count(lead ...)" if n.kind == "count_leads" else f"{n.kind[5:]}(...)"
        if not ctx.account:
            return self.fail(f"`{word}` rolls leads up into an account; it belongs in an `account` block",
                              n.span)
        member = Ctx("member", "a roll-up of an account's leads")
        if n.kind == "count_leads":
            where = self._cond(n.filter, member) if n.filter is not None else None
            return self.build.rollup(n.kind, where, None, n.span), ir.NUMBER
        e = self._of_type(n.value, member, ir.NUMBER, word)
        if e is None:
            return ir.FALSE, ERR
        return self.build.rollup(n.kind, None, e, n.span), ir.NUMBER

    def _r_Aggregate(self, n: ast.Aggregate, ctx: Ctx):
        if n.kind == "count_leads" or n.kind.startswith("roll_"):
            return self._rollup(n, ctx)
        if ctx.account:
            return self.fail("event aggregates of an account go inside a roll-up", n.span,
                              hint="e.g. `sum(count(event demo_request))`")
        if ctx.kind == "event":
            return self.fail("aggregates cannot be used inside an event filter", n.span)
        if n.kind == "days_since_field":
            e, t = self._name(n.field, ctx)
            if t == ERR:
                return e, t
            if t != ir.TIMESTAMP:
                return self.fail(f"`days_since` needs a timestamp field, not {TYPE_WORDS.get(t, t)}",
                                  n.field.span)
            return self.build.days_since(e, n.span), ir.NUMBER
        if not ctx.events:
            return self.fail(f"events cannot be used in {ctx.what}", n.span)
        where = self._filter(n.filter, ctx)
        if n.kind == "count":
            return self.build.count(where, n.span), ir.NUMBER
        if n.kind == "exists":
            return self.build.exists(where, n.span), ir.BOOL
        if n.kind == "days_since_last":
            return self.build.days_since_last(where, n.span), ir.NUMBER
        # sum / count distinct over an event field
        fname = n.field.text
        if fname not in self.event_fields:
            return self.fail(f"unknown event field `{fname}`", n.field.span,
                              hint=self.suggest(fname, list(self.event_fields)))
        e, t = self._name(n.field, Ctx("event", "an aggregate"))
        if n.kind == "sum":
            if t != ir.NUMBER:
                return self.fail(f"`sum` needs a number field; `{fname}` is {TYPE_WORDS.get(t, t)}",
                                  n.field.span)
            return self.build.fold_field("sum", where, e, n.span), ir.NUMBER
        if t == ir.TIMESTAMP:
            return self.fail("`count distinct` of a timestamp is not supported", n.field.span)
        return self.build.fold_field("count_distinct", where, e, n.span), ir.NUMBER
