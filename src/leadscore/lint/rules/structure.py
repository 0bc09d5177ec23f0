"""LS4xx: the model's declarations: unused names, labels, segments, tiers, imports."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...compiler import ast
from ...compiler.text import fold
from ..facts import Facts
from ..registry import Hit, rule
from ..sites import walk


def _scoring_items(facts: Facts) -> list[ast.Node]:
    # test blocks name fields and types too, but a test is not a use
    return [i for i in facts.items if not isinstance(i, ast.TestDecl)]


def _names_in(item: ast.Node) -> set[str]:
    used: set[str] = set()
    for n in walk(item):
        if isinstance(n, ast.NameRef):
            used.add(n.name.text)
        elif isinstance(n, ast.Aggregate) and n.field is not None:
            used.add(n.field.text)
    return used


def _names_used(facts: Facts) -> set[str]:
    return set().union(*(_names_in(i) for i in _scoring_items(facts)))


@rule("LS401", "unused-let", "warning", "a `let` that nothing uses", fixable=True)
def unused_let(facts: Facts) -> Iterator[Hit]:
    per_item = [(item, _names_in(item)) for item in _scoring_items(facts)]
    for name, let in facts.lets.items():
        if not any(name in names for item, names in per_item if item is not let):
            fix = facts.fix(f"Remove the unused let `{name}`", let.span,
                            lambda doc, let=let: [doc.remove_statement(let.span)])
            yield Hit(let.name.span, f"let `{name}` is never used", "use it, or delete it", fix)


def _expanded_names(facts: Facts, e: ast.Node, seen: set[str]) -> set[str]:
    out: set[str] = set()
    for n in walk(e):
        if isinstance(n, ast.NameRef):
            out.add(n.name.text)
            if n.name.text in facts.lets and n.name.text not in seen:
                seen.add(n.name.text)
                out |= _expanded_names(facts, facts.lets[n.name.text].value, seen)
    return out


@rule("LS402", "unused-score", "warning",
      "a score left out of an explicit `total` that nothing else (grade, gate, segment) uses")
def unused_score(facts: Facts) -> Iterator[Hit]:
    if facts.total is None:
        return  # the default total adds up every score
    in_total = _expanded_names(facts, facts.total.value, set())
    elsewhere = set()
    for item in _scoring_items(facts):
        if isinstance(item, (ast.TotalDecl, ast.ScoreDecl)):
            continue
        if isinstance(item, ast.GradeDecl):
            elsewhere.add(item.score.text)
        elsewhere |= _expanded_names(facts, item, set())
    for name, s in facts.scores.items():
        if name not in in_total and name not in elsewhere:
            yield Hit(s.name.span, f"score `{name}` is not part of `total` and nothing else "
                      "uses it: it changes no tier", f"add it to `total`, or grade it "
                      f"(`grade {name} {{ ... }}`)")


@rule("LS403", "unused-event-type", "info", "an event type in the schema that nothing uses")
def unused_event_type(facts: Facts) -> Iterator[Hit]:
    used: set[str] = set()
    every = False
    for item in _scoring_items(facts):
        for n in walk(item):
            if isinstance(n, ast.EventFilter) and n.types:
                used |= {fold(t.text) for t in n.types}
        if isinstance(item, ast.ScoreDecl):
            # a bare `event` in a rule counts every type; in a decay it only means activity
            for r in item.rules:
                for n in walk(r):
                    if isinstance(n, ast.EventFilter) and not n.types:
                        every = True
    if every:
        return
    for t in facts.event_types:
        if fold(t.text) not in used:
            yield Hit(t.span, f"event type `{t.text}` is declared but no rule, filter or gate "
                      "uses it", "score it, or remove it from `types`")


@rule("LS404", "unused-field", "info", "a lead or event field that nothing uses")
def unused_field(facts: Facts) -> Iterator[Hit]:
    used = _names_used(facts)
    if facts.account is not None:
        used.add(facts.account.field.text)
    if facts.created and any(s.decays for s in facts.scores.values()):
        used.add(facts.created)  # decay counts from `created` when a lead has no events
    for declared, kind in ((facts.scope.lead_fields, "lead"), (facts.scope.event_fields, "event")):
        for f in declared.values():
            if f.name.text not in used:
                yield Hit(f.name.span, f"{kind} field `{f.name.text}` is never used",
                          "score it, or drop it from the schema")


@rule("LS405", "duplicate-rule-label", "warning",
      "two rules of one score (or of the account block) with the same label")
def duplicate_rule_label(facts: Facts) -> Iterator[Hit]:
    groups: list[list] = [s.rules for s in facts.scores.values()]
    if facts.account is not None:
        groups.append(facts.account.rules)
    for rules in groups:
        seen: dict[str, ast.Node] = {}
        for r in rules:
            key = fold(r.label.strip())
            if key in seen:
                yield Hit(r.label_span, f"rule label \"{r.label}\" is already used on line "
                          f"{seen[key].span.line}: explain output and test coverage name rules "
                          "by label", "give each rule its own label")
            else:
                seen[key] = r


@rule("LS406", "segment-without-tiers", "info",
      "a segment with no `tiers for` block while others have one: it uses the default tiers")
def segment_without_tiers(facts: Facts) -> Iterator[Hit]:
    specific = {td.segment.text for td in facts.tier_sets if td.segment is not None}
    if not specific:
        return  # no segment has its own tiers: segments are labels only
    for seg in facts.segments:
        if seg.name.text not in specific:
            yield Hit(seg.name.span, f"segment `{seg.name.text}` has no `tiers for "
                      f"{seg.name.text}` block: its leads use the default tiers",
                      f"add `tiers for {seg.name.text} {{ ... }}` if its thresholds differ")


# Whole words in a field's name that say it is filled in after the outcome (CRM stage fields,
# call durations, deal amounts): scoring on them predicts the past.
OUTCOME_WORDS = frozenset("""
converted conversion customer customers won lost closed closing outcome outcomes result results
status stage stages disposition duration revenue deal deals opportunity opportunities churn
churned paid payment purchase purchased purchases signed invoice invoiced refund refunded
cancelled canceled subscribed subscriber renewal renewed tags quality
""".split())


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[\W_]+", spaced.lower()) if w]  # a word may be `país`


@rule("LS407", "outcome-leak-field", "info",
      "a field whose name says it is known only after the outcome (converted, stage, duration...)")
def outcome_leak_field(facts: Facts) -> Iterator[Hit]:
    used = _names_used(facts)
    for declared in (facts.scope.lead_fields, facts.scope.event_fields):
        for f in declared.values():
            hits = [w for w in _words(f.name.text) if w in OUTCOME_WORDS]
            if hits and f.name.text in used:
                yield Hit(f.name.span, f"field `{f.name.text}` sounds like it is filled in after "
                          f"the outcome (`{hits[0]}`): scoring on it predicts the past",
                          "check when this field is set; score only what is known before "
                          "sales acts")


@rule("LS408", "import-replacement", "info",
      "a declaration that replaces one of the same name from an imported file")
def import_replacement(facts: Facts) -> Iterator[Hit]:
    for rep in facts.replacements:
        if rep.old.path == rep.new.path:
            yield Hit(rep.new, f"`{rep.identity}` is declared again: this one replaces the one "
                      f"on line {rep.old.line}", "keep one declaration")
            continue
        yield Hit(rep.new, f"`{rep.identity}` replaces the one imported from {rep.old}",
                  "intended when specializing a base model; suppress this finding to say so")


@rule("LS409", "ungated-sales-tier", "info",
      "a sales tier that points alone can reach: no `require` gate")
def ungated_sales_tier(facts: Facts) -> Iterator[Hit]:
    for td in facts.tier_sets:
        for e in facts.sales_tiers(td):
            if not e.requires:
                where = f" (segment `{td.segment.text}`)" if td.segment else ""
                yield Hit(e.name.span, f"sales tier `{e.name.text}`{where} has no gate: points "
                          "alone put a lead there, with no buying signal",
                          f"add a gate: `{e.name.text} at {e.threshold.text if e.threshold else 'N'} "
                          "require <a buying signal>`, e.g. a demo request")
