"""What the lint rules know about a model: its declarations, the range of every score and of the
total, and every condition as a formula (`formula.py`) they can ask 'never?', 'always?' and
'implies?' of.

Bounds follow the semantics of docs/language.md and are sound over-approximations: a value
outside [lo, hi] can never happen, so a tier above `hi` is certainly unreachable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from ..compiler import ast
from ..compiler.check import Scope
from ..compiler.diagnostics import Source, Span
from ..compiler.regex import RegexError, compile_portable
from ..compiler.text import fold
from .edits import Edit, Fix, Text
from .formula import FALSE, TRUE, And, Atom, Const, Formula, Not, Or, truth
from .intervals import INF, Interval
from .sets import BoolSet, NumSet, Pred, TextSet
from .sites import walk

NUMERIC = ("int", "float")


@dataclass(frozen=True)
class FilterInfo:
    """An event filter with its lets expanded."""

    types: frozenset[str] | None  # folded type names; None: any type
    wheres: tuple[str, ...]  # normalized source of each `where`
    where_nodes: tuple[ast.Expr, ...]
    window: int | None  # days of the narrowest `within`

    @property
    def base(self) -> tuple:
        """The filter without its window: what two filters share when one only narrows time."""
        return (self.types, tuple(sorted(self.wheres)))


@dataclass
class Term:
    """A number in a condition: a constant, or a variable with the values it can take."""

    const: float | None
    key: str | None
    universe: NumSet


@dataclass
class LintOptions:
    sales_tiers: list[str] | None = None  # tier names; None: the default rule (docs/lint.md)


SALES_WORDS = {"mql", "sql", "sal", "pql", "sales", "sales_ready", "opportunity", "hot",
               "qualified", "marketing_qualified", "sales_qualified", "hand_off", "handoff"}


class Facts:
    """The model's declarations as the checker resolved them (`scope`: field types, lets,
    scores), and everything lint derives from them."""

    def __init__(self, module: ast.Module, scope: Scope, path: str, sources: dict[str, Source],
                 replacements: list | None = None, options: LintOptions | None = None):
        self.module = module
        self.scope = scope
        self.path = path
        self.sources = sources
        self.replacements = replacements or []
        self.options = options or LintOptions()
        items = module.items
        self.items = items
        schema = scope.schema
        self.lead_fields: dict[str, str] = schema.lead_fields  # field -> declared type
        self.event_fields: dict[str, str] = schema.event_fields
        self.created = schema.lead_created
        self.type_column = schema.event_type
        declared = next(i for i in items if isinstance(i, ast.SchemaDecl))
        # the event types as written, for their spans (the schema keeps them folded)
        self.event_types: list[ast.Name] = declared.event.types if schema.has_events else []
        self.lets = scope.lets
        self.scores = scope.scores
        self.segments = [i for i in items if isinstance(i, ast.SegmentDecl)]
        self.tier_sets = [i for i in items if isinstance(i, ast.TiersDecl)]
        self.total = next((i for i in items if isinstance(i, ast.TotalDecl)), None)
        self.clamp = next((i for i in items if isinstance(i, ast.ClampDecl)), None)
        self.disqualify = [i for i in items if isinstance(i, ast.DisqualifyDecl)]
        self.grade = next((i for i in items if isinstance(i, ast.GradeDecl)), None)
        self.account = next((i for i in items if isinstance(i, ast.AccountDecl)), None)
        self._lines: dict[str, list[str]] = {}
        self._let_stack: list[str] = []
        self._cond_cache: dict[tuple[int, bool], Formula] = {}
        self._computing_bounds = False

    # ---------------------------------------------------------------- source text
    @cached_property
    def doc(self) -> Text:
        """The linted file's text, where fixes are made."""
        return Text(self.sources[self.path])

    def fix(self, title: str, where: Span, make: Callable[[Text], Iterable[Edit | None]]
            ) -> Fix | None:
        """A fix made by `make` on the linted file's text; None when `where` lies in another
        file (an import) or `make` finds no safe edit (None among them)."""
        if not self.own(where):
            return None
        edits = tuple(make(self.doc))
        if not edits or any(e is None for e in edits):
            return None
        return Fix(title, edits)  # type: ignore[arg-type]  # None was ruled out above

    def own(self, span: Span | None) -> bool:
        return span is not None and span.path == self.path

    def text(self, span: Span) -> str:
        lines = self._lines.get(span.path)
        if lines is None:
            src = self.sources.get(span.path)
            if src is None:
                return ""
            lines = self._lines[span.path] = src.text.splitlines()  # once per file, not per node
        if span.line == span.end_line:
            return lines[span.line - 1][span.column - 1:span.end_column - 1] if span.line <= len(
                lines) else ""
        parts = [lines[span.line - 1][span.column - 1:]]
        parts += lines[span.line:span.end_line - 1]
        parts.append(lines[span.end_line - 1][:span.end_column - 1])
        return "\n".join(parts)

    def norm(self, node: ast.Node) -> str:
        """A node's source with whitespace collapsed: equal text, equal meaning."""
        return " ".join(self.text(node.span).split())

    # ---------------------------------------------------------------- filters
    def filter_info(self, node: ast.Expr | None, depth: int = 0) -> FilterInfo | None:
        if node is None or depth > 20:
            return None
        if isinstance(node, ast.EventFilter):
            types = frozenset(fold(t.text) for t in node.types) if node.types else None
            wheres = (self.norm(node.where),) if node.where is not None else ()
            nodes = (node.where,) if node.where is not None else ()
            return FilterInfo(types, wheres, nodes, node.within.amount if node.within else None)
        if isinstance(node, ast.NameRef) and node.name.text in self.lets:
            inner = self.filter_info(self.lets[node.name.text].value, depth + 1)
            if inner is None:
                return None
            window = inner.window
            if node.within is not None:
                window = node.within.amount if window is None else min(window, node.within.amount)
            return FilterInfo(inner.types, inner.wheres, inner.where_nodes, window)
        return None

    def filter_formula(self, info: FilterInfo | None) -> Formula:
        """Whether an event can match the filter at all (its `where` can hold)."""
        if info is None:
            return TRUE
        return And(tuple(self.cond(w, in_event=True) for w in info.where_nodes))

    # ---------------------------------------------------------------- bounds
    @staticmethod
    def mods(r: ast.RuleDecl) -> dict[str, ast.RuleMod]:
        return {m.kind: m for m in r.mods}

    def rules(self) -> Iterator[tuple[ast.ScoreDecl, ast.RuleDecl]]:
        """(score, rule) for every rule of every score."""
        for s in self.scores.values():
            for r in s.rules:
                yield s, r

    def rule_caps(self) -> Iterator[tuple[ast.RuleDecl, ast.RuleMod, float]]:
        """(rule, its `cap`, the cap's value) for each rule with a cap."""
        for _, r in self.rules():
            cap = self.mods(r).get("cap")
            if cap is not None:
                yield r, cap, cap.value.value  # type: ignore[union-attr]

    def max_events(self, r: ast.RuleDecl) -> float:
        """The most events (or throttle periods) a rule can count."""
        info = self.filter_info(r.filter)
        if truth(self.filter_formula(info)) is False:
            return 0
        if r.kind == "once":
            return 1
        throttle = self.mods(r).get("throttle")
        if throttle is not None and info is not None and info.window is not None:
            period = max(1, throttle.value.amount)  # type: ignore[union-attr]
            # whole-day ages 0..W-1 fall in floor((W-1)/N)+1 distinct periods
            return (max(1, info.window) - 1) // period + 1
        return INF

    def rule_bounds(self, r: ast.RuleDecl, capped: bool = True) -> Interval:
        p = r.points.value
        mods = self.mods(r)
        if r.kind == "when":
            t = truth(self.cond(r.condition)) if r.condition is not None else None
            iv = Interval.point(p) if t is True else Interval.point(0) if t is False else \
                Interval(min(0, p), max(0, p))
        else:
            n = self.max_events(r)
            weighted = "half_life" in mods or "lifespan" in mods
            if n == 0:
                iv = Interval.point(0)
            elif r.kind == "once":
                iv = Interval(min(0, p), max(0, p))
            elif r.kind == "per":  # P·Σw over n events, each weight in [0, 1]
                iv = Interval(0, n) * Interval.point(p)
            else:  # first P, repeat Q: 0 events, or P + Q·(n−1)
                q = r.repeat_points.value if r.repeat_points else 0.0
                rest = Interval(0, n - 1) * Interval.point(q)
                if weighted:
                    iv = Interval(min(0, p), max(0, p)) + Interval(min(0, rest.lo), max(0, rest.hi))
                else:
                    iv = (Interval.point(p) + rest).join(Interval.point(0))
        if capped and "cap" in mods:
            iv = iv.cap(mods["cap"].value.value)  # type: ignore[union-attr]
        return iv

    def score_sum(self, s: ast.ScoreDecl) -> Interval:
        iv = Interval.point(0)
        for r in s.rules:
            iv = iv + self.rule_bounds(r)
        return iv

    def finish_score(self, s: ast.ScoreDecl, iv: Interval, decay: bool = True,
                     floor: bool = True) -> Interval:
        """Score cap, then decay, then floor (semantics 7)."""
        if s.cap is not None:  # as a rule's cap: a negative one bounds from below
            iv = iv.cap(s.cap.value)
        if decay:
            for d in s.decays:
                # subtractive decay takes a positive score down to 0 at most; a percentage
                # moves any score toward 0
                iv = Interval(min(iv.lo, 0), iv.hi if d.percent is None else max(iv.hi, 0))
        if floor and s.floor is not None:
            iv = iv.floor(s.floor.value)
        return iv

    @cached_property
    def score_bounds(self) -> dict[str, Interval]:
        self._computing_bounds = True
        try:
            return {name: self.finish_score(s, self.score_sum(s)) for name, s in self.scores.items()}
        finally:
            self._computing_bounds = False

    def total_of(self, scores: dict[str, Interval], clamp: bool = True) -> Interval:
        if self.total is not None:
            iv = self.number_interval(self.total.value, scores)
        else:
            iv = Interval.point(0)
            for v in scores.values():
                iv = iv + v
        if clamp and self.clamp is not None:
            iv = iv.clamp(self.clamp.low.value, self.clamp.high.value)
        return iv

    @cached_property
    def total_bounds(self) -> Interval:
        return self.total_of(self.score_bounds)

    def number_interval(self, e: ast.Expr, scores: dict[str, Interval], depth: int = 0) -> Interval:
        if depth > 50:
            return Interval.anything()
        if isinstance(e, ast.Number):
            return Interval.point(e.value)
        if isinstance(e, ast.Neg):
            return -self.number_interval(e.operand, scores, depth + 1)
        if isinstance(e, ast.BinOp):
            a = self.number_interval(e.left, scores, depth + 1)
            b = self.number_interval(e.right, scores, depth + 1)
            return {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__}[e.op](b)
        if isinstance(e, ast.NameRef):
            name = e.name.text
            if name in scores:
                return scores[name]
            if name in self.lets:
                return self.number_interval(self.lets[name].value, scores, depth + 1)
        return Interval.anything()

    def zero_score(self, s: ast.ScoreDecl) -> float:
        """A score's value for a lead that matches none of its rules (and does not decay)."""
        v = 0.0
        if s.cap is not None:
            v = min(v, s.cap.value) if s.cap.value >= 0 else max(v, s.cap.value)
        if s.floor is not None:
            v = max(v, s.floor.value)
        return v

    # ---------------------------------------------------------------- tiers
    def thresholds(self) -> Iterator[tuple[ast.TiersDecl, int, ast.TierEntry, ast.Signed]]:
        """(tier set, index, tier, its threshold) for each tier above a set's first with one."""
        for td in self.tier_sets:
            for i, e in enumerate(td.entries[1:], start=1):
                if e.threshold is not None:
                    yield td, i, e, e.threshold

    def sales_tiers(self, td: ast.TiersDecl) -> list[ast.TierEntry]:
        """The tiers that hand a lead to sales (see docs/lint.md, LS103)."""
        entries = td.entries[1:]
        if self.options.sales_tiers is not None:
            wanted = {fold(n) for n in self.options.sales_tiers}
            return [e for e in entries if fold(e.name.text) in wanted]
        for i, e in enumerate(entries):
            if fold(e.name.text) in SALES_WORDS:
                return entries[i:]
        if not entries:
            return []
        return entries[-2:] if len(td.entries) >= 4 else entries[-1:]

    # ---------------------------------------------------------------- conditions
    def cond(self, e: ast.Expr, in_event: bool = False) -> Formula:
        key = (id(e), in_event)
        cached = self._cond_cache.get(key)
        if cached is None:
            cached = self._cond(e, in_event)
            self._cond_cache[key] = cached
        return cached

    def _opaque(self, e: ast.Node) -> Formula:
        return Atom("?" + self.norm(e), BoolSet(frozenset((True,))), BoolSet.everything(False))

    def _count_atom(self, filter_node: ast.Node) -> Formula:
        info = self.filter_info(filter_node)  # type: ignore[arg-type]
        universe = NumSet.between(0, INF, integer=True)
        if info is not None and truth(self.filter_formula(info)) is False:
            universe = NumSet.between(0, 0, integer=True)
        return Atom("count:" + self.norm(filter_node), NumSet.between(1, INF, integer=True),
                    universe)

    def _cond(self, e: ast.Expr, in_event: bool) -> Formula:
        if isinstance(e, ast.Bool):
            return Const(e.value)
        if isinstance(e, ast.Not):
            return Not(self.cond(e.operand, in_event))
        if isinstance(e, ast.BoolOp):
            items = tuple(self.cond(i, in_event) for i in e.items)
            return And(items) if e.op == "and" else Or(items)
        if isinstance(e, ast.NameRef):
            name = e.name.text
            if in_event and name in self.event_fields:
                if self.event_fields[name] == "bool":
                    return Atom("event:" + name, BoolSet(frozenset((True,))), BoolSet.everything(True))
                return self._opaque(e)
            if name in self.lets and e.within is None and name not in self._let_stack:
                value = self.lets[name].value
                if self.filter_info(e) is not None:
                    return self._count_atom(e)
                self._let_stack.append(name)
                try:
                    return self._cond(value, in_event)
                finally:
                    self._let_stack.pop()
            if name in self.lets and e.within is not None:
                return self._count_atom(e)
            if not in_event and self.lead_fields.get(name) == "bool":
                return Atom("lead:" + name, BoolSet(frozenset((True,))), BoolSet.everything(True))
            return self._opaque(e)
        if isinstance(e, ast.EventFilter):
            return self._count_atom(e)
        if isinstance(e, ast.Aggregate) and e.kind == "exists" and e.filter is not None:
            return self._count_atom(e.filter)
        if isinstance(e, ast.Compare):
            return self._compare(e, in_event)
        if isinstance(e, ast.In):
            return self._in(e, in_event)
        if isinstance(e, ast.StrTest):
            var = self._text_var(e.left, in_event)
            if var is not None and isinstance(e.right, ast.String):
                needle = fold(e.right.value)
                if needle == "":
                    return Atom(var, TextSet.everything(False), TextSet.everything(True))
                test = {"starts_with": lambda v, n=needle: v.startswith(n),
                        "ends_with": lambda v, n=needle: v.endswith(n),
                        "contains": lambda v, n=needle: n in v}[e.op]
                return Atom(var, TextSet(None, preds=(Pred(f"{e.op}:{needle}", True, test),)),
                            TextSet.everything(True))
            return self._opaque(e)
        if isinstance(e, ast.Matches):
            var = self._text_var(e.value, in_event)
            try:
                rx = compile_portable(e.pattern.value)
            except RegexError:
                return self._opaque(e)
            if var is None:
                return self._opaque(e)
            pred = Pred("matches:" + rx.re2, True, rx.search)
            return Atom(var, TextSet(None, preds=(pred,)), TextSet.everything(True))
        if isinstance(e, ast.IsMissing):
            return self._is_missing(e, in_event)
        return self._opaque(e)

    def _is_missing(self, e: ast.IsMissing, in_event: bool) -> Formula:
        kind = self.kind_of(e.value, in_event)
        missing: NumSet | TextSet | BoolSet
        universe: NumSet | TextSet | BoolSet
        if kind == "num":
            t = self.term(e.value, in_event)
            if t.const is not None:
                return Const(not e.negated) if math.isnan(t.const) else Const(e.negated)
            var, missing, universe = t.key, NumSet((), True), t.universe
        elif kind in ("text", "bool"):
            var, universe = self._plain_var(kind, e.value, in_event)
            missing = TextSet(frozenset(), missing=True) if kind == "text" else BoolSet(frozenset(), True)
        else:
            return self._opaque(e)
        if var is None:
            return self._opaque(e)
        atom = Atom(var, missing, universe)
        return Not(atom) if e.negated else atom

    def _text_var(self, e: ast.Expr, in_event: bool) -> str | None:
        if isinstance(e, ast.NameRef) and e.within is None:
            name = e.name.text
            if in_event and (self.event_fields.get(name) == "text" or name == self.type_column):
                return "event:" + name
            if name in self.lets and name not in self._let_stack:
                self._let_stack.append(name)
                try:
                    return self._text_var(self.lets[name].value, in_event)
                finally:
                    self._let_stack.pop()
            if not in_event and self.lead_fields.get(name) == "text":
                return "lead:" + name
        return None

    def _plain_var(self, kind: str, e: ast.Expr, in_event: bool) -> tuple[str | None, TextSet | BoolSet]:
        """The variable a text or true/false value reads (None: not one the analysis knows),
        with every value it may take."""
        if kind == "text":
            return self._text_var(e, in_event), TextSet.everything(True)
        return self._bool_var(e, in_event), BoolSet.everything(True)

    def _bool_var(self, e: ast.Expr, in_event: bool) -> str | None:
        if isinstance(e, ast.NameRef):
            name = e.name.text
            if in_event and self.event_fields.get(name) == "bool":
                return "event:" + name
            if not in_event and self.lead_fields.get(name) == "bool":
                return "lead:" + name
        return None

    def kind_of(self, e: ast.Expr, in_event: bool = False, depth: int = 0) -> str:
        """num | text | bool | filter | unknown: enough typing for the analysis."""
        if isinstance(e, (ast.Number, ast.BinOp, ast.Neg)):
            return "num"
        if isinstance(e, ast.String):
            return "text"
        if isinstance(e, ast.Bool):
            return "bool"
        if isinstance(e, ast.Aggregate):
            return "bool" if e.kind == "exists" else "num"
        if isinstance(e, ast.EventFilter):
            return "filter"
        if isinstance(e, ast.NameRef):
            name = e.name.text
            if in_event and name == self.type_column:
                return "text"
            ftype = self.event_fields.get(name) if in_event else None
            if ftype is None and name in self.lets and depth < 20:
                return self.kind_of(self.lets[name].value, in_event, depth + 1)
            if ftype is None and not in_event:
                ftype = self.lead_fields.get(name)
            if ftype in NUMERIC:
                return "num"
            if ftype in ("text", "bool"):
                return ftype
            if name in self.scores or name == "total":
                return "num"
        return "unknown"

    def term(self, e: ast.Expr, in_event: bool = False, depth: int = 0) -> Term:
        anything = NumSet.everything(True)
        if depth > 50:
            return Term(None, None, anything)
        if isinstance(e, ast.Number):
            return Term(e.value, None, NumSet.between(e.value, e.value))
        if isinstance(e, ast.Neg):
            t = self.term(e.operand, in_event, depth + 1)
            if t.const is not None:
                return Term(-t.const, None, NumSet.between(-t.const, -t.const))
            lo, hi = t.universe.hull()
            return Term(None, "-(" + (t.key or "?") + ")",
                        NumSet.between(-hi, -lo, t.universe.missing, t.universe.integer))
        if isinstance(e, ast.BinOp):
            a = self.term(e.left, in_event, depth + 1)
            b = self.term(e.right, in_event, depth + 1)
            if a.const is not None and b.const is not None:
                if e.op == "/" and b.const == 0:
                    return Term(None, self.norm(e), NumSet((), True))
                v = {"+": a.const + b.const, "-": a.const - b.const, "*": a.const * b.const,
                     "/": a.const / b.const if b.const else 0.0}[e.op]
                return Term(v, None, NumSet.between(v, v))
            ia, ib = (Interval(*t.universe.hull()) for t in (a, b))
            iv = {"+": ia.__add__, "-": ia.__sub__, "*": ia.__mul__, "/": ia.__truediv__}[e.op](ib)
            missing = a.universe.missing or b.universe.missing or e.op == "/"
            integer = a.universe.integer and b.universe.integer and e.op != "/"
            return Term(None, self.norm(e), NumSet.between(iv.lo, iv.hi, missing, integer))
        if isinstance(e, ast.Aggregate):
            key = self.norm(e)
            if e.kind in ("count", "count_distinct"):
                if e.kind == "count" and e.filter is not None:
                    key = "count:" + self.norm(e.filter)
                return Term(None, key, NumSet.between(0, INF, integer=True))
            if e.kind == "sum":
                return Term(None, key, NumSet.everything(False))
            if e.kind == "days_since_last":
                return Term(None, key, NumSet.between(0, INF, True, True))
            if e.kind == "days_since_field":
                return Term(None, key, NumSet.everything(True, True))
            return Term(None, key, anything)
        if isinstance(e, ast.NameRef):
            name = e.name.text
            if in_event and self.event_fields.get(name) in NUMERIC:
                return Term(None, "event:" + name,
                            NumSet.everything(True, self.event_fields[name] == "int"))
            if name in self.lets and name not in self._let_stack:
                self._let_stack.append(name)
                try:
                    return self.term(self.lets[name].value, in_event, depth + 1)
                finally:
                    self._let_stack.pop()
            if not in_event and self.lead_fields.get(name) in NUMERIC:
                return Term(None, "lead:" + name,
                            NumSet.everything(True, self.lead_fields[name] == "int"))
            if name in self.scores:
                iv = self._bound_of(name)
                return Term(None, "score:" + name, NumSet.between(iv.lo, iv.hi))
            if name == "total":
                iv = Interval.anything() if self._computing_bounds else self.total_bounds
                return Term(None, "total", NumSet.between(iv.lo, iv.hi, self._total_divides()))
        return Term(None, self.norm(e), anything)

    def _bound_of(self, score: str) -> Interval:
        if self._computing_bounds:
            return Interval.anything()
        return self.score_bounds[score]

    def _total_divides(self) -> bool:
        return self.total is not None and any(
            isinstance(n, ast.BinOp) and n.op == "/" for n in walk(self.total.value))

    def _compare(self, e: ast.Compare, in_event: bool) -> Formula:
        kinds = {self.kind_of(e.left, in_event), self.kind_of(e.right, in_event)}
        op = e.op
        if kinds == {"num"}:
            a, b = self.term(e.left, in_event), self.term(e.right, in_event)
            if a.const is not None and b.const is not None:
                return Const(_cmp(op, a.const, b.const))
            if a.key is not None and a.key == b.key:
                if op in ("==", "<=", ">="):
                    return Atom(a.key, a.universe.present(), a.universe)
                return FALSE
            if b.const is None and a.const is not None:
                a, b, op = b, a, _FLIP[op]
            if b.const is not None and a.key is not None:
                return Atom(a.key, _num_set(op, b.const, a.universe.integer), a.universe)
            return self._cmp_ranges(e, op, a.universe, b.universe)
        if "text" in kinds and kinds <= {"text"}:
            lit, var = _split(e, lambda n: self._text_var(n, in_event))
            if isinstance(e.left, ast.String) and isinstance(e.right, ast.String):
                return Const((fold(e.left.value) == fold(e.right.value)) == (op == "=="))
            if lit is not None and var is not None:
                v = frozenset((fold(lit.value),))
                values = TextSet(v) if op == "==" else TextSet(None, v)
                return Atom(var, values, TextSet.everything(True))
        if "bool" in kinds and kinds <= {"bool"}:
            if isinstance(e.left, ast.Bool) and isinstance(e.right, ast.Bool):
                return Const((e.left.value == e.right.value) == (op == "=="))
            lit, var = _split(e, lambda n: self._bool_var(n, in_event), ast.Bool)
            if lit is not None and var is not None:
                wanted = lit.value if op == "==" else not lit.value
                return Atom(var, BoolSet(frozenset((wanted,))), BoolSet.everything(True))
        return self._opaque(e)

    def _cmp_ranges(self, e: ast.Compare, op: str, a: NumSet, b: NumSet) -> Formula:
        """Two variables: decided when their ranges cannot overlap the way `op` needs."""
        (alo, ahi), (blo, bhi) = a.hull(), b.hull()
        never = {"<": alo >= bhi, "<=": alo > bhi, ">": ahi <= blo, ">=": ahi < blo,
                 "==": ahi < blo or bhi < alo, "!=": alo == ahi == blo == bhi}[op]
        if never:
            return FALSE
        always = {"<": ahi < blo, "<=": ahi <= blo, ">": alo > bhi, ">=": alo >= bhi,
                  "==": alo == ahi == blo == bhi, "!=": ahi < blo or bhi < alo}[op]
        if always and not a.missing and not b.missing:
            return TRUE
        return self._opaque(e)

    def _in(self, e: ast.In, in_event: bool) -> Formula:
        kind = self.kind_of(e.value, in_event)
        values: NumSet | TextSet | BoolSet
        if kind == "num":
            t = self.term(e.value, in_event)
            nums = [i.value for i in e.items if isinstance(i, ast.Number)]
            values = NumSet.make([(n, True, n, True) for n in nums], False, t.universe.integer)
            if t.const is not None:
                return Const((t.const in nums) != e.negated)
            if t.key is None:
                return self._opaque(e)
            if e.negated:
                values = values.complement().present()
            return Atom(t.key, values, t.universe)
        if kind not in ("text", "bool"):
            return self._opaque(e)
        var, universe = self._plain_var(kind, e.value, in_event)
        if var is None:
            return self._opaque(e)
        if kind == "text":
            texts = frozenset(fold(i.value) for i in e.items if isinstance(i, ast.String))
            values = TextSet(None, texts) if e.negated else TextSet(texts)
        else:
            bools = frozenset(i.value for i in e.items if isinstance(i, ast.Bool))
            values = BoolSet(frozenset((True, False)) - bools if e.negated else bools)
        return Atom(var, values, universe)


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _cmp(op: str, a: float, b: float) -> bool:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


def _num_set(op: str, c: float, integer: bool) -> NumSet:
    ivs = {"<": [(-INF, False, c, False)], "<=": [(-INF, False, c, True)],
           ">": [(c, False, INF, False)], ">=": [(c, True, INF, False)],
           "==": [(c, True, c, True)],
           "!=": [(-INF, False, c, False), (c, False, INF, False)]}[op]
    return NumSet.make(ivs, False, integer)


def _split(e: ast.Compare, var_of, literal=ast.String):
    """(literal, variable) of a comparison between one literal and one variable, either order."""
    for lit, other in ((e.right, e.left), (e.left, e.right)):
        if isinstance(lit, literal):
            var = var_of(other)
            if var is not None:
                return lit, var
    return None, None
