"""LS1xx: points, caps, decay and the tiers they can reach."""

from __future__ import annotations

from collections.abc import Iterator

from ...compiler import ast
from ..edits import Edit, Fix, Text
from ..facts import Facts
from ..intervals import INF, Interval, fmt
from ..registry import Hit, rule


def _ranges(facts: Facts) -> str:
    parts = [f"{name} {b}" for name, b in facts.score_bounds.items()]
    if facts.clamp is not None:
        parts.append(f"clamp {facts.clamp.low.text}..{facts.clamp.high.text}")
    return "; ".join(parts)


def _where(td: ast.TiersDecl) -> str:
    return f" (segment `{td.segment.text}`)" if td.segment else ""


@rule("LS101", "unreachable-tier", "error",
      "a tier threshold above the highest total the model can reach")
def unreachable_tier(facts: Facts) -> Iterator[Hit]:
    hi = facts.total_bounds.hi
    for td, _, e, at in facts.thresholds():
        if at.value > hi:
            yield Hit(at.span, f"tier `{e.name.text}`{_where(td)} at {at.text} can never be "
                      f"reached: the total is at most {fmt(hi)}", f"reachable ranges: {_ranges(facts)}")


@rule("LS102", "tier-always-reached", "warning",
      "a tier threshold at or below the lowest total: every lead meets it")
def tier_always_reached(facts: Facts) -> Iterator[Hit]:
    lo = facts.total_bounds.lo
    for td, i, e, at in facts.thresholds():
        if at.value <= lo:
            below = ", ".join(f"`{x.name.text}`" for x in td.entries[:i])
            then = (f"only its gate decides, and {below} only take the leads it holds back"
                    if e.requires else f"{below} can never be assigned")
            yield Hit(at.span, f"every lead's total is at least {fmt(lo)}, so the threshold of "
                      f"tier `{e.name.text}`{_where(td)} ({at.text}) is always met: {then}",
                      f"reachable ranges: {_ranges(facts)}")


def _repeatable(r: ast.RuleDecl) -> float:
    """Points each further event adds (0 when the rule cannot repeat)."""
    if r.kind == "per":
        return r.points.value
    if r.kind == "first_repeat":
        return r.repeat_points.value if r.repeat_points else 0.0
    return 0.0


def _filter_words(facts: Facts, r: ast.RuleDecl) -> str:
    return " ".join(facts.text(r.filter.span).split()) if r.filter is not None else "event"


@rule("LS103", "score-inflation", "warning",
      "one cheap repeatable rule can alone lift a lead into a sales tier")
def score_inflation(facts: Facts) -> Iterator[Hit]:
    zeros = {n: Interval.point(facts.zero_score(o)) for n, o in facts.scores.items()}
    for s, r in facts.rules():
        if _repeatable(r) <= 0 or facts.max_events(r) <= 1:
            continue
        most = facts.rule_bounds(r).hi
        first = r.points.value
        alone = dict(zeros, **{s.name.text: facts.finish_score(s, Interval(0, most), False)})
        single = dict(zeros, **{s.name.text: facts.finish_score(s, Interval(0, max(first, 0)), False)})
        top, one = facts.total_of(alone).hi, facts.total_of(single).hi
        reached = _sales_tiers_reached(facts, one, top)
        if not reached:
            continue
        td, e = reached[0]
        more = f" (and {len(reached) - 1} more tier set{'s' if len(reached) > 2 else ''})" \
            if len(reached) > 1 else ""
        mods = facts.mods(r)
        limit = (f"capped at {mods['cap'].value.text}" if "cap" in mods else  # type: ignore[union-attr]
                 f"with no cap below score `{s.name.text}`'s cap {s.cap.text}" if s.cap else
                 "with no cap")
        yield Hit(r.span,
                  f"rule \"{r.label}\" alone can lift a lead to sales tier `{e.name.text}`"
                  f"{_where(td)} at {e.threshold.text}{more}: {_repeatable(r):+g} per "  # type: ignore[union-attr]
                  f"`{_filter_words(facts, r)}` {limit}, "
                  + ("without limit" if top == INF else f"up to {fmt(top)}"),
                  "cap the rule well below the threshold (`cap 10`), throttle it (`at most once "
                  "per 7d` with a `within` window), or gate the tier with `require`")


def _sales_tiers_reached(facts: Facts, one: float, top: float) -> list[tuple[ast.TiersDecl, ast.TierEntry]]:
    """The first ungated sales tier of each tier set whose threshold lies above `one` (what one
    event reaches) and at most `top`."""
    reached = []
    for td in facts.tier_sets:
        for e in facts.sales_tiers(td):
            # a gate is the buying signal that repeated cheap actions cannot fake; a tier one
            # event already reaches is a deliberate strong signal, not inflation
            if e.requires or e.threshold is None:
                continue
            if one < e.threshold.value <= top:
                reached.append((td, e))
                break
    return reached


@rule("LS104", "uncapped-repeatable-rule", "warning",
      "a `per` or `first, repeat` rule with no cap, in a score with no cap")
def uncapped_repeatable_rule(facts: Facts) -> Iterator[Hit]:
    for s, r in facts.rules():
        step = _repeatable(r)
        if step == 0 or "cap" in facts.mods(r) or facts.max_events(r) != INF:
            continue
        if (step > 0 and s.cap is not None) or (step < 0 and s.floor is not None):
            continue  # the score's own bound stops it; LS103 still checks what it reaches
        bound = "cap" if step > 0 else "floor"
        yield Hit(r.span,
                  f"rule \"{r.label}\" has no cap: {step:+g} for every "
                  f"`{_filter_words(facts, r)}`, without limit",
                  f"add `cap N` after the filter, or a `{bound}` on score `{s.name.text}`")


def _flip_cap(facts: Facts, cap: ast.RuleMod, negative: bool) -> Fix | None:
    digits = cap.value.text.lstrip("+-")
    text = f"-{digits}" if negative else digits
    return facts.fix(f"Write `cap {text}`", cap.span,
                     lambda doc: [doc.replace(cap.value.span, text)])


@rule("LS105", "cap-sign-mismatch", "warning",
      "a rule's cap has the opposite sign of its points, so it does nothing (or zeroes the "
      "rule); a score's cap is negative (a lower bound)", fixable=True)
def cap_sign_mismatch(facts: Facts) -> Iterator[Hit]:
    for r, cap, c in facts.rule_caps():
        pts = [r.points.value] + ([r.repeat_points.value] if r.repeat_points else [])
        if all(p <= 0 for p in pts) and any(p < 0 for p in pts) and c >= 0:
            yield Hit(cap.span, f"`cap {cap.value.text}` has no effect on rule \"{r.label}\", "
                      "which takes points away: a cap on negative points is a lower bound "
                      "and must be negative", f"write `cap -{abs(c):g}`" if c else None,
                      _flip_cap(facts, cap, True) if c else None)
        elif all(p >= 0 for p in pts) and any(p > 0 for p in pts) and c < 0:
            yield Hit(cap.span, f"`cap {cap.value.text}` has no effect on rule \"{r.label}\", "
                      "which adds points: a negative cap only bounds negative points",
                      f"write `cap {abs(c):g}`", _flip_cap(facts, cap, False))
        elif all(p >= 0 for p in pts) and any(p > 0 for p in pts) and c == 0:
            yield Hit(cap.span, f"`cap 0` makes rule \"{r.label}\" worth nothing",
                      "remove the rule, or give the cap the most points the rule may add")
    for s in facts.scores.values():
        if s.cap is not None and s.cap.value < 0:
            c = s.cap.value
            yield Hit(s.cap.span, f"score `{s.name.text}`'s `cap {s.cap.text}` is a lower bound: "
                      f"like a rule's negative cap it gives max(score, {c:g}), so it never "
                      "limits points and lifts every score below it",
                      f"write `floor {c:g}` if that is meant, or `cap {abs(c):g}` for an upper bound")


@rule("LS106", "zero-points", "warning", "a rule worth 0 points")
def zero_points(facts: Facts) -> Iterator[Hit]:
    for _, r in facts.rules():
        if r.points.value == 0 and (r.repeat_points is None or r.repeat_points.value == 0):
            yield Hit(r.points.span, f"rule \"{r.label}\" gives 0 points: it never changes "
                      "the score", "give it points, or delete it")
    if facts.account is not None:
        for ar in facts.account.rules:
            if ar.points.value == 0:
                yield Hit(ar.points.span, f"account rule \"{ar.label}\" gives 0 points",
                          "give it points, or delete it")


def _remove_bound(facts: Facts, what: str, value: ast.Signed, word: str) -> Fix | None:
    """Remove a bound that never binds (`cap 50`, `floor -10`): the values stay the same."""
    return facts.fix(f"Remove {what}", value.span, lambda doc: [
        None if (span := doc.with_keyword(value.span, word)) is None else doc.remove_inline(span)])


@rule("LS107", "ineffective-cap", "info",
      "a rule cap, score cap, floor or clamp bound that the values can never cross", fixable=True)
def ineffective_cap(facts: Facts) -> Iterator[Hit]:
    for r, cap, c in facts.rule_caps():
        raw = facts.rule_bounds(r, capped=False)
        fix = facts.fix(f"Remove the cap of rule \"{r.label}\"", cap.span,
                        lambda doc, cap=cap: [doc.remove_inline(cap.span)])
        if c > 0 and 0 < raw.hi <= c:
            yield Hit(cap.span, f"`cap {cap.value.text}` never binds: rule \"{r.label}\" "
                      f"gives at most {fmt(raw.hi)}", "remove the cap, or lower it", fix)
        elif c < 0 and c <= raw.lo < 0:
            yield Hit(cap.span, f"`cap {cap.value.text}` never binds: rule \"{r.label}\" "
                      f"takes at most {fmt(-raw.lo)} away", "remove the cap, or raise it", fix)
    for s in facts.scores.values():
        raw = facts.score_sum(s)
        if s.cap is not None and 0 <= s.cap.value and raw.hi <= s.cap.value:
            yield Hit(s.cap.span, f"score `{s.name.text}`'s `cap {s.cap.text}` never binds: its "
                      f"rules add up to at most {fmt(raw.hi)}", "remove the cap, or lower it",
                      _remove_bound(facts, f"the cap of score `{s.name.text}`", s.cap, "cap"))
        if s.floor is not None:
            before = facts.finish_score(s, raw, floor=False)
            if before.lo >= s.floor.value:
                yield Hit(s.floor.span, f"score `{s.name.text}`'s `floor {s.floor.text}` never "
                          f"binds: it is never below {fmt(before.lo)}", "remove the floor",
                          _remove_bound(facts, f"the floor of score `{s.name.text}`", s.floor,
                                        "floor"))
    if facts.clamp is not None:
        c = facts.clamp
        raw = facts.total_of(facts.score_bounds, clamp=False)
        low, high = c.low.value <= raw.lo, c.high.value >= raw.hi
        # the clamp has both bounds or none: it goes only when neither binds
        fix = facts.fix("Remove the clamp", c.span,
                        lambda doc: [doc.remove_statement(c.span)]) if low and high else None
        if low:
            yield Hit(c.low.span, f"the clamp's lower bound {c.low.text} never binds: the total "
                      f"is at least {fmt(raw.lo)}", f"reachable ranges: {_ranges(facts)}", fix)
        if high:
            yield Hit(c.high.span, f"the clamp's upper bound {c.high.text} never binds: the total "
                      f"is at most {fmt(raw.hi)}", f"reachable ranges: {_ranges(facts)}", fix)


def _horizon(facts: Facts, r: ast.RuleDecl) -> int | None:
    """Days after which an event no longer counts for the rule (window or lifespan)."""
    info = facts.filter_info(r.filter)
    life = facts.mods(r).get("lifespan")
    days = [d for d in (info.window if info else None,
                        life.value.amount if life else None) if d is not None]  # type: ignore[union-attr]
    return min(days) if days else None


@rule("LS108", "decay-outlasts-windows", "warning",
      "a decay period longer than every rule's window: the score is already 0 when it starts")
def decay_outlasts_windows(facts: Facts) -> Iterator[Hit]:
    for s in facts.scores.values():
        for d in s.decays:
            info = facts.filter_info(d.filter)
            if info is None or info.wheres or not s.rules:
                continue
            alive_up = alive_down = False
            longest = 0
            for r in s.rules:
                b = facts.rule_bounds(r)
                horizon = _horizon(facts, r) if r.kind != "when" else None
                rinfo = facts.filter_info(r.filter)
                covered = rinfo is not None and (info.types is None or (
                    rinfo.types is not None and rinfo.types <= info.types))
                if horizon is None or not covered or horizon > d.every.amount:
                    alive_up |= b.hi > 0
                    alive_down |= b.lo < 0
                else:
                    longest = max(longest, horizon)
            if alive_up or (alive_down and d.percent is not None):
                continue
            yield Hit(d.every.span,
                      f"`decay ... every {d.every.text}` never changes score `{s.name.text}`: "
                      f"every rule's events stop counting after {longest}d, so the score is "
                      "already 0 when the first period ends",
                      f"decay over a shorter period than {longest}d, or drop the decay")


@rule("LS109", "fade-outlasts-window", "info",
      "a half_life or lifespan so long next to the rule's window that fading barely matters")
def fade_outlasts_window(facts: Facts) -> Iterator[Hit]:
    for _, r in facts.rules():
        info = facts.filter_info(r.filter)
        if info is None or info.window is None:
            continue
        w = info.window
        mods = facts.mods(r)
        hl, life = mods.get("half_life"), mods.get("lifespan")
        if hl is not None and hl.value.amount >= w:  # type: ignore[union-attr]
            yield Hit(hl.span, f"`{hl.value.text}` half-life inside a {w}d window: every "  # type: ignore[union-attr]
                      "event the rule counts keeps at least half its points",
                      "shorten the half_life, or widen the window")
        if life is not None and life.value.amount >= 2 * w:  # type: ignore[union-attr]
            yield Hit(life.span, f"`lifespan {life.value.text}` inside a {w}d window: every "  # type: ignore[union-attr]
                      "event the rule counts keeps at least half its points",
                      "shorten the lifespan, or drop the window")


def _as_once(facts: Facts, r: ast.RuleDecl, throttle: ast.RuleMod) -> Fix | None:
    """`P per F … at most once per N` (or `first P, repeat Q per F …`) as `P once F …`: the
    same points when at most one period fits in the window (docs/language.md, semantics 5
    and 6). With a fade the throttled event's weight would need a choice: no fix then."""
    if r.filter is None or any(m.kind in ("half_life", "lifespan") for m in r.mods):
        return None

    def make(doc: Text) -> list[Edit | None]:
        a, b = doc.range(r.points.span)[1], doc.range(r.filter.span)[0]  # type: ignore[union-attr]
        if "#" in doc.text[a:b]:
            return [None]  # a comment inside the rule's head: not ours to move
        return [doc.replace(doc.span(a, b), " once "), doc.remove_inline(throttle.span)]

    return facts.fix(f"Write rule \"{r.label}\" as `once`", r.span, make)


@rule("LS110", "throttle-exceeds-window", "warning",
      "`at most once per N` with N at least the rule's window: the rule counts one event at most",
      fixable=True)
def throttle_exceeds_window(facts: Facts) -> Iterator[Hit]:
    for _, r in facts.rules():
        t = facts.mods(r).get("throttle")
        info = facts.filter_info(r.filter)
        if t is None or info is None or info.window is None:
            continue
        if t.value.amount >= info.window:  # type: ignore[union-attr]
            yield Hit(t.span, f"`at most once per {t.value.text}` inside a {info.window}d "  # type: ignore[union-attr]
                      f"window counts at most one event: rule \"{r.label}\" behaves like "
                      "`once`", "write `once`, or throttle over a shorter period",
                      _as_once(facts, r, t))


@rule("LS111", "decay-without-effect", "warning",
      "decay on a score that can never be positive")
def decay_without_effect(facts: Facts) -> Iterator[Hit]:
    for s in facts.scores.values():
        raw = facts.score_sum(s)
        if s.cap is not None:
            raw = Interval(min(raw.lo, s.cap.value), min(raw.hi, s.cap.value))
        for d in s.decays:
            if d.percent is None and raw.hi <= 0:
                yield Hit(d.amount_span, f"score `{s.name.text}` is never above 0 (at most "
                          f"{fmt(raw.hi)}), and decay only lowers positive scores: this decay "
                          "never applies", "remove the decay")
            elif d.percent is not None and raw.lo == raw.hi == 0:
                yield Hit(d.amount_span, f"score `{s.name.text}` is always 0: this decay never "
                          "changes it", "remove the decay")


@rule("LS112", "unreachable-grade", "warning",
      "a grade letter whose threshold is above the highest value of its score")
def unreachable_grade(facts: Facts) -> Iterator[Hit]:
    g = facts.grade
    if g is None or g.score.text not in facts.scores:
        return
    b = facts.score_bounds[g.score.text]
    for e in g.entries:
        if e.threshold is not None and e.threshold.value > b.hi:
            yield Hit(e.threshold.span, f"grade `{e.name.text}` at {e.threshold.text} is never "
                      f"given: score `{g.score.text}` is at most {fmt(b.hi)}",
                      f"lower the threshold to at most {fmt(b.hi)}")
