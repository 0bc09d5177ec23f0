"""The printer: each declaration and expression of the syntax tree as canonical text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..compiler import ast
from ..compiler.diagnostics import CompileError, Diagnostic, Source, Span
from ..compiler.names import is_plain
from .layout import (
    NUMBER,
    SCAN,
    CommentAt,
    Pos,
    SourceText,
    Stmt,
    TestLayout,
    end_of,
    place,
    render_body,
    scan_test,
    start_of,
)
from .literals import bound, number_text, quote_string, signed
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


class FormatError(Exception):
    """The printed text would not parse back to the same model: a bug in fmt, never in the file."""


# ---------------------------------------------------------------- expressions
OR, AND, NOT, CMP, SUM, PROD, UNARY, ATOM_PREC = range(1, 9)


@dataclass
class _X:
    """A printed expression and what its right end would do to text written after it."""

    text: str
    prec: int
    open: bool = False  # ends in `event ... where E` with no `within`: E would swallow more
    takes_within: bool = False  # a `within` written next would bind to the tail
    takes_name: bool = False  # ends in a bare `event`: a name written next becomes its type

    def tail(self, text: str, prec: int) -> _X:
        return _X(text, prec, self.open, self.takes_within, self.takes_name)


def _paren(x: _X) -> _X:
    return _X(f"({x.text})", ATOM_PREC)


# how each aggregate over an event filter is written
_OVER_EVENTS = {"count": "count({filter})", "count_distinct": "count distinct {field} ({filter})",
                "sum": "sum {field} ({filter})", "exists": "exists({filter})",
                "days_since_last": "days_since(last {filter})"}


class Printer:
    def __init__(self, text: str, path: str, module: ast.Module, quote_keywords: bool):
        self.src = SourceText(text)
        self.path = path
        self.module = module
        self.quote_keywords = quote_keywords
        self.tests: dict[int, TestLayout] = {
            id(item): scan_test(self.src, item.span)
            for item in module.items if isinstance(item, ast.TestDecl)}

    # ---- leaves
    def name(self, name: ast.Name | str, reserved: frozenset[str] = DECL) -> str:
        text = name.text if isinstance(name, ast.Name) else name
        if is_plain(text) and text not in reserved and not (
                self.quote_keywords and text in keywords()):
            return text
        return f"`{text}`"

    def number(self, node: ast.Number) -> str:
        # the digits as written (the AST keeps a float); a comment may sit between - and them
        raw = re.sub(r"\s+|#[^\n]*", "", self.src.slice(node.span))
        if NUMBER.fullmatch(raw) and float(raw) == node.value:
            return raw
        return number_text(node.value, node.is_int)

    # ---- expressions
    def operand(self, e: ast.Expr, min_prec: int, final: bool) -> _X:
        x = self.expr(e)
        if x.prec < min_prec or (x.open and not final):
            return _paren(x)
        return x

    def expr(self, e: ast.Expr, ref: frozenset[str] = ATOM) -> _X:
        if isinstance(e, ast.Number):
            return _X(self.number(e), ATOM_PREC)
        if isinstance(e, ast.String):
            return _X(quote_string(e.value), ATOM_PREC)
        if isinstance(e, ast.Bool):
            return _X("true" if e.value else "false", ATOM_PREC)
        if isinstance(e, ast.NameRef):
            text = self.name(e.name, ref)
            if e.within is not None:
                return _X(f"{text} within {e.within.text}", ATOM_PREC)
            return _X(text, ATOM_PREC, takes_within=True)
        if isinstance(e, ast.Neg):
            x = self.operand(e.operand, UNARY, True)
            return x.tail("-" + x.text, UNARY)
        if isinstance(e, ast.Not):
            x = self.operand(e.operand, NOT, True)
            return x.tail("not " + x.text, NOT)
        if isinstance(e, ast.BoolOp):
            prec = OR if e.op == "or" else AND
            items = [self.operand(it, prec + 1, i == len(e.items) - 1)
                     for i, it in enumerate(e.items)]
            return items[-1].tail(f" {e.op} ".join(x.text for x in items), prec)
        if isinstance(e, ast.BinOp):
            prec = SUM if e.op in ("+", "-") else PROD
            left, right = self.operand(e.left, prec, False), self.operand(e.right, prec + 1, True)
            return right.tail(f"{left.text} {e.op} {right.text}", prec)
        if isinstance(e, (ast.Compare, ast.StrTest)):
            left, right = self.operand(e.left, SUM, False), self.operand(e.right, SUM, True)
            return right.tail(f"{left.text} {e.op} {right.text}", CMP)
        if isinstance(e, ast.In):
            value = self.operand(e.value, SUM, False)
            items = ", ".join(self.literal(i) for i in e.items)
            return _X(f"{value.text} {'not in' if e.negated else 'in'} [{items}]", CMP)
        if isinstance(e, ast.Matches):
            value = self.operand(e.value, SUM, False)
            return _X(f"{value.text} matches {quote_string(e.pattern.value)}", CMP)
        if isinstance(e, ast.IsMissing):
            value = self.operand(e.value, SUM, False)
            return _X(f"{value.text} is {'present' if e.negated else 'missing'}", CMP)
        if isinstance(e, ast.EventFilter):
            return self.event_filter(e)
        if isinstance(e, ast.Aggregate):
            return _X(self.aggregate(e), ATOM_PREC)
        raise FormatError(f"fmt cannot print a {type(e).__name__} expression")

    def literal(self, e: ast.Expr) -> str:
        return self.expr(e).text

    def event_filter(self, e: ast.EventFilter) -> _X:
        text = "event"
        if e.types:
            first = self.name(e.types[0], keywords())  # anything may follow a bare `event`
            text += " " + "|".join([first] + [self.name(t) for t in e.types[1:]])
        if e.where is not None:
            where = self.expr(e.where)
            if e.within is not None and where.takes_within:
                where = _paren(where)
            text += " where " + where.text
        if e.within is not None:
            return _X(f"{text} within {e.within.text}", ATOM_PREC)
        bare = not e.types and e.where is None
        return _X(text, ATOM_PREC, open=e.where is not None, takes_within=True, takes_name=bare)

    def filter(self, e: ast.Expr | None, reserved: frozenset[str] = FILTER) -> str:
        if e is None:
            raise FormatError("fmt found an aggregate without its filter")
        return self.expr(e, reserved).text

    def aggregate(self, e: ast.Aggregate) -> str:
        kind = e.kind
        form = _OVER_EVENTS.get(kind)
        if form is not None:
            field = self.name(e.field) if e.field is not None else ""
            return form.format(field=field,
                               filter=self.filter(e.filter, COUNT_FILTER if kind == "count" else FILTER))
        if kind == "days_since_field":
            return f"days_since({self.name(e.field, DAYS_SINCE)})"
        if kind == "count_leads":
            where = "" if e.filter is None else " where " + self.expr(e.filter).text
            return f"count(lead{where})"
        if kind in ("roll_sum", "roll_max", "roll_min", "roll_avg") and e.value is not None:
            return f"{kind[5:]}({self.expr(e.value).text})"
        raise FormatError(f"fmt cannot print a {kind} aggregate")

    def cond(self, e: ast.Expr) -> str:
        return self.expr(e).text

    # ---- statements
    def line(self, span: Span, text: str) -> Stmt:
        return Stmt(start_of(span), end_of(span), text)

    def block(self, span: Span, header: str, children: list[Stmt]) -> Stmt:
        return Stmt(start_of(span), end_of(span), header, sorted(children, key=lambda s: s.start))

    def item(self, node: ast.Node) -> Stmt:
        if isinstance(node, ast.ModelDecl):
            version = f" version {node.version}" if node.version is not None else ""
            return self.line(node.span, f"model {quote_string(node.name)}{version}")
        if isinstance(node, ast.ImportDecl):
            return self.line(node.span, f"import {quote_string(node.path)}")
        if isinstance(node, ast.SchemaDecl):
            parts = getattr(node, "extra", [p for p in (node.lead, node.event) if p is not None])
            return self.block(node.span, "schema", [self.schema_part(p) for p in parts])
        if isinstance(node, ast.LetDecl):
            return self.line(node.span, f"let {self.name(node.name)} = {self.cond(node.value)}")
        if isinstance(node, ast.ScoreDecl):
            return self.score(node)
        if isinstance(node, ast.TotalDecl):
            return self.line(node.span, f"total = {self.cond(node.value)}")
        if isinstance(node, ast.ClampDecl):
            return self.line(node.span, f"clamp total {bound(node.low)}..{bound(node.high)}")
        if isinstance(node, ast.DisqualifyDecl):
            return self.line(node.span, f"disqualify {quote_string(node.reason)} when "
                                        f"{self.cond(node.condition)}")
        if isinstance(node, ast.SegmentDecl):
            return self.line(node.span, f"segment {self.name(node.name)} when "
                                        f"{self.cond(node.condition)}")
        if isinstance(node, ast.TiersDecl):
            return self.tiers(node)
        if isinstance(node, ast.GradeDecl):
            entries = [self.line(g.span, self.name(g.name, GRADE)
                                 + (f" at {bound(g.threshold)}" if g.threshold else ""))
                       for g in node.entries]
            return self.block(node.span, f"grade {self.name(node.score)}", entries)
        if isinstance(node, ast.AccountDecl):
            return self.account(node)
        if isinstance(node, ast.TestDecl):
            return self.test(node)
        raise FormatError(f"fmt cannot print a {type(node).__name__}")

    def _refuse_duplicates(self, node: ast.Node, what: str) -> None:
        # the builder keeps one value of a repeated entry: printing would drop the other
        for kind, span in getattr(node, "duplicates", []):
            diag = Diagnostic(f"cannot format: `{kind}` is given twice in this {what}", span,
                              hint=f"remove one of the `{kind}` entries, then run fmt again")
            raise CompileError([diag], {self.path: Source(self.path, self.src.text)})

    def schema_part(self, part: ast.LeadSchema | ast.EventSchema) -> Stmt:
        self._refuse_duplicates(part, "schema block")
        entries: list[Stmt] = []
        if isinstance(part, ast.LeadSchema):
            header = "lead"
            singles = [("key", part.key), ("created", part.created)]
        else:
            header = "event"
            singles = [("lead", part.lead), ("time", part.time), ("type", part.type)]
            if part.types:
                entries.append(Stmt(start_of(part.types[0].span), end_of(part.types[-1].span),
                                     "types " + ", ".join(self.name(t) for t in part.types)))
        for word, value in singles:
            if value is not None:
                entries.append(self.line(value.span, f"{word} {self.name(value)}"))
        for f in part.fields:
            entries.append(self.line(f.span, f"field {self.name(f.name)}: {self.name(f.type)}"))
        if part.table is not None:
            where = self._find_table(part.span) or end_of(part.span)
            entries.append(Stmt(where, where, f"table {quote_string(part.table)}"))
        return self.block(part.span, header, entries)

    def _find_table(self, span: Span) -> Pos | None:
        """Where `table "..."` was written: the AST keeps only the string."""
        text = self.src.text
        pos, end = self.src.offset(span.line, span.column), self.src.offset(span.end_line,
                                                                             span.end_column)
        prev = None
        while pos < end:
            m = SCAN.match(text, pos)
            assert m is not None
            tok = m.group()
            if tok.startswith('"') and prev is not None and text[prev.start():prev.end()] == "table":
                return self.src.pos(prev.start())
            if not (tok.isspace() or tok.startswith("#")):
                prev = m
            pos = m.end()
        return None

    def _aligned_rules(self, rules: list[tuple[ast.Node, str, ast.Signed, str]]) -> list[Stmt]:
        """`rule "label"  +P rest` with the points column lined up, points right-aligned."""
        if not rules:
            return []
        heads = [f"rule {quote_string(label)}" for _, label, _, _ in rules]
        points = [signed(p) for _, _, p, _ in rules]
        hw, pw = max(map(len, heads)), max(map(len, points))
        return [self.line(node.span, f"{h.ljust(hw)}  {p.rjust(pw)}{rest}")
                for (node, _, _, rest), h, p in zip(rules, heads, points)]

    def rule_rest(self, r: ast.RuleDecl) -> str:
        if r.kind == "when":
            if r.condition is None:
                raise FormatError("fmt found a `when` rule without its condition")
            return f" when {self.cond(r.condition)}"
        flt = self.filter(r.filter)
        mods = "".join(" " + self.mod(m) for m in r.mods)
        if r.kind == "per":
            return f" per {flt}{mods}"
        if r.kind == "once":
            return f" once {flt}{mods}"
        if r.kind == "first_repeat" and r.repeat_points is not None:
            return f" first, {signed(r.repeat_points)} repeat per {flt}{mods}"
        raise FormatError(f"fmt cannot print a {r.kind} rule")

    def mod(self, m: ast.RuleMod) -> str:
        if m.kind == "cap" and isinstance(m.value, ast.Signed):
            return f"cap {bound(m.value)}"
        if isinstance(m.value, ast.Duration):
            if m.kind == "throttle":
                return f"at most once per {m.value.text}"
            return f"{m.kind} {m.value.text}"
        raise FormatError(f"fmt cannot print a {m.kind} modifier")

    def score(self, node: ast.ScoreDecl) -> Stmt:
        options = getattr(node, "options", None)
        if options is None:
            options = [(k, v) for k, v in (("cap", node.cap), ("floor", node.floor)) if v]
        header = f"score {self.name(node.name)}" + "".join(
            f" {kind} {bound(value)}" for kind, value in options)
        body = getattr(node, "body", None) or [*node.rules, *node.decays]
        rules = self._aligned_rules([(r, r.label, r.points, self.rule_rest(r))
                                     for r in body if isinstance(r, ast.RuleDecl)])
        decays = [self.decay(d) for d in body if isinstance(d, ast.DecayDecl)]
        return self.block(node.span, header, rules + decays)

    def decay(self, d: ast.DecayDecl) -> Stmt:
        if d.amount is not None:
            amount = signed(d.amount)
        else:
            amount = re.sub(r"\s+", "", self.src.slice(d.amount_span))
            if not re.fullmatch(r"[0-9]+(?:\.[0-9]+)?%", amount) or d.percent is None \
                    or float(amount[:-1]) != d.percent:
                amount = number_text(d.percent or 0.0, False) + "%"
        return self.line(d.span, f"decay {amount} every {d.every.text} without "
                                 f"{self.filter(d.filter)}")

    def tiers(self, node: ast.TiersDecl) -> Stmt:
        header = "tiers" + (f" for {self.name(node.segment)}" if node.segment else "")
        entries = []
        for i, t in enumerate(node.entries):
            text = self.name(t.name, TIER)
            if t.threshold is not None:
                text += f" at {bound(t.threshold)}"
            if t.sticky is not None:
                text += " sticky"
            for j, req in enumerate(t.requires):
                x = self.expr(req)
                # a bare `event` would take the next tier's name as its event type
                if x.takes_name and j == len(t.requires) - 1 and i < len(node.entries) - 1:
                    x = _paren(x)
                text += f" require {x.text}"
            entries.append(self.line(t.span, text))
        return self.block(node.span, header, entries)

    def account(self, node: ast.AccountDecl) -> Stmt:
        entries = [self.line(e.span, f"score = {self.cond(e)}")
                   for e in ([node.score] if node.score is not None else []) + node.extra_scores]
        entries += self._aligned_rules([(r, r.label, r.points, f" when {self.cond(r.condition)}")
                                        for r in node.rules])
        entries += [self.tiers(t) for t in ([node.tiers] if node.tiers else []) + node.extra_tiers]
        return self.block(node.span, f"account by {self.name(node.field)}", entries)

    def test_value(self, v: ast.TestValue) -> str:
        if v.kind == "number":
            raw = re.sub(r"\s+", "", self.src.slice(v.span))
            if NUMBER.fullmatch(raw) and float(raw) == v.value:
                return raw
            return number_text(float(v.value), False)  # type: ignore[arg-type]
        if v.kind == "string":
            return quote_string(str(v.value))
        if v.kind == "bool":
            return "true" if v.value else "false"
        if v.kind == "missing":
            return "missing"
        if v.kind == "name":
            return self.name(str(v.value), TEST_VALUE)
        return v.text  # timestamp

    def test(self, node: ast.TestDecl) -> Stmt:
        self._refuse_duplicates(node, "test block")
        layout = self.tests[id(node)]
        entries: list[Stmt] = []
        if node.as_of is not None:
            entries.append(self.line(node.as_of.span, f"as_of {node.as_of.text}"))
        for lead in node.leads:
            fields_ = ", ".join(f"{self.name(f.name)}: {self.test_value(f.value)}"
                                for f in lead.fields)
            entries.append(self.line(lead.span, f"lead {{ {fields_} }}" if fields_ else "lead {}"))
        if node.previous_tier is not None:
            entries.append(self.line(node.previous_tier.span,
                                     f"previous_tier {self.name(node.previous_tier)}"))
        if node.events or layout.comments:
            lines = []
            for ev in node.events:
                parts = [self.name(ev.type), "at", ev.time.text]
                for f in ev.fields:
                    parts += [self.name(f.name), self.test_value(f.value)]
                lines.append(self.line(ev.span, " ".join(parts)))
            if layout.events is not None:
                start, end = layout.events
            else:
                start, end = lines[0].start, lines[-1].end
            entries.append(Stmt(start, end, "events", sorted(lines, key=lambda s: s.start)))
        for x in node.expects:
            of = f"{x.of} {quote_string(str(x.key.value))} " if x.key is not None else ""
            name = self.name(x.name, DECL if of else EXPECT)
            entries.append(self.line(x.span, f"expect {of}{name} {x.op} "
                                             f"{self.test_value(x.value)}"))
        return self.block(node.span, f"test {quote_string(node.name)}", entries)

    # ---- comments
    def comments(self) -> list[CommentAt]:
        found = [(start_of(c.span), c.text.rstrip()) for c in self.module.comments]
        for layout in self.tests.values():
            found += layout.comments
        return [CommentAt(pos, text, not self.src.code_before(pos)) for pos, text in sorted(found)]

    # ---- output
    def run(self) -> str:
        root = Stmt((0, 0), (10**9, 0), "", [self.item(x) for x in self.module.items])
        for c in self.comments():
            place(c, root)
        out: list[str] = []
        render_body(self.src, root, 0, out, top=True)
        return "\n".join(out) + "\n" if out else ""
