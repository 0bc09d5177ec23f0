"""`leadscore fmt`: one canonical layout for `.score` files, printed from the syntax tree.

The printer works from the AST (compiler/ast.py) and the comments the parser keeps. It reads
the source text by span only where the AST does not keep what was written: the digits of
numbers and percentages, where entries stored by kind (schema, test blocks) were, and the
comments inside `events { ... }` bodies, which the lexer never sees. Every result is parsed
back and compared with the original tree before it is returned, so fmt cannot change what a
model means; the layout itself is documented in docs/language.md ("Formatting").
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field, fields, is_dataclass
from decimal import Decimal
from functools import lru_cache

from .compiler import ast
from .compiler.diagnostics import CompileError, Diagnostic, Source, Span
from .compiler.parse import parse

__all__ = ["FormatError", "format_source"]

INDENT = "  "


class FormatError(Exception):
    """The printed text would not parse back to the same model: a bug in fmt, never in the file."""


# ---------------------------------------------------------------- names
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Keywords the parser accepts next to a name in each position (the contextual lexer reserves
# a keyword only where it can appear); a name spelled like one of them needs backticks there.
# tests/test_fmt.py checks these sets against the parser.
ATOM = frozenset({"not", "true", "false", "event", "count", "sum", "exists", "days_since",
                  "max", "min", "avg"})
FILTER = frozenset({"event"})
COUNT_FILTER = frozenset({"event", "lead"})
DAYS_SINCE = frozenset({"last"})
TIER = frozenset({"at", "require", "and", "or", "in", "not", "is", "matches", "starts_with",
                  "ends_with", "contains", "within", "where"})
GRADE = frozenset({"at"})
TEST_VALUE = frozenset({"true", "false", "missing"})
DECL = frozenset()  # after `field`, `let`, `score`, `types`, `expect`, ...: only a name fits


@lru_cache(maxsize=1)
def keywords() -> frozenset[str]:
    """Every word the grammar uses as a keyword anywhere."""
    from .compiler.parse import _parser

    return frozenset(t.pattern.value for t in _parser().terminals
                     if t.pattern.type == "str" and t.pattern.value.isidentifier())


def quote_string(value: str) -> str:
    """A string literal for `value`, with as few escapes as read back the same.

    A backslash before a character that is not an escape is kept as written (the parser
    keeps it too), so a pattern reads `"acme\\.com"` -> `"acme\\.com"` rather than `\\\\.`.
    """
    out = ['"']
    for i, ch in enumerate(value):
        if ch == "\\":
            nxt = value[i + 1] if i + 1 < len(value) else ""
            out.append("\\\\" if nxt in ("", "\\", '"', "n", "t", "r", "\n", "\t", "\r") else "\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _points(s: ast.Signed) -> str:
    """Rule and decay points always carry their sign."""
    return s.text if s.text[:1] in ("+", "-") else "+" + s.text


def _bound(s: ast.Signed) -> str:
    """Caps, floors, clamps and thresholds: a sign only when negative."""
    return s.text[1:] if s.text.startswith("+") else s.text


def _number_from_value(value: float, is_int: bool) -> str:
    if is_int and value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


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


# ---------------------------------------------------------------- statements
Pos = tuple[int, int]  # (line, column), 1-based


@dataclass
class _Stmt:
    """One printed statement: a line, or a block (`text {` children `}`)."""

    start: Pos
    end: Pos  # the position of its last character (line, column)
    text: str  # a line's text, or a block's header without ` {`
    children: list[_Stmt] | None = None
    leading: list[str] = field(default_factory=list)  # comments moved from inside it
    trailing: str | None = None
    header_comment: str | None = None
    free: list[tuple[Pos, str]] = field(default_factory=list)  # own-line comments inside

    @property
    def is_block(self) -> bool:
        return self.children is not None


@dataclass
class _Comment:
    pos: Pos
    text: str
    own_line: bool


_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`\n]*`?|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|\s+|.', re.S)
_EVENTS_BODY = re.compile(r'\{(?:[^}"#]|"(?:[^"\\\n]|\\.)*"|#[^\n]*)*\}')
_EVENT_LINE_TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\\n]|\\.)*"|`[^`\n]+`|[^\s#"`]+|.')
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


class _Text:
    """The source text, addressed by (line, column) as spans are."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.lines = text.split("\n")

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col - 1

    def pos(self, offset: int) -> Pos:
        i = bisect.bisect_right(self.starts, offset) - 1
        return (i + 1, offset - self.starts[i] + 1)

    def slice(self, span: Span) -> str:
        return self.text[self.offset(span.line, span.column):
                         self.offset(span.end_line, span.end_column)]

    def blank(self, line: int) -> bool:
        return 1 <= line <= len(self.lines) and not self.lines[line - 1].strip()

    def blank_between(self, after: int, before: int) -> bool:
        return any(self.blank(n) for n in range(after + 1, before))

    def code_before(self, pos: Pos) -> bool:
        line = self.lines[pos[0] - 1]
        return bool(line[: pos[1] - 1].strip())


@dataclass
class _TestLayout:
    """Where the entries of a `test` block that the AST keeps only by kind were written."""

    lead: tuple[Pos, Pos] | None = None
    events: tuple[Pos, Pos] | None = None
    comments: list[tuple[Pos, str]] = field(default_factory=list)  # inside `events { }`


def _scan_test(src: _Text, span: Span) -> _TestLayout:
    out = _TestLayout()
    text = src.text
    pos, end = src.offset(span.line, span.column), src.offset(span.end_line, span.end_column)
    while pos < end:
        m = _SCAN.match(text, pos)
        assert m is not None
        word = m.group()
        pos = m.end()
        if word not in ("lead", "events"):
            continue
        brace = pos
        while brace < end:  # skip blanks and comments up to the `{`
            n = _SCAN.match(text, brace)
            assert n is not None
            if not (n.group().isspace() or n.group().startswith("#")):
                break
            brace = n.end()
        if not text.startswith("{", brace):
            continue
        start = src.pos(m.start())
        if word == "events":
            body = _EVENTS_BODY.match(text, brace)
            if body is None:
                continue
            last = src.pos(body.end() - 1)
            out.events = (out.events[0] if out.events else start, last)
            for tok in _EVENT_LINE_TOKEN.finditer(text, body.start() + 1, body.end() - 1):
                if tok.group().startswith("#"):
                    out.comments.append((src.pos(tok.start()), tok.group().rstrip()))
            pos = body.end()
        elif out.lead is None:
            close = brace
            while close < end:
                n = _SCAN.match(text, close)
                assert n is not None
                if n.group() == "}":
                    break
                close = n.end()
            out.lead = (start, src.pos(close))
    return out


def _start(span: Span) -> Pos:
    return (span.line, span.column)


def _end(span: Span) -> Pos:
    return (span.end_line, max(1, span.end_column - 1))


class _Printer:
    def __init__(self, text: str, path: str, module: ast.Module, quote_keywords: bool):
        self.src = _Text(text)
        self.path = path
        self.module = module
        self.quote_keywords = quote_keywords
        self.tests: dict[int, _TestLayout] = {
            id(item): _scan_test(self.src, item.span)
            for item in module.items if isinstance(item, ast.TestDecl)}

    # ---- leaves
    def name(self, name: ast.Name | str, reserved: frozenset[str] = DECL) -> str:
        text = name.text if isinstance(name, ast.Name) else name
        if _IDENT.match(text) and text not in reserved and not (
                self.quote_keywords and text in keywords()):
            return text
        return f"`{text}`"

    def number(self, node: ast.Number) -> str:
        # the digits as written (the AST keeps a float); a comment may sit between - and them
        raw = re.sub(r"\s+|#[^\n]*", "", self.src.slice(node.span))
        if _NUMBER.fullmatch(raw) and float(raw) == node.value:
            return raw
        return _number_from_value(node.value, node.is_int)

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
        if kind == "count":
            return f"count({self.filter(e.filter, COUNT_FILTER)})"
        if kind == "count_distinct":
            return f"count distinct {self.name(e.field)} ({self.filter(e.filter)})"
        if kind == "sum":
            return f"sum {self.name(e.field)} ({self.filter(e.filter)})"
        if kind == "exists":
            return f"exists({self.filter(e.filter)})"
        if kind == "days_since_last":
            return f"days_since(last {self.filter(e.filter)})"
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
    def line(self, span: Span, text: str) -> _Stmt:
        return _Stmt(_start(span), _end(span), text)

    def block(self, span: Span, header: str, children: list[_Stmt]) -> _Stmt:
        return _Stmt(_start(span), _end(span), header, sorted(children, key=lambda s: s.start))

    def item(self, node: ast.Node) -> _Stmt:
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
            return self.line(node.span, f"clamp total {_bound(node.low)}..{_bound(node.high)}")
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
                                 + (f" at {_bound(g.threshold)}" if g.threshold else ""))
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

    def schema_part(self, part: ast.LeadSchema | ast.EventSchema) -> _Stmt:
        self._refuse_duplicates(part, "schema block")
        entries: list[_Stmt] = []
        if isinstance(part, ast.LeadSchema):
            header = "lead"
            singles = [("key", part.key), ("created", part.created)]
        else:
            header = "event"
            singles = [("lead", part.lead), ("time", part.time), ("type", part.type)]
            if part.types:
                entries.append(_Stmt(_start(part.types[0].span), _end(part.types[-1].span),
                                     "types " + ", ".join(self.name(t) for t in part.types)))
        for word, value in singles:
            if value is not None:
                entries.append(self.line(value.span, f"{word} {self.name(value)}"))
        for f in part.fields:
            entries.append(self.line(f.span, f"field {self.name(f.name)}: {self.name(f.type)}"))
        if part.table is not None:
            where = self._find_table(part.span) or _end(part.span)
            entries.append(_Stmt(where, where, f"table {quote_string(part.table)}"))
        return self.block(part.span, header, entries)

    def _find_table(self, span: Span) -> Pos | None:
        """Where `table "..."` was written: the AST keeps only the string."""
        text = self.src.text
        pos, end = self.src.offset(span.line, span.column), self.src.offset(span.end_line,
                                                                             span.end_column)
        prev = None
        while pos < end:
            m = _SCAN.match(text, pos)
            assert m is not None
            tok = m.group()
            if tok.startswith('"') and prev is not None and text[prev.start():prev.end()] == "table":
                return self.src.pos(prev.start())
            if not (tok.isspace() or tok.startswith("#")):
                prev = m
            pos = m.end()
        return None

    def _aligned_rules(self, rules: list[tuple[ast.Node, str, ast.Signed, str]]) -> list[_Stmt]:
        """`rule "label"  +P rest` with the points column lined up, points right-aligned."""
        if not rules:
            return []
        heads = [f"rule {quote_string(label)}" for _, label, _, _ in rules]
        points = [_points(p) for _, _, p, _ in rules]
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
            return f" first, {_points(r.repeat_points)} repeat per {flt}{mods}"
        raise FormatError(f"fmt cannot print a {r.kind} rule")

    def mod(self, m: ast.RuleMod) -> str:
        if m.kind == "cap" and isinstance(m.value, ast.Signed):
            return f"cap {_bound(m.value)}"
        if isinstance(m.value, ast.Duration):
            if m.kind == "throttle":
                return f"at most once per {m.value.text}"
            return f"{m.kind} {m.value.text}"
        raise FormatError(f"fmt cannot print a {m.kind} modifier")

    def score(self, node: ast.ScoreDecl) -> _Stmt:
        options = getattr(node, "options", None)
        if options is None:
            options = [(k, v) for k, v in (("cap", node.cap), ("floor", node.floor)) if v]
        header = f"score {self.name(node.name)}" + "".join(
            f" {kind} {_bound(value)}" for kind, value in options)
        body = getattr(node, "body", None) or [*node.rules, *node.decays]
        rules = self._aligned_rules([(r, r.label, r.points, self.rule_rest(r))
                                     for r in body if isinstance(r, ast.RuleDecl)])
        decays = [self.decay(d) for d in body if isinstance(d, ast.DecayDecl)]
        return self.block(node.span, header, rules + decays)

    def decay(self, d: ast.DecayDecl) -> _Stmt:
        if d.amount is not None:
            amount = _points(d.amount)
        else:
            amount = re.sub(r"\s+", "", self.src.slice(d.amount_span))
            if not re.fullmatch(r"[0-9]+(?:\.[0-9]+)?%", amount) or d.percent is None \
                    or float(amount[:-1]) != d.percent:
                amount = _number_from_value(d.percent or 0.0, False) + "%"
        return self.line(d.span, f"decay {amount} every {d.every.text} without "
                                 f"{self.filter(d.filter)}")

    def tiers(self, node: ast.TiersDecl) -> _Stmt:
        header = "tiers" + (f" for {self.name(node.segment)}" if node.segment else "")
        entries = []
        for i, t in enumerate(node.entries):
            text = self.name(t.name, TIER)
            if t.threshold is not None:
                text += f" at {_bound(t.threshold)}"
            for j, req in enumerate(t.requires):
                x = self.expr(req)
                # a bare `event` would take the next tier's name as its event type
                if x.takes_name and j == len(t.requires) - 1 and i < len(node.entries) - 1:
                    x = _paren(x)
                text += f" require {x.text}"
            entries.append(self.line(t.span, text))
        return self.block(node.span, header, entries)

    def account(self, node: ast.AccountDecl) -> _Stmt:
        entries = [self.line(e.span, f"score = {self.cond(e)}")
                   for e in ([node.score] if node.score is not None else []) + node.extra_scores]
        entries += self._aligned_rules([(r, r.label, r.points, f" when {self.cond(r.condition)}")
                                        for r in node.rules])
        entries += [self.tiers(t) for t in ([node.tiers] if node.tiers else []) + node.extra_tiers]
        return self.block(node.span, f"account by {self.name(node.field)}", entries)

    def test_value(self, v: ast.TestValue) -> str:
        if v.kind == "number":
            raw = re.sub(r"\s+", "", self.src.slice(v.span))
            if _NUMBER.fullmatch(raw) and float(raw) == v.value:
                return raw
            return _number_from_value(float(v.value), False)  # type: ignore[arg-type]
        if v.kind == "string":
            return quote_string(str(v.value))
        if v.kind == "bool":
            return "true" if v.value else "false"
        if v.kind == "missing":
            return "missing"
        if v.kind == "name":
            return self.name(str(v.value), TEST_VALUE)
        return v.text  # timestamp

    def test(self, node: ast.TestDecl) -> _Stmt:
        self._refuse_duplicates(node, "test block")
        layout = self.tests[id(node)]
        entries: list[_Stmt] = []
        if node.as_of is not None:
            entries.append(self.line(node.as_of.span, f"as_of {node.as_of.text}"))
        if node.lead is not None:
            fields_ = ", ".join(f"{self.name(f.name)}: {self.test_value(f.value)}"
                                for f in node.lead)
            if layout.lead is not None:
                start, end = layout.lead
            elif node.lead:
                start, end = _start(node.lead[0].span), _end(node.lead[-1].span)
            else:
                start = end = _start(node.span)
            entries.append(_Stmt(start, end, f"lead {{ {fields_} }}" if fields_ else "lead {}"))
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
            entries.append(_Stmt(start, end, "events", sorted(lines, key=lambda s: s.start)))
        for x in node.expects:
            entries.append(self.line(x.span, f"expect {self.name(x.name)} {x.op} "
                                             f"{self.test_value(x.value)}"))
        return self.block(node.span, f"test {quote_string(node.name)}", entries)

    # ---- comments
    def comments(self) -> list[_Comment]:
        found = [(_start(c.span), c.text.rstrip()) for c in self.module.comments]
        for layout in self.tests.values():
            found += layout.comments
        return [_Comment(pos, text, not self.src.code_before(pos)) for pos, text in sorted(found)]

    def place(self, c: _Comment, block: _Stmt) -> None:
        line = c.pos[0]
        assert block.children is not None
        inside = [ch for ch in block.children if ch.start[0] <= line <= ch.end[0]]
        if not inside:
            block.free.append((c.pos, c.text))
            return
        ch = max(inside, key=lambda s: s.start)
        if not ch.is_block:
            if line == ch.end[0] and not c.own_line and ch.trailing is None:
                ch.trailing = c.text
            else:  # inside a statement that spans lines: it moves before the statement
                ch.leading.append(c.text)
            return
        assert ch.children is not None
        if ch.start[0] < line < ch.end[0] or c.own_line:
            self.place(c, ch)
        elif ch.start[0] == ch.end[0] and ch.header_comment is None:
            # a block written on one line: its line comment goes where findings on the block
            # start (lint suppressions cover the line they end), the header
            ch.header_comment = c.text
        elif any(g.start[0] <= line <= g.end[0] for g in ch.children):
            self.place(c, ch)
        elif line == ch.start[0] and ch.header_comment is None:
            ch.header_comment = c.text
        elif line == ch.end[0] and ch.trailing is None:
            ch.trailing = c.text
        else:
            ch.leading.append(c.text)

    # ---- output
    def run(self) -> str:
        root = _Stmt((0, 0), (10**9, 0), "", [self.item(x) for x in self.module.items])
        for c in self.comments():
            self.place(c, root)
        out: list[str] = []
        self.render_body(root, 0, out, top=True)
        return "\n".join(out) + "\n" if out else ""

    def render_body(self, block: _Stmt, depth: int, out: list[str], top: bool = False) -> None:
        assert block.children is not None
        elems: list[tuple[Pos, _Stmt | str]] = [(s.start, s) for s in block.children]
        elems += [(pos, text) for pos, text in block.free]
        elems.sort(key=lambda e: e[0])
        # top level: a block is set off by a blank line even where the source had none
        force_after: set[int] = set()
        if top:
            stmts = [e for _, e in elems if isinstance(e, _Stmt)]
            for a, b in zip(stmts, stmts[1:]):
                if (a.is_block or b.is_block) and not self.src.blank_between(a.end[0], b.start[0]):
                    force_after.add(id(a))
        prev_end: int | None = None
        forced = False
        for pos, e in elems:
            if prev_end is not None and (forced or self.src.blank_between(prev_end, pos[0])):
                out.append("")
            if isinstance(e, str):
                out.append(INDENT * depth + e)
                prev_end, forced = pos[0], False
            else:
                self.render(e, depth, out)
                prev_end, forced = e.end[0], id(e) in force_after

    def render(self, s: _Stmt, depth: int, out: list[str]) -> None:
        pad = INDENT * depth
        out.extend(pad + c for c in s.leading)
        trailing = f"  {s.trailing}" if s.trailing else ""
        if s.children is None:
            out.append(pad + s.text + trailing)
        elif not s.children and not s.free and s.header_comment is None:
            out.append(pad + s.text + " {}" + trailing)
        else:
            header = f"  {s.header_comment}" if s.header_comment else ""
            out.append(pad + s.text + " {" + header)
            self.render_body(s, depth + 1, out)
            out.append(pad + "}" + trailing)


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
    printer = _Printer(text, path, module, False)
    return _shape(module), sorted(c.text for c in printer.comments())


def format_source(text: str, path: str = "<string>") -> str:
    """The canonical layout of a rule file; raise `CompileError` if it does not parse."""
    module = parse(text, path)
    want = _fingerprint(text, path, module)
    for quote_keywords in (False, True):  # the second time, every keyword-like name in backticks
        out = _Printer(text, path, module, quote_keywords).run()
        try:
            again = parse(out, path)
        except CompileError:
            continue
        if _fingerprint(out, path, again) == want:
            return out
    raise FormatError(f"{path}: the formatted text would not read back as the same model")
