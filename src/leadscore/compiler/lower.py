"""Checked declarations -> IR model: the scoring semantics of LANGUAGE.md, once.

Every rule becomes event aggregates plus a contribution expression; scores,
decay, total, segments, tiers, gates and grades become ordered bindings. The
backends only translate; nothing here is backend-specific.
"""

from __future__ import annotations

from . import ir
from .check import US_PER_DAY, Checked, CheckedRule, CheckedTier

AGE = ir.E("ev_age", (), ir.NUMBER)
ZERO = ir.num(0)
ONE = ir.num(1)
SUM_CHUNK = 16  # terms per partial sum: keeps expressions shallow (DataFusion parses 50 levels)


class _Lowering:
    def __init__(self, checked: Checked):
        self.c = checked
        self.aggregates: dict[tuple, ir.Aggregate] = {
            (a.fn, a.where, a.value): a for a in checked.aggregates}
        # the same aggregates by id, kept alongside: rebuilding it per binding was quadratic
        self.aggs_by_id: dict[str, ir.Aggregate] = {a.id: a for a in checked.aggregates}
        self.bindings: dict[str, ir.Binding] = {}
        self.rules: list[ir.RuleInfo] = []
        self.gates: dict[str, list[dict]] = {}

    # ---------------------------------------------------------------- helpers
    def agg(self, fn: str, where: ir.E, value: ir.E | None = None) -> ir.E:
        key = (fn, where, value)
        a = self.aggregates.get(key)
        if a is None:
            a = ir.Aggregate(f"a{len(self.aggregates)}", fn, where, value)
            self.aggregates[key] = a
            self.aggs_by_id[a.id] = a
        return ir.E("agg", (a.id,), ir.NUMBER)

    def bind(self, name: str, expr: ir.E) -> ir.E:
        stage = 0
        for r in _refs(expr):
            stage = max(stage, self.bindings[r].stage + 1)
        b = ir.Binding(name, expr, ir.nullable(expr, self.aggs_by_id, self.bindings), stage)
        self.bindings[name] = b
        return ir.ref(name, expr.type)

    def sum_chain(self, name: str, parts: list[ir.E]) -> ir.E:
        """Left-to-right sum; long sums are cut into bound partial sums to keep trees shallow."""
        value: ir.E | None = None
        for i, part in enumerate(parts):
            if value is not None and i % SUM_CHUNK == 0:
                value = self.bind(f"{name}:partial{i // SUM_CHUNK}", value)
            value = part if value is None else ir.call("add", value, part)
        return ZERO if value is None else value

    # ---------------------------------------------------------------- rules
    def weight(self, r: CheckedRule) -> ir.E | None:
        """Per-event weight of a fading rule, as a function of the event's age."""
        days = ir.call("days", AGE)
        if r.half_life:
            return ir.call("pow", ir.num(0.5), ir.call("div", days, ir.num(r.half_life)))
        if r.lifespan:
            return ir.call("max", ZERO, ir.call("sub", ONE, ir.call("div", days,
                                                                    ir.num(r.lifespan))))
        return None

    def rule(self, r: CheckedRule, index: int) -> ir.E:
        name = f"rule:{r.score}:{index}"
        count_ref = None
        p = ir.num(r.points)
        if r.kind == "when":
            points = ir.case([(r.condition, p)], ZERO, ir.NUMBER)
        else:
            if r.throttle:
                period = ir.call("floor", ir.call("div", AGE, ir.num(r.throttle * US_PER_DAY)))
                n = self.agg("count_distinct", r.where, period)
            else:
                n = self.agg("count", r.where)
            count_ref = self.bind(name + ":n", n)
            w = self.weight(r)
            some = ir.cmp(">=", count_ref, ONE)
            if r.kind == "per":
                points = ir.call("mul", p, self.agg("sum", r.where, w) if w else count_ref)
            elif r.kind == "once":
                # the most recent matching event carries the weight (its weight is the largest)
                weight = ir.call("coalesce", self.agg("max", r.where, w), ZERO) if w else ONE
                points = ir.case([(some, ir.call("mul", p, weight))], ZERO, ir.NUMBER)
            else:  # first P, repeat Q: the oldest matching event is the first one
                q = ir.num(r.repeat)
                if w:
                    first_w = ir.call("coalesce", self.agg("min", r.where, w), ZERO)
                    value = ir.call("add", ir.call("mul", ir.num(r.points - r.repeat), first_w),
                                    ir.call("mul", q, self.agg("sum", r.where, w)))
                else:
                    value = ir.call("add", p, ir.call("mul", q, ir.call("sub", count_ref, ONE)))
                points = ir.case([(some, value)], ZERO, ir.NUMBER)
        if r.cap is not None:
            points = ir.call("min" if r.cap >= 0 else "max", points, ir.num(r.cap))
        ref = self.bind(name, points)
        self.rules.append(ir.RuleInfo(r.score, r.label, r.kind,
                                      count_ref.args[0] if count_ref else None, name, r.line,
                                      r.cap))
        return ref

    # ---------------------------------------------------------------- scores
    def score(self, s) -> ir.E:
        parts = [self.rule(r, i) for i, r in enumerate(s.rules)]
        value = self.sum_chain(f"score:{s.name}", parts)
        if s.cap is not None:
            value = ir.call("min", value, ir.num(s.cap))
        for i, d in enumerate(s.decays):
            value = self.bind(f"score:{s.name}:pre_decay{i}", value)
            last = self.agg("min", d.where, AGE)
            age = last
            if self.c.schema.lead_created:
                created = ir.E("field", (self.c.schema.lead_created,), ir.TIMESTAMP)
                age = ir.call("coalesce", last, ir.call("age_us", created))
            # no event and no created time: no decay (0 periods)
            periods = ir.call("max", ZERO, ir.call("coalesce", ir.call(
                "floor", ir.call("div", ir.call("whole_days", age), ir.num(d.every))), ZERO))
            if d.points is not None:
                lowered = ir.call("max", ZERO, ir.call("sub", value,
                                                       ir.call("mul", ir.num(d.points), periods)))
                value = ir.case([(ir.cmp(">", value, ZERO), lowered)], value, ir.NUMBER)
            else:
                value = ir.call("mul", value, ir.call("pow", ir.num(1 - d.percent), periods))
        if s.floor is not None:
            value = ir.call("max", value, ir.num(s.floor))
        return self.bind(f"score:{s.name}", value)

    # ---------------------------------------------------------------- tiers
    def tier_set(self, seg: str, tiers: list[CheckedTier], total: ir.E) -> tuple[ir.E, ir.E]:
        """(tier, held_from) expressions for one segment's tiers."""
        tier_whens: list[tuple[ir.E, ir.E]] = []
        held_whens: list[tuple[ir.E, ir.E]] = []
        for i in range(len(tiers) - 1, 0, -1):
            t = tiers[i]
            label = ir.const(t.name, ir.TEXT)
            met = self.bind(f"tier:{seg}:{t.name}:met", ir.cmp(">=", total, ir.num(t.threshold)))
            if t.gates:
                gate = self.bind(f"tier:{seg}:{t.name}:gate", ir.and_(*t.gates))
                self.gates[f"tier:{seg}:{t.name}:gate"] = [s.to_json() for s in t.gate_spans]
                reached = ir.and_(met, gate)
                tier_whens.append((reached, label))
                held_whens.append((reached, ir.NULL_TEXT))
                held_whens.append((met, label))
            else:
                tier_whens.append((met, label))
                held_whens.append((met, ir.NULL_TEXT))
        lowest = ir.const(tiers[0].name, ir.TEXT)
        tier = ir.case(tier_whens, lowest, ir.TEXT) if tier_whens else lowest
        held = ir.case(held_whens, ir.NULL_TEXT, ir.TEXT) if held_whens else ir.NULL_TEXT
        return tier, held

    # ---------------------------------------------------------------- model
    def model(self) -> ir.Model:
        c = self.c
        score_refs = {s.name: self.score(s) for s in c.scores}
        if c.total is not None:
            total = c.total
        else:
            total = self.sum_chain("total", list(score_refs.values()))
        if c.clamp is not None:
            lo, hi = c.clamp
            clamped = ir.call("max", ir.num(lo), ir.call("min", total, ir.num(hi)))
            if ir.nullable(total, self.aggs_by_id, self.bindings):
                clamped = ir.case([(ir.E("is_null", (total,), ir.BOOL), ir.const(None, ir.NUMBER))],
                                  clamped, ir.NUMBER)
            total = clamped
        total_ref = self.bind("total", total)

        disq = ir.NULL_TEXT
        if c.disqualify:
            disq = ir.case([(cond, ir.const(reason, ir.TEXT)) for reason, cond in c.disqualify],
                           ir.NULL_TEXT, ir.TEXT)
        disq_ref = self.bind("disqualified_by", disq)
        seg = ir.const("default", ir.TEXT)
        if c.segments:
            seg = ir.case([(cond, ir.const(name, ir.TEXT)) for name, cond in c.segments], seg,
                          ir.TEXT)
        seg_ref = self.bind("segment", seg)

        outputs = [(s.name, f"score:{s.name}") for s in c.scores]
        outputs += [("total", "total"), ("segment", "segment")]
        if c.tiers:
            per_seg = {name: self.tier_set(name, tiers, total_ref) for name, tiers in c.tiers.items()}
            default_tier, default_held = per_seg.pop("default")
            is_seg = {name: ir.cmp("==", seg_ref, ir.const(name, ir.TEXT)) for name in per_seg}
            tier = ir.case([(is_seg[n], t) for n, (t, _) in per_seg.items()], default_tier,
                           ir.TEXT) if per_seg else default_tier
            held = ir.case([(is_seg[n], h) for n, (_, h) in per_seg.items()], default_held,
                           ir.TEXT) if per_seg else default_held
            disqualified = ir.not_(ir.E("is_null", (disq_ref,), ir.BOOL))
            tier = ir.case([(disqualified, ir.const("disqualified", ir.TEXT))], tier, ir.TEXT)
            held = ir.case([(disqualified, ir.NULL_TEXT)], held, ir.TEXT)
        else:  # no tiers: only a disqualified lead has one
            held = ir.NULL_TEXT
            tier = ir.case([(ir.not_(ir.E("is_null", (disq_ref,), ir.BOOL)),
                             ir.const("disqualified", ir.TEXT))], ir.NULL_TEXT, ir.TEXT)
        self.bind("tier", tier)
        self.bind("held_from", held)
        outputs += [("tier", "tier"), ("held_from", "held_from"),
                    ("disqualified_by", "disqualified_by")]
        if c.grade is not None:
            score_name, letters = c.grade
            whens = [(ir.cmp(">=", score_refs[score_name], ir.num(thr)), ir.const(letter, ir.TEXT))
                     for letter, thr in letters if thr is not None]
            last = ir.const(letters[-1][0], ir.TEXT) if letters else ir.NULL_TEXT
            self.bind("grade", ir.case(whens, last, ir.TEXT) if whens else last)
            outputs.append(("grade", "grade"))

        return ir.Model(
            name=c.name, version=c.version, schema=c.schema,
            aggregates=sorted(self.aggregates.values(), key=lambda a: int(a.id[1:])),
            bindings=list(self.bindings.values()), outputs=outputs,
            scores=[s.name for s in c.scores],
            tiers={seg: [t.name for t in tiers] for seg, tiers in c.tiers.items()},
            rules=self.rules, has_grade=c.grade is not None, regexes=c.regexes, tests=c.tests,
            account=self.account(), gates=self.gates)

    def account(self) -> ir.Account | None:
        a = self.c.account
        if a is None:
            return None
        aggs = {x.id: x for x in a.aggregates}
        bindings: dict[str, ir.Binding] = {}

        def bind(name: str, expr: ir.E) -> ir.E:
            stage = max((bindings[r].stage + 1 for r in _refs(expr)), default=0)
            bindings[name] = ir.Binding(name, expr, ir.nullable(expr, aggs, bindings), stage)
            return ir.ref(name, expr.type)

        score = bind("account:score", ir.call("coalesce", a.score, ZERO))
        rule_refs, rules = [], []
        for i, (label, points, cond, line) in enumerate(a.rules):
            name = f"account:rule:{i}"
            rule_refs.append(bind(name, ir.case([(cond, ir.num(points))], ZERO, ir.NUMBER)))
            rules.append((label, name, line))
        total = score
        for r in rule_refs:
            total = ir.call("add", total, r)
        total_ref = bind("account:total", total)
        outputs = [("score", "account:score"), ("total", "account:total")]
        if a.tiers:
            whens = [(ir.and_(ir.cmp(">=", total_ref, ir.num(t.threshold)), *t.gates),
                      ir.const(t.name, ir.TEXT)) for t in reversed(a.tiers[1:])]
            bind("account:tier", ir.case(whens, ir.const(a.tiers[0].name, ir.TEXT), ir.TEXT))
            outputs.append(("tier", "account:tier"))
        return ir.Account(a.field, a.aggregates, list(bindings.values()), outputs,
                          [t.name for t in a.tiers], rules)


def _refs(e: ir.E) -> set[str]:
    out: set[str] = set()
    stack = [e]
    while stack:
        node = stack.pop()
        if node.op == "ref":
            out.add(node.args[0])
            continue
        for a in node.args:
            if isinstance(a, ir.E):
                stack.append(a)
            elif isinstance(a, tuple):
                for x in a:
                    if isinstance(x, ir.E):
                        stack.append(x)
                    elif isinstance(x, tuple):
                        stack.extend(y for y in x if isinstance(y, ir.E))
    return out


def lower(checked: Checked) -> ir.Model:
    return _Lowering(checked).model()
