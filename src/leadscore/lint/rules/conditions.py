"""LS2xx: conditions, segments, gates and literals."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TypeVar

from ...compiler import ast
from ...compiler.diagnostics import Span
from ...compiler.text import fold
from ...fmt.literals import quote_string
from ..edits import Fix
from ..facts import Facts
from ..formula import And, Atom, Formula, Not, Or, implies, truth
from ..registry import Hit, rule
from ..sets import NumSet
from ..sites import Site, children, condition_sites, walk

_NEVER = {
    "rule": "the rule never gives points",
    "where": "the filter never matches an event",
    "segment": "no lead is ever in this segment",
    "disqualify": "this reason never disqualifies anyone",
    "let": "everything that uses this let sees `false`",
}
_ALWAYS = {
    "rule": "the rule gives its points to every lead",
    "where": "the `where` filters nothing out",
    "segment": "every lead is in this segment, so later segments are never assigned",
    "disqualify": "every lead is disqualified",
    "let": "everything that uses this let sees `true`",
    "gate": "the tier is gated by nothing",
}


def _constant_parts(facts: Facts, site: Site, e: ast.Expr, top: bool) -> Iterator[tuple]:
    """The outermost parts of a condition that are constant, with their value."""
    if isinstance(e, ast.NameRef) and e.name.text in facts.lets:
        return  # a constant let is reported where it is defined
    t = truth(facts.cond(e, site.in_event))
    if t is not None and not (top and site.what == "gate" and t is False):  # LS203's case
        yield e, t, top
        return
    if isinstance(e, ast.BoolOp):
        for i in e.items:
            yield from _constant_parts(facts, site, i, False)
    elif isinstance(e, ast.Not):
        yield from _constant_parts(facts, site, e.operand, False)


@rule("LS201", "constant-condition", "warning",
      "a condition (or part of one) that is always true or always false")
def constant_condition(facts: Facts) -> Iterator[Hit]:
    for site in condition_sites(facts):
        if isinstance(site.expr, ast.Bool):
            continue  # `when true` is written on purpose (base points), not a mistake
        for e, value, top in _constant_parts(facts, site, site.expr, True):
            word = "true" if value else "false"
            hint = (_ALWAYS if value else _NEVER).get(site.what) if top else None
            if not top:
                hint = ("so the `and` around it is decided by the rest" if value else
                        "drop it, or fix the comparison")
            yield Hit(e.span, f"this {'condition' if top else 'part of the condition'} is "
                      f"always {word}", hint)


_Ordered = TypeVar("_Ordered", ast.SegmentDecl, ast.DisqualifyDecl)


def _first_match_wins(facts: Facts, decls: list[_Ordered]
                      ) -> Iterator[tuple[_Ordered, Formula, list[tuple[_Ordered, Formula]]]]:
    """Each of `decls` whose condition can hold, with its formula and the earlier ones with
    theirs: of segments and disqualify reasons, the first that matches a lead wins."""
    earlier: list[tuple[_Ordered, Formula]] = []
    for d in decls:
        f = facts.cond(d.condition)
        if truth(f) is not False:
            yield d, f, earlier
        earlier.append((d, f))


@rule("LS202", "shadowed-segment", "warning",
      "a segment whose leads all match an earlier segment, so it is never assigned")
def shadowed_segment(facts: Facts) -> Iterator[Hit]:
    for seg, f, earlier in _first_match_wins(facts, facts.segments):
        covering = [s for s, g in earlier if implies(f, g)]
        if covering:
            yield Hit(seg.name.span, f"segment `{seg.name.text}` is never assigned: every "
                      f"lead it matches is already in segment `{covering[0].name.text}` "
                      "(the first matching segment wins)",
                      f"move `{seg.name.text}` above `{covering[0].name.text}`, or narrow "
                      f"`{covering[0].name.text}`")
        elif len(earlier) > 1 and implies(f, Or(tuple(g for _, g in earlier))):
            names = ", ".join(f"`{s.name.text}`" for s, _ in earlier)
            yield Hit(seg.name.span, f"segment `{seg.name.text}` is never assigned: the "
                      f"earlier segments {names} together cover every lead it matches",
                      "move it higher, or narrow the earlier segments")


def _segment_context(facts: Facts, td: ast.TiersDecl) -> list[Formula]:
    """What holds for every lead that uses this tier set."""
    if td.segment is None:
        return []
    out: list[Formula] = []
    for seg in facts.segments:
        if seg.name.text == td.segment.text:
            out.append(facts.cond(seg.condition))
            break
        out.append(Not(facts.cond(seg.condition)))
    return out


@rule("LS203", "gate-never-holds", "error",
      "a tier gate that can never hold, so the tier is never assigned")
def gate_never_holds(facts: Facts) -> Iterator[Hit]:
    tb = facts.total_bounds
    total_universe = NumSet.between(tb.lo, tb.hi)
    disq = [(d, facts.cond(d.condition)) for d in facts.disqualify]
    for td in facts.tier_sets:
        seg = _segment_context(facts, td)
        for e in td.entries[1:]:
            if not e.requires:
                continue
            gates = [facts.cond(g) for g in e.requires]
            reported = False
            for g, f in zip(e.requires, gates):
                if truth(f) is False:
                    yield Hit(g.span, f"the gate of tier `{e.name.text}` can never hold, so the "
                              "tier is never assigned", _bounds_hint(facts, g))
                    reported = True
            if reported:
                continue
            context: list[Formula] = list(seg)
            if e.threshold is not None:
                context.append(Atom("total", NumSet.between(e.threshold.value, math.inf),
                                    total_universe))
            if truth(And(tuple(context))) is not False:
                for g, f in zip(e.requires, gates):
                    if truth(And((*context, f))) is False:
                        why = f"a total of at least {e.threshold.text}" if e.threshold else ""
                        if td.segment is not None:
                            why += (" and " if why else "") + f"segment `{td.segment.text}`"
                        yield Hit(g.span, f"the gate of tier `{e.name.text}` contradicts {why}: "
                                  "no lead can meet both", None)
                        reported = True
                        break
            if reported:
                continue
            for d, f in disq:
                if implies(And((*context, *gates)), f):
                    yield Hit(e.requires[0].span, f"every lead that passes the gate of tier "
                              f"`{e.name.text}` is disqualified (\"{d.reason}\"), so the tier is "
                              "never assigned", None)
                    break


def _bounds_hint(facts: Facts, g: ast.Expr) -> str | None:
    names = sorted({n.name.text for n in walk(g) if isinstance(n, ast.NameRef)
                    and (n.name.text in facts.scores or n.name.text == "total")})
    if not names:
        return None
    parts = [f"{n} {facts.score_bounds[n] if n in facts.scores else facts.total_bounds}"
             for n in names]
    return "reachable ranges: " + "; ".join(parts)


def _cond_nodes(e: ast.Node) -> Iterator[ast.Node]:
    """Nodes of one condition, not entering event filters (their `where` is its own site)."""
    stack = [e]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, ast.EventFilter):
            continue
        stack.extend(reversed(children(n)))


def _whole_meaning(what: str, op: str, c: float) -> str:
    if op == "==":
        return "is never true"
    if op == "!=":
        return "is true for every present value"
    bound = math.ceil(c) if op in (">", ">=") else math.floor(c)
    return f"means `{what} {'>=' if op in ('>', '>=') else '<='} {bound}`"


_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _whole_fix(facts: Facts, lit: ast.Number, op: str) -> Fix | None:
    """The whole number that compares the same: `> 10.5` is `> 10`, `>= 10.5` is `>= 11`."""
    if op not in ("<", "<=", ">", ">="):
        return None  # `== 10.5` never holds: which number was meant is not ours to guess
    whole = math.floor(lit.value) if op in (">", "<=") else math.ceil(lit.value)
    return facts.fix(f"Compare with {whole}", lit.span,
                     lambda doc: [doc.replace(lit.span, str(whole))])


def _list_items(n: ast.In) -> list[Span]:
    return [i.span for i in n.items]


@rule("LS204", "fractional-int-literal", "warning",
      "a whole-number value (int field, count, days) compared with a fractional number",
      fixable=True)
def fractional_int_literal(facts: Facts) -> Iterator[Hit]:
    for site in condition_sites(facts):
        for n in _cond_nodes(site.expr):
            if isinstance(n, ast.Compare):
                for var, lit, op in ((n.left, n.right, n.op), (n.right, n.left, _MIRROR[n.op])):
                    if not isinstance(lit, ast.Number) or lit.value == math.floor(lit.value):
                        continue
                    t = facts.term(var, site.in_event)
                    if t.key is not None and t.universe.integer:
                        what = facts.norm(var)
                        yield Hit(lit.span, f"`{what}` is a whole number, so `{what} {op} "
                                  f"{facts.text(lit.span)}` {_whole_meaning(what, op, lit.value)}",
                                  "compare with a whole number", _whole_fix(facts, lit, op))
            elif isinstance(n, ast.In) and facts.kind_of(n.value, site.in_event) == "num":
                t = facts.term(n.value, site.in_event)
                if t.key is None or not t.universe.integer:
                    continue
                for k, item in enumerate(n.items):
                    if isinstance(item, ast.Number) and item.value != math.floor(item.value):
                        fix = facts.fix(f"Remove {facts.text(item.span)}", item.span,
                                        lambda doc, n=n, k=k: [doc.remove_item(_list_items(n), k)])
                        yield Hit(item.span, f"{facts.text(item.span)} is never matched: "
                                  f"`{facts.norm(n.value)}` is a whole number",
                                  "remove the item, or write a whole number", fix)


def _signal(facts: Facts, r: ast.RuleDecl) -> str:
    return facts.norm(r.condition if r.condition is not None else r.filter)  # type: ignore[arg-type]


@rule("LS205", "duplicate-rule-condition", "warning",
      "two rules of one score that score the same condition the same way")
def duplicate_rule_condition(facts: Facts) -> Iterator[Hit]:
    for s in facts.scores.values():
        seen: list[ast.RuleDecl] = []
        for r in s.rules:
            for prev in seen:
                if prev.kind != r.kind:
                    continue  # `+20 once X` beside `+5 per X` is a first-time bonus, not a copy
                same = _signal(facts, prev) == _signal(facts, r)
                if not same and r.kind == "when":
                    a, b = facts.cond(prev.condition), facts.cond(r.condition)  # type: ignore[arg-type]
                    same = truth(a) is None and implies(a, b) and implies(b, a)
                if not same and r.kind != "when":
                    fa, fb = facts.filter_info(prev.filter), facts.filter_info(r.filter)
                    same = fa is not None and fa == fb
                if same:
                    yield Hit(r.span, f"rule \"{r.label}\" scores the same signal as rule "
                              f"\"{prev.label}\" (line {prev.span.line}): a lead gets both",
                              "merge them into one rule with the summed points")
                    break
            seen.append(r)


def _gate_filters(facts: Facts, g: ast.Expr) -> list:
    """The event filters a gate requires (itself, or items of a top-level `and`)."""
    items = g.items if isinstance(g, ast.BoolOp) and g.op == "and" else [g]
    out = []
    for i in items:
        node = i.filter if isinstance(i, ast.Aggregate) and i.kind == "exists" else i
        info = facts.filter_info(node)  # type: ignore[arg-type]
        if info is not None:
            out.append(info)
    return out


@rule("LS206", "gate-double-counts", "info",
      "a rule scores the very event a tier gate requires, so every gated lead has those points")
def gate_double_counts(facts: Facts) -> Iterator[Hit]:
    required: list[tuple] = []
    for td in facts.tier_sets:
        for e in td.entries:
            for g in e.requires:
                for info in _gate_filters(facts, g):
                    required.append((info, e, td))
    for _, r in facts.rules():
        if r.kind == "when" or r.points.value <= 0:
            continue
        info = facts.filter_info(r.filter)
        if info is None:
            continue
        tiers: list[str] = []
        sets = 0
        for ginfo, e, _td in required:
            # a gate narrower in time than the rule's window implies the rule's filter
            within = info.window is None or (ginfo.window is not None
                                             and ginfo.window <= info.window)
            if ginfo.base == info.base and within:
                sets += 1
                if e.name.text not in tiers:
                    tiers.append(e.name.text)
        if tiers:
            names = " and ".join(f"`{t}`" for t in tiers)
            where = f" (in {sets} tier sets)" if sets > len(tiers) else ""
            yield Hit(r.span, f"rule \"{r.label}\" gives {r.points.text} for the signal that "
                      f"the gate of {names}{where} requires: every lead past the gate already "
                      "has these points",
                      "the points and the gate count one signal twice, so other signals need "
                      f"{r.points.text.lstrip('+')} fewer points to pass the threshold")


def _all_strings(facts: Facts) -> Iterator[tuple[ast.Node, ast.String, str]]:
    """(parent, string literal, role) for text literals in comparisons, `in` lists and tests."""
    for item in facts.items:
        if isinstance(item, ast.TestDecl):
            continue
        for n in walk(item):
            if isinstance(n, ast.Compare):
                for side in (n.left, n.right):
                    if isinstance(side, ast.String):
                        yield n, side, n.op
            elif isinstance(n, ast.In):
                for i in n.items:
                    if isinstance(i, ast.String):
                        yield n, i, "in"
            elif isinstance(n, ast.StrTest) and isinstance(n.right, ast.String):
                yield n, n.right, n.op


@rule("LS207", "duplicate-list-item", "warning",
      "an `in` list that repeats a value (text compares ignoring case)", fixable=True)
def duplicate_list_item(facts: Facts) -> Iterator[Hit]:
    for item in facts.items:
        if isinstance(item, ast.TestDecl):
            continue
        for n in walk(item):
            if not isinstance(n, ast.In):
                continue
            seen: dict[object, ast.Expr] = {}
            for k, i in enumerate(n.items):
                key = fold(i.value) if isinstance(i, ast.String) else getattr(i, "value", None)
                if key in seen:
                    first = facts.text(seen[key].span)
                    same = " (text compares ignoring case)" if first != facts.text(i.span) else ""
                    fix = facts.fix(f"Remove the repeated {facts.text(i.span)}", i.span,
                                    lambda doc, n=n, k=k: [doc.remove_item(_list_items(n), k)])
                    yield Hit(i.span, f"{facts.text(i.span)} repeats {first} in this list{same}",
                              "remove the repeat", fix)
                else:
                    seen[key] = i


@rule("LS208", "padded-text-literal", "warning",
      "a text literal with leading or trailing spaces in an equality or prefix/suffix test",
      fixable=True)
def padded_text_literal(facts: Facts) -> Iterator[Hit]:
    for _, s, role in _all_strings(facts):
        v = s.value
        if not v.strip():
            continue
        lead = v != v.lstrip() and role in ("==", "!=", "in", "starts_with")
        trail = v != v.rstrip() and role in ("==", "!=", "in", "ends_with")
        if lead or trail:
            bare = v.lstrip() if lead else v
            bare = bare.rstrip() if trail else bare
            fix = facts.fix("Remove the spaces", s.span,
                            lambda doc, s=s, bare=bare: [doc.replace(s.span, quote_string(bare))])
            yield Hit(s.span, f"\"{v}\" has {'leading' if lead else 'trailing'} spaces: spaces are "
                      f"significant, so \"{v.strip()}\" does not match it",
                      "remove the spaces, or use `contains` if they are meant", fix)


@rule("LS209", "empty-text-literal", "warning",
      "a comparison with \"\": an empty field is read as missing", fixable=True)
def empty_text_literal(facts: Facts) -> Iterator[Hit]:
    for n, s, role in _all_strings(facts):
        if s.value != "" or role not in ("==", "!=", "in"):
            continue
        instead = "is present" if role == "!=" else "is missing"
        fix = None
        if isinstance(n, ast.Compare):  # in a list, "" sits beside values: no one rewrite
            other = n.right if n.left is s else n.left
            fix = facts.fix(f"Write `{instead}`", n.span, lambda doc, n=n, other=other, w=instead: [
                doc.replace(n.span, f"{doc.of(other.span)} {w}")])
        yield Hit(s.span, "an empty field is read as missing, so it never equals \"\"",
                  f"write `{instead}`", fix)


@rule("LS210", "shadowed-disqualify", "warning",
      "a disqualify reason that is never reported: an earlier reason matches all its leads")
def shadowed_disqualify(facts: Facts) -> Iterator[Hit]:
    for d, f, earlier in _first_match_wins(facts, facts.disqualify):
        prev = next((p for p, g in earlier if implies(f, g)), None)
        if prev is not None:
            yield Hit(d.span, f"disqualify reason \"{d.reason}\" is never reported: every lead "
                      f"it matches is already disqualified by \"{prev.reason}\" (line "
                      f"{prev.span.line})", "move it up, or remove it")
