"""Checked declarations -> IR model: the scoring semantics of LANGUAGE.md, once.

Every rule becomes event aggregates plus a contribution expression; scores,
decay, total, segments, tiers, gates and grades become ordered bindings. The
evaluators only translate; nothing here is engine-specific.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from .. import ir
from ..diagnostics import Span
from ..text import fold
from .exprs import Build

if TYPE_CHECKING:  # the checked declarations import this package's expression builder
    from ..checked import Checked, CheckedRule, CheckedScore, CheckedTier

ZERO = ir.num(0)
ONE = ir.num(1)
SUM_CHUNK = 16  # terms per partial sum: keeps expressions shallow (DataFusion parses 50 levels)


class _Bindings:
    """Ordered bindings, each staged one after the deepest binding it uses."""

    def __init__(self, aggregates: dict[str, ir.Aggregate]):
        self.aggs = aggregates
        self.bindings: dict[str, ir.Binding] = {}

    def bind(self, name: str, expr: ir.Expr) -> ir.Ref:
        stage = max((self.bindings[r].stage + 1 for r in ir.refs(expr)), default=0)
        self.bindings[name] = ir.Binding(name, expr, self.nullable(expr), stage)
        return ir.Ref(name, expr.type, span=expr.span)

    def nullable(self, e: ir.Expr) -> bool:
        return ir.nullable(e, self.aggs, self.bindings)


class _Lowering:
    def __init__(self, checked: Checked):
        self.c = checked
        self.build: Build = checked.build  # the aggregates typing already made come first
        self.b = _Bindings(self.build.by_id)
        self.bind = self.b.bind
        self.rules: list[ir.RuleInfo] = []
        self.gates: dict[str, list[ir.Gate]] = {}
        self.steps: list[ir.Step] = []

    def step(self, kind: str, subject: str, label: str, span: Span | None = None,
             facts: dict | None = None, **values: ir.Expr | None) -> None:
        """One line of the explanation (ir.Step): the values it shows, as IR."""
        self.steps.append(ir.Step(kind, subject, label,
                                  {k: v for k, v in values.items() if v is not None},
                                  facts or {}, span))

    def sum_chain(self, name: str, parts: list[ir.Expr]) -> ir.Expr:
        """Left-to-right sum; long sums are cut into bound partial sums to keep trees shallow."""
        value: ir.Expr | None = None
        for i, part in enumerate(parts):
            if value is not None and i % SUM_CHUNK == 0:
                value = self.bind(f"{name}:partial{i // SUM_CHUNK}", value)
            value = part if value is None else ir.Arith("add", value, part)
        return ZERO if value is None else value

    # ---------------------------------------------------------------- rules
    def rule(self, r: CheckedRule, index: int) -> ir.Ref:
        name = f"rule:{r.score}:{index}"
        sp = r.span
        count_ref = None
        p = ir.num(r.points, sp)
        if r.kind == "when":
            points = ir.case([(r.condition, p)], ZERO, ir.NUMBER, sp)
        else:
            agg = self.build.aggregate
            if r.throttle:
                n = agg("count_distinct", r.where, period=r.throttle, span=sp)
            else:
                n = agg("count", r.where, span=sp)
            count_ref = self.bind(name + ":n", n)
            fade = (ir.Fade("half_life", r.half_life) if r.half_life else
                    ir.Fade("lifespan", r.lifespan) if r.lifespan else None)
            some = ir.Cmp(">=", count_ref, ONE, span=sp)
            if fade:  # grid weights (ir.Fade): the rule's points divided by the grid once
                grid = ir.num(ir.WEIGHT_GRID)
                if r.kind == "per":
                    weighted = ir.Arith("mul", p, agg("sum", r.where, fade=fade, span=sp))
                elif r.kind == "once":
                    # the most recent matching event carries the weight (its weight is the largest)
                    weighted = ir.Arith("mul", p, ir.Coalesce(agg("max", r.where, fade=fade, span=sp),
                                                              ZERO))
                else:  # first P, repeat Q: the oldest matching event is the first one
                    first_w = ir.Coalesce(agg("min", r.where, fade=fade, span=sp), ZERO)
                    weighted = ir.Arith("add", ir.Arith("mul", ir.num(r.points - r.repeat), first_w),
                                        ir.Arith("mul", ir.num(r.repeat),
                                                 agg("sum", r.where, fade=fade, span=sp)))
                points = ir.Arith("div", weighted, grid, span=sp)
                if r.kind != "per":
                    points = ir.case([(some, points)], ZERO, ir.NUMBER, sp)
            elif r.kind == "per":
                points = ir.Arith("mul", p, count_ref, span=sp)
            elif r.kind == "once":
                points = ir.case([(some, p)], ZERO, ir.NUMBER, sp)
            else:  # first P, repeat Q
                value = ir.Arith("add", p, ir.Arith("mul", ir.num(r.repeat), ir.Arith("sub", count_ref, ONE)))
                points = ir.case([(some, value)], ZERO, ir.NUMBER, sp)
        uncapped = points
        if r.cap is not None:
            points = ir.Extreme("min" if r.cap >= 0 else "max", points, ir.num(r.cap), span=sp)
        ref = self.bind(name, points)
        self.step("rule", r.score, r.label, sp, {"kind": r.kind, "cap": r.cap}, events=count_ref,
                  value=ref, before=uncapped if r.cap is not None else None)
        self.rules.append(ir.RuleInfo(r.score, r.label, r.kind,
                                      count_ref.name if count_ref else None, name, sp, r.cap))
        return ref

    # ---------------------------------------------------------------- scores
    def score(self, s: CheckedScore) -> ir.Ref:
        # the score's value heads its explanation: steps are evaluated after every binding
        self.step("score", s.name, s.name, value=ir.Ref(f"score:{s.name}", ir.NUMBER))
        parts = [self.rule(r, i) for i, r in enumerate(s.rules)]
        value = self.sum_chain(f"score:{s.name}", parts)
        if s.cap is not None:  # as a rule's cap: a negative cap bounds from below
            raw = value
            value = ir.Extreme("min" if s.cap >= 0 else "max", value, ir.num(s.cap))
            self.step("score_cap", s.name, "cap", facts={"cap": s.cap}, before=raw, value=value)
        for i, d in enumerate(s.decays):
            value = self.bind(f"score:{s.name}:pre_decay{i}", value)
            age: ir.Expr = self.build.aggregate("min", d.where, ir.AGE)
            created = self.c.schema.lead_created
            if created:
                age = ir.Coalesce(age, ir.AgeUs(ir.Field(created, ir.TIMESTAMP)))
            # no event and no created time: no decay (0 periods)
            periods = ir.Extreme("max", ZERO, ir.Coalesce(ir.Floor(ir.Arith(
                "div", ir.WholeDays(age), ir.num(d.every))), ZERO))
            if d.points is not None:
                lowered = ir.Extreme("max", ZERO, ir.Arith(
                    "sub", value, ir.Arith("mul", ir.num(d.points), periods)))
                value = ir.case([(ir.Cmp(">", value, ZERO), lowered)], value, ir.NUMBER)
            elif d.percent == 1:  # everything goes after one period
                value = ir.case([(ir.Cmp(">=", periods, ONE), ZERO)], value, ir.NUMBER)
            else:
                value = self.percent_decay(f"score:{s.name}:decay{i}", value, d.percent, periods)
            self.step("decay", s.name, f"decay {i + 1}",
                      facts={"every": d.every, "points": d.points, "percent": d.percent},
                      before=ir.Ref(f"score:{s.name}:pre_decay{i}", ir.NUMBER),
                      days=ir.WholeDays(age), value=value)
        if s.floor is not None:
            unfloored = value
            value = ir.Extreme("max", value, ir.num(s.floor))
            self.step("floor", s.name, "floor", facts={"floor": s.floor}, before=unfloored,
                      value=value)
        return self.bind(f"score:{s.name}", value)

    def percent_decay(self, name: str, value: ir.Expr, percent: float, periods: ir.Expr) -> ir.Expr:
        """value * (1 - p)^periods, the factor on the fading weights' grid (ir.Fade): (1 - p)^n
        = 2^-(n * c), c = -log2(1 - p) to 15 digits, from IEEE-exact operations only, so every
        engine gives the same bits (their POWER differ by an ulp, PostgreSQL's raises on
        underflow); 0 from 31 halvings on."""
        c = float(f"{-math.log2(1 - percent):.15g}")
        x = self.bind(f"{name}:x", ir.Extreme("min", ir.Arith("mul", periods, ir.num(c)),
                                                ir.num(ir.HALF_LIVES_TO_ZERO)))
        n = self.bind(f"{name}:n", ir.Floor(x))
        f = self.bind(f"{name}:f", ir.Arith("sub", x, n))
        factor = ir.grid_exp2_neg(n, f)
        return ir.Arith("div", ir.Arith("mul", value, factor), ir.num(ir.WEIGHT_GRID))

    # ---------------------------------------------------------------- tiers
    def tier_set(self, seg: str, tiers: list[CheckedTier], total: ir.Expr,
                 previous: ir.Expr | None) -> tuple[ir.Expr, ir.Expr, ir.Expr]:
        """(tier, held_from, held) expressions for one segment's tiers: `held` is the sticky
        tier that stickiness decided, null where it did not (`sticky`)."""
        tier, held_from = self.computed_tier(seg, tiers, total)
        if previous is None or not any(t.sticky for t in tiers):
            return tier, held_from, ir.NULL_TEXT
        return self.sticky(seg, tiers, previous, tier, held_from)

    def sticky(self, seg: str, tiers: list[CheckedTier], previous: ir.Expr, tier: ir.Expr,
               held_from: ir.Expr) -> tuple[ir.Expr, ir.Expr, ir.Expr]:
        """Sticky tiers (docs/language.md, "Sticky tiers"): with P the previous tier and C the
        computed one, H is the highest sticky tier at or below P in this list; the tier is the
        higher of C and H, and `held_from` only names a tier above that."""
        c = self.bind(f"tier:{seg}:computed", tier)
        hc = self.bind(f"tier:{seg}:computed_held_from", held_from)
        names = [t.name for t in tiers]
        holds: list[tuple[ir.Expr, ir.Expr]] = []
        sticky: list[tuple[ir.Expr, tuple[str, ...]]] = []  # (label, the names above it)
        for i in range(len(tiers) - 1, 0, -1):  # from the top: the first that holds is H
            if not tiers[i].sticky:
                continue
            label = ir.text(tiers[i].name, tiers[i].span)
            # P at or above this tier (input text arrives lower-cased), C below it
            at_or_above = ir.In(previous, tuple(dict.fromkeys(fold(n) for n in names[i:])))
            holds.append((ir.and_(at_or_above, ir.In(c, tuple(names[:i]))), label))
            sticky.append((label, tuple(names[i + 1:])))
        held = self.bind(f"tier:{seg}:held", ir.case(holds, ir.NULL_TEXT, ir.TEXT))
        # a held_from at or below the held tier is no longer above the lead's tier
        whens = [(ir.and_(ir.Cmp("==", held, label), *([ir.Not(ir.In(hc, above))] if above else [])),
                  ir.NULL_TEXT) for label, above in sticky]
        tier = ir.case([(ir.Not(ir.IsNull(held)), held)], c, ir.TEXT)
        return tier, ir.case(whens, hc, ir.TEXT), held

    def computed_tier(self, seg: str, tiers: list[CheckedTier],
                      total: ir.Expr) -> tuple[ir.Expr, ir.Expr]:
        """(tier, held_from) expressions for one segment's tiers, before stickiness."""
        tier_whens: list[tuple[ir.Expr, ir.Expr]] = []
        held_whens: list[tuple[ir.Expr, ir.Expr]] = []
        steps: list[ir.Step] = []  # bound highest first, explained lowest first
        for i in range(len(tiers) - 1, 0, -1):
            t = tiers[i]
            label = ir.text(t.name, t.span)
            met = self.bind(f"tier:{seg}:{t.name}:met",
                            ir.Cmp(">=", total, ir.num(t.threshold), span=t.span))
            if t.gates:
                # each gate its own binding (`...:gate:J`), so explain names the ones that fail
                name = f"tier:{seg}:{t.name}:gate"
                each = [self.bind(f"{name}:{j}", g) for j, g in enumerate(t.gates)]
                gate = self.bind(name, ir.and_(*each))
                self.gates[name] = [ir.Gate(self.source_text(s), s) for s in t.gate_spans]
                steps += [ir.Step("gate", seg, t.name, {"holds": g}, {"condition": text.text},
                                  text.span) for g, text in zip(each, self.gates[name])][::-1]
                reached = ir.and_(met, gate)
                tier_whens.append((reached, label))
                held_whens.append((reached, ir.NULL_TEXT))
                held_whens.append((met, label))
            else:
                tier_whens.append((met, label))
                held_whens.append((met, ir.NULL_TEXT))
            steps.append(ir.Step("tier", seg, t.name, {"holds": met}, {"threshold": t.threshold},
                                 t.span))
        steps.append(ir.Step("tier", seg, tiers[0].name, {}, {"threshold": None}, tiers[0].span))
        self.steps += steps[::-1]
        lowest = ir.text(tiers[0].name, tiers[0].span)
        return (ir.case(tier_whens, lowest, ir.TEXT),
                ir.case(held_whens, ir.NULL_TEXT, ir.TEXT))

    def expr_text(self, e: ir.Expr) -> str:
        return self.source_text(e.span) if e.span is not None else ""

    def source_text(self, span: Span) -> str:
        """The text a span covers (a gate as written), from the model's own sources."""
        lines = self.c.sources.get(span.path, "").split("\n")
        if not 1 <= span.line <= len(lines):
            return str(span)
        if span.end_line == span.line:
            return lines[span.line - 1][span.column - 1:span.end_column - 1].strip()
        return lines[span.line - 1][span.column - 1:].strip()

    # ---------------------------------------------------------------- model
    def model(self) -> ir.Model:
        c = self.c
        score_refs = {s.name: self.score(s) for s in c.scores}
        total = c.total if c.total is not None else self.sum_chain("total", list(score_refs.values()))
        unclamped = total
        if c.clamp is not None:
            lo, hi = c.clamp
            clamped = ir.Extreme("max", ir.num(lo), ir.Extreme("min", total, ir.num(hi)))
            if self.b.nullable(total):
                clamped = ir.case([(ir.IsNull(total), ir.NULL_NUMBER)], clamped, ir.NUMBER)
            total = clamped
        total_ref = self.bind("total", total)
        lo, hi = c.clamp or (None, None)
        self.step("total", "total", "total", facts={"formula": c.total is not None, "low": lo,
                                                     "high": hi},
                  before=unclamped if c.clamp is not None else None, value=total_ref)
        for reason, cond in c.disqualify:
            self.step("disqualify", "disqualified_by", reason, cond.span,
                      {"condition": self.expr_text(cond)}, holds=cond)
        for name, cond in c.segments:
            self.step("segment", "segment", name, cond.span, {"condition": self.expr_text(cond)},
                      holds=cond)

        disq = ir.case([(cond, ir.text(reason)) for reason, cond in c.disqualify], ir.NULL_TEXT,
                       ir.TEXT)
        disq_ref = self.bind("disqualified_by", disq)
        seg = ir.case([(cond, ir.text(name)) for name, cond in c.segments], ir.text("default"),
                      ir.TEXT)
        seg_ref = self.bind("segment", seg)

        outputs = [(s.name, f"score:{s.name}") for s in c.scores]
        outputs += [("total", "total"), ("segment", "segment")]
        disqualified = ir.Not(ir.IsNull(disq_ref))
        schema = c.schema
        if any(t.sticky for tiers in c.tiers.values() for t in tiers):
            schema = replace(schema, lead_fields={**schema.lead_fields, ir.PREVIOUS_TIER: ir.TEXT})
        if c.tiers:
            previous = (ir.Field(ir.PREVIOUS_TIER, ir.TEXT)
                        if ir.PREVIOUS_TIER in schema.lead_fields else None)
            per_seg = {name: self.tier_set(name, tiers, total_ref, previous)
                       for name, tiers in c.tiers.items()}
            is_seg = {name: ir.Cmp("==", seg_ref, ir.text(name)) for name in per_seg
                      if name != "default"}

            def by_segment(part: int) -> ir.Expr:
                return ir.case([(is_seg[n], v[part]) for n, v in per_seg.items() if n != "default"],
                               per_seg["default"][part], ir.TEXT)

            tier = ir.case([(disqualified, ir.text("disqualified"))], by_segment(0), ir.TEXT)
            held = ir.case([(disqualified, ir.NULL_TEXT)], by_segment(1), ir.TEXT)
            if previous is not None:  # explain says when stickiness decided the tier
                held_tier = self.bind("tier:sticky", ir.case([(disqualified, ir.NULL_TEXT)],
                                                             by_segment(2), ir.TEXT))
                self.step("sticky", "tier", "held", text=held_tier)
                self.step("previous_tier", "tier", "previous tier", text=previous)
        else:  # no tiers: only a disqualified lead has one
            held = ir.NULL_TEXT
            tier = ir.case([(disqualified, ir.text("disqualified"))], ir.NULL_TEXT, ir.TEXT)
        tier_ref = self.bind("tier", tier)
        self.bind("held_from", held)
        outputs += [("tier", "tier"), ("held_from", "held_from"),
                    ("disqualified_by", "disqualified_by")]
        if c.grade is not None:
            score_name, letters = c.grade
            whens = [(ir.Cmp(">=", score_refs[score_name], ir.num(thr)), ir.text(letter))
                     for letter, thr in letters if thr is not None]
            last = ir.text(letters[-1][0]) if letters else ir.NULL_TEXT
            grade_ref = self.bind("grade", ir.case(whens, last, ir.TEXT))
            outputs.append(("grade", "grade"))
            if c.tiers:
                self.bind("matrix", self.matrix(c.tiers, [x for x, _ in letters], grade_ref,
                                                tier_ref, seg_ref))
                outputs.append(("matrix", "matrix"))

        for column, name in outputs:
            b = self.b.bindings[name]
            self.step("output", column, column, **{
                "value" if b.expr.type == ir.NUMBER else "text": ir.Ref(name, b.expr.type)})
        account = self.account()  # its roll-ups do not add lead aggregates
        return ir.Model(
            name=c.name, version=c.version, schema=schema,
            aggregates=list(self.build.aggregates.values()),
            bindings=list(self.b.bindings.values()), outputs=outputs,
            scores=[s.name for s in c.scores],
            tiers={seg: [t.name for t in tiers] for seg, tiers in c.tiers.items()},
            rules=self.rules, has_grade=c.grade is not None, tests=c.tests,
            account=account, gates=self.gates, explain=self.steps)

    @staticmethod
    def matrix(tiers: dict[str, list[CheckedTier]], letters: list[str], grade: ir.Expr,
               tier: ir.Expr, segment: ir.Expr) -> ir.Expr:
        """The grade x tier label: the grade letter, then the rank of the lead's tier in its
        segment's list counted from the top (1 = highest); null for a disqualified lead (its
        tier is in no list)."""
        def label(ts: list[CheckedTier]) -> ir.Expr:
            return ir.case([(ir.Cmp("==", tier, ir.text(t.name)),
                             ir.case([(ir.Cmp("==", grade, ir.text(x)), ir.text(f"{x}{len(ts) - i}"))
                                      for x in letters], ir.NULL_TEXT, ir.TEXT))
                            for i, t in enumerate(ts)], ir.NULL_TEXT, ir.TEXT)

        return ir.case([(ir.Cmp("==", segment, ir.text(name)), label(ts))
                        for name, ts in tiers.items() if name != "default"],
                       label(tiers["default"]), ir.TEXT)

    def account(self) -> ir.Account | None:
        a = self.c.account
        if a is None:
            return None
        aggs = list(self.build.member_aggs.values())
        b = _Bindings({x.id: x for x in aggs})
        # the explanation: what each member gives each roll-up ("member" steps, over the
        # member's own values), then the account's score, rules, total and tiers
        steps = [ir.Step("member", "account", self.expr_text(ir.Agg(x.id, span=x.span)),
                         {k: v for k, v in (("holds", x.where), ("value", x.value))
                          if v is not None and v != ir.TRUE}, {"fn": x.fn}, x.span)
                 for x in aggs]
        score = b.bind("account:score", ir.Coalesce(a.score, ZERO))
        steps.append(ir.Step("account_score", "account", "score", {"value": score},
                             {"formula": self.expr_text(a.score)}, a.score.span))
        rule_refs, rules = [], []
        for i, (label, points, cond, span) in enumerate(a.rules):
            name = f"account:rule:{i}"
            rule_refs.append(b.bind(name, ir.case([(cond, ir.num(points, span))], ZERO, ir.NUMBER,
                                                  span)))
            rules.append(ir.RuleInfo("account", label, "when", None, name, span))
            steps.append(ir.Step("rule", "account", label, {"value": rule_refs[-1]},
                                 {"kind": "when", "cap": None}, span))
        total: ir.Expr = score
        for r in rule_refs:
            total = ir.Arith("add", total, r)
        total_ref = b.bind("account:total", total)
        steps.append(ir.Step("account_total", "account", "total", {"value": total_ref}))
        outputs = [("score", "account:score"), ("total", "account:total")]
        if a.tiers:
            whens = [(ir.and_(ir.Cmp(">=", total_ref, ir.num(t.threshold)), *t.gates),
                      ir.text(t.name, t.span)) for t in reversed(a.tiers[1:])]
            b.bind("account:tier", ir.case(whens, ir.text(a.tiers[0].name), ir.TEXT))
            outputs.append(("tier", "account:tier"))
            steps.append(ir.Step("tier", "account", a.tiers[0].name, {}, {"threshold": None},
                                 a.tiers[0].span))
            for t in a.tiers[1:]:
                steps.append(ir.Step("tier", "account", t.name,
                                     {"holds": ir.Cmp(">=", total_ref, ir.num(t.threshold))},
                                     {"threshold": t.threshold}, t.span))
                steps += [ir.Step("gate", "account", t.name, {"holds": g},
                                  {"condition": self.source_text(sp)}, sp)
                          for g, sp in zip(t.gates, t.gate_spans)]
        for column, name in outputs:
            type_ = b.bindings[name].expr.type
            steps.append(ir.Step("output", column, column, {
                "value" if type_ == ir.NUMBER else "text": ir.Ref(name, type_)}))
        return ir.Account(a.field, aggs, list(b.bindings.values()), outputs,
                          [t.name for t in a.tiers], rules, steps)


def lower(checked: Checked) -> ir.Model:
    return _Lowering(checked).model()

