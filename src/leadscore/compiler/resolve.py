"""Resolution: the names a model declares (lets, scores), let cycles, and the limits on
expressions with their lets written out, measured before anything walks them recursively.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from . import ast
from .checked import MAX_SIZE, Ctx
from .diagnostics import Span, did_you_mean
from .parse import MAX_NESTING

# "Did you mean" compares a misspelled name with each candidate (difflib: 3 to 20 us a pair).
# Past this many comparisons in one model only a different-case match is offered, so a model
# of thousands of names and thousands of typos is not checked in quadratic time; the first
# hundred errors, those shown, keep their hints.
MAX_HINT_WORK = 100_000
# Rules (of scores and of the account) and declarations in a model, imports included.
MAX_RULES = 20_000
MAX_DECLARATIONS = 20_000


@dataclass
class Let:
    decl: ast.LetDecl
    broken: bool = False
    checked: bool = False
    type: str | None = None  # as typed where it is declared (Ctx "any"); None when broken


class Resolution:
    """Checker stage 1 (a mixin of compiler/check.py `Checker`)."""

    def _collect_names(self, items) -> None:
        taken: dict[str, str] = {name: "a lead field" for name in self.lead_fields}
        taken[self.schema.lead_key] = "the lead key"
        columns = ["total", "segment", "tier", "held_from", "disqualified_by", "grade"]
        if (any(isinstance(i, ast.GradeDecl) for i in items)
                and any(isinstance(i, ast.TiersDecl) for i in items)):
            columns.append("matrix")  # the grade x tier label (compiler/lower/model.py)
        for column in columns:
            taken[column] = f"the output column `{column}`"
        declared_at: dict[str, Span] = {name: decl.name.span for name, (_, decl) in self.lead_fields.items()
                                        if decl is not None}
        for item in items:
            if isinstance(item, (ast.LetDecl, ast.ScoreDecl)):
                name = item.name.text
                if name in taken:
                    first = declared_at.get(name)
                    message = (f"`{name}` is already {taken[name]}" if isinstance(item, ast.LetDecl)
                               else f"score `{name}` clashes with {taken[name]} of that name")
                    self.error(message, item.name.span,
                               related=[(first, f"`{name}` is {taken[name]} here")] if first else [])
                    continue
                declared_at[name] = item.name.span
                if isinstance(item, ast.LetDecl):
                    taken[name] = "a let"
                    self.lets[name] = Let(item)
                else:
                    taken[name] = "a score"
                    self.scores[name] = item

    def suggest(self, name: str, candidates: list[str]) -> str | None:
        """`did_you_mean`, within the model's MAX_HINT_WORK."""
        spent = getattr(self, "_hint_work", 0) + len(candidates)
        self._hint_work = spent
        return did_you_mean(name, candidates, fuzzy=spent <= MAX_HINT_WORK)

    # ---------------------------------------------------------------- limits

    def _within_limits(self, items) -> bool:
        """Report let cycles, and expressions too deep or too large once their lets are
        written out; False when a limit is passed (checking would recurse past it).

        Measured without recursion, before anything walks the expressions recursively: a
        chain of lets nests as deep as the expression it stands for, and a let used twice in
        each of a chain of lets doubles the expression at every step.
        """
        if not self._counted(items):
            return False
        order, cycles = _let_order(self.lets, self.event_fields)
        heads: dict[str, list[str]] = {}
        for cycle in cycles:  # one report per let, the first cycle found through it
            heads.setdefault(cycle[0], cycle)
        for cycle in heads.values():
            shown = cycle if len(cycle) <= 8 else cycle[:4] + ["…"] + cycle[-3:]
            self.error(f"`{cycle[0]}` is defined in terms of itself: " + " -> ".join(shown),
                       self.lets[cycle[0]].decl.name.span)
            for name in cycle:
                self.lets[name].broken = self.lets[name].checked = True
        before = len(self.diagnostics)
        measured: dict[str, tuple[int, int]] = {}  # let -> (depth, size) written out
        quiet = {name for c in cycles for name in c}  # lets reported: not measured, leaves
        for name in order:
            if name not in quiet and self._measure(self.lets[name].decl.value, measured, quiet,
                                                   f"`{name}` is", let=name) is None:
                quiet.add(name)
                self.lets[name].broken = self.lets[name].checked = True
        total = 0
        for root, account in _expression_roots(items):
            size = self._measure(root, measured, quiet, "expression", account=account,
                                 budget=MAX_SIZE - total)
            if size is None:
                break
            total += size
        return len(self.diagnostics) == before

    def _counted(self, items) -> bool:
        """Report a model past MAX_DECLARATIONS or MAX_RULES, at the first one past it."""
        if len(items) > MAX_DECLARATIONS:
            self.error(f"too many declarations (a model may have {MAX_DECLARATIONS:,})",
                       items[MAX_DECLARATIONS].span, hint="split the model")
            return False
        seen = 0
        for item in items:
            rules = item.rules if isinstance(item, ast.ScoreDecl | ast.AccountDecl) else []
            if seen + len(rules) > MAX_RULES:
                self.error(f"too many rules (a model may have {MAX_RULES:,})",
                           rules[MAX_RULES - seen].span, hint="split the model")
                return False
            seen += len(rules)
        return True

    def _measure(self, root: ast.Expr, measured: dict[str, tuple[int, int]], quiet: set[str],
                 what: str, let: str | None = None, account: bool = False,
                 budget: int = MAX_SIZE) -> int | None:
        """`root`'s size with its lets written out, or None past a limit (reported here; a let
        built on one already reported is quiet); a let's extent goes to `measured`. In an
        expression, a reported let counts as one part.

        A use of a let is a level of its own (checking it recurses once more), a `within`
        on it another. Inside an event filter an event field hides a let of the same name; in
        an account rule or tier gate (`account`), `score` outside a roll-up is the account's.
        """
        stack = [(root, 1, False, account)]
        deepest = size = 0
        while stack:
            node, depth, in_event, in_rule = stack.pop()
            name = _let_use(node, self.lets, self.event_fields, in_event, in_rule)
            if let is not None and name in quiet:
                return None  # a let built on a reported one is quiet too: no cascade
            if name is not None and name in measured:
                inner, parts = measured[name]
                depth, size = depth + inner + _use_levels(node), size + parts
            else:  # a let already reported (a cycle, too deep) counts as a leaf
                size += 1
                inside = in_event or isinstance(node, ast.EventFilter)
                rule = in_rule and not isinstance(node, ast.Aggregate)  # roll-ups see leads
                stack.extend((child, depth + 1, inside, rule) for child in _sub_expressions(node))
            deepest = max(deepest, depth)
            if depth > MAX_NESTING:
                how = f" with `{name}` written out" if name in measured else ""
                self.error(f"{what} nested too deeply{how} (more than {MAX_NESTING} levels)",
                           node.span, hint=_DEPTH_HINT if how else
                           "split the expression into rules or simpler conditions")
                return None
            if size > budget:
                self.error(f"{what} too large with its lets written out (a model may have "
                           f"{MAX_SIZE:,} parts)", node.span, hint=_DEPTH_HINT)
                return None
        if let is not None:
            measured[let] = (deepest, size)
        return size

    def _check_let(self, let: Let) -> None:
        if let.checked:
            return
        let.checked = True
        before = len(self.diagnostics)
        _, t = self.resolve(let.decl.value, Ctx("any", "a let"))
        if len(self.diagnostics) > before:
            let.broken = True
        else:
            let.type = t

    # ---------------------------------------------------------------- scores and rules


_DEPTH_HINT = "a let is written out where it is used: use fewer lets inside one another"
_EXPR_FIELDS: dict[type, tuple[str, ...]] = {}
_EXPR_FIELDS: dict[type, tuple[str, ...]] = {}


def _sub_expressions(node: ast.Node) -> list[ast.Expr]:
    cls = type(node)
    names = _EXPR_FIELDS.get(cls)
    if names is None:
        # the fields typed to hold expressions (annotations are strings: `Expr | None`, ...)
        names = _EXPR_FIELDS[cls] = tuple(f.name for f in fields(cls) if "Expr" in str(f.type))
    out: list[ast.Expr] = []
    for name in names:
        v = getattr(node, name)
        if isinstance(v, ast.Expr):
            out.append(v)
        elif isinstance(v, list):
            out.extend(x for x in v if isinstance(x, ast.Expr))
    return out


def _let_use(node: ast.Expr, lets: dict, event_fields: dict, in_event: bool,
             in_account_rule: bool) -> str | None:
    """The let `node` uses, if it names one the checker will resolve to that let."""
    if isinstance(node, ast.NameRef):
        name = node.name.text
    elif isinstance(node, ast.Aggregate) and node.kind == "days_since_field" and node.field:
        name = node.field.text  # `days_since(NAME)` may name a let holding a timestamp
    else:
        return None
    if name not in lets or (in_event and name in event_fields) or (
            in_account_rule and name == "score"):
        return None
    return name


def _use_levels(node: ast.Expr) -> int:
    """Levels a use of a let adds above the let's own: a `within`, a `days_since`."""
    return 1 if isinstance(node, ast.Aggregate) or getattr(node, "within", None) else 0


def _expression_roots(items: list[ast.Node]) -> list[tuple[ast.Expr, bool]]:
    """The outermost expressions of every declaration but the lets, each with whether it is
    an account rule or tier gate (where `score` is the account's score)."""
    roots: list[tuple[ast.Expr, bool]] = []
    stack: list = [(i, False) for i in items if not isinstance(i, ast.LetDecl)]
    while stack:
        node, account = stack.pop()
        if isinstance(node, ast.Expr):
            roots.append((node, account))
        elif isinstance(node, list):
            stack.extend((x, account) for x in node)
        elif isinstance(node, ast.AccountDecl):
            stack += [(node.score, False), (node.extra_scores, False), (node.rules, True),
                      (node.tiers, True), (node.extra_tiers, True)]
        elif isinstance(node, ast.Node):
            stack.extend((getattr(node, f.name), account) for f in fields(node) if f.name != "span")
    return roots


def _let_names(value: ast.Expr, lets: dict, event_fields: dict) -> set[str]:
    """The lets `value` uses (inside an event filter, an event field hides a let)."""
    names: set[str] = set()
    stack = [(value, False)]
    while stack:
        node, in_event = stack.pop()
        name = _let_use(node, lets, event_fields, in_event, False)
        if name is not None:
            names.add(name)
        inside = in_event or isinstance(node, ast.EventFilter)
        stack.extend((child, inside) for child in _sub_expressions(node))
    return names


def _let_order(lets: dict, event_fields: dict) -> tuple[list[str], list[list[str]]]:
    """(the lets after the lets they use, the cycles among them: each a path back to its
    first let). Found without recursion, so a cycle of hundreds of lets is reported too."""
    order: list[str] = []
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []
    for root in lets:
        stack = [(root, False)]
        while stack:
            name, leaving = stack.pop()
            if leaving:
                state[name] = 2
                order.append(name)
                path.pop()
            elif name not in state:
                state[name] = 1
                path.append(name)
                stack.append((name, True))
                for dep in sorted(_let_names(lets[name].decl.value, lets, event_fields),
                                  reverse=True):
                    if state.get(dep) == 1:
                        cycles.append(path[path.index(dep):] + [dep])
                    elif dep not in state:
                        stack.append((dep, False))
    return order, cycles
