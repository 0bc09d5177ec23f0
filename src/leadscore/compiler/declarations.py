"""Declarations: the schema, scores and rules, decay, total, segments, tiers, grades, the
account block and test blocks, each checked with located diagnostics.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from . import ast, ir
from .checked import (
    ERR,
    FIELD_TYPES,
    MAX_DAYS,
    MAX_POINTS,
    RESERVED_TIERS,
    TYPE_WORDS,
    CheckedAccount,
    CheckedDecay,
    CheckedRule,
    CheckedScore,
    CheckedTier,
    Ctx,
)
from .diagnostics import Span
from .text import fold


class Declarations:
    """Checker stage 3 (a mixin of compiler/check.py `Checker`)."""

    def _only(self, items, cls: type, message: str):
        """The first declaration of kind `cls` (or None); each further one is an error."""
        found = [i for i in items if isinstance(i, cls)]
        for extra in found[1:]:
            self.error(message, extra.span)
        return found[0] if found else None

    def _model(self, items) -> ast.ModelDecl | None:
        return self._only(items, ast.ModelDecl, "a file declares its model only once")

    def _field_type(self, fd: ast.FieldDecl) -> str | None:
        t = fd.type.text
        if t not in FIELD_TYPES:
            self.error(f"unknown field type `{t}`", fd.type.span,
                       hint="field types are " + ", ".join(FIELD_TYPES))
            return None
        return t

    def _schema(self, items) -> None:
        sd = self._only(items, ast.SchemaDecl, "a model has one `schema` block")
        if sd is None:
            first = items[0].span if items else self.module.span
            self.error("the model has no `schema` block", Span(first.path, first.line,
                       first.column, first.line, first.column + 1),
                       hint="declare `schema { lead { key id ... } }`")
            return
        for part in getattr(sd, "extra", [])[2:]:
            self.error("the schema declares `lead` and `event` once each", part.span)
        lead = sd.lead
        if lead is None:
            self.error("the schema has no `lead { ... }` block", sd.span)
            return
        for kind, span in getattr(lead, "duplicates", []):
            self.error(f"`{kind}` is given twice in the lead schema", span)
        if lead.key is None:
            self.error("the lead schema needs a `key` column", lead.span,
                       hint="add `key id` naming the lead table's unique key")
            return
        seen: dict[str, Span] = {}
        lead_types: dict[str, str] = {}
        for fd in lead.fields:
            t = self._field_type(fd)
            if t is None:
                self.broken_names.add(fd.name.text)
            if fd.name.text in seen:
                self.error(f"field `{fd.name.text}` is declared twice", fd.name.span,
                           related=[(seen[fd.name.text], "the first declaration")])
                continue
            if fd.name.text == lead.key.text:
                self.error(f"`{fd.name.text}` is the lead key; it cannot also be a field",
                           fd.name.span)
                continue
            if fd.name.text == ir.PREVIOUS_TIER:
                self.error(f"`{ir.PREVIOUS_TIER}` is reserved: it is the previous tier that "
                           "sticky tiers read", fd.name.span, hint="rename the field")
                continue
            seen[fd.name.text] = fd.name.span
            if t:
                lead_types[fd.name.text] = t
                self.lead_fields[fd.name.text] = (FIELD_TYPES[t], fd)
        created = lead.created.text if lead.created else None
        for reserved in (lead.key, lead.created):
            if reserved is not None and reserved.text == ir.PREVIOUS_TIER:
                self.error(f"`{ir.PREVIOUS_TIER}` is reserved: it is the previous tier that "
                           "sticky tiers read", reserved.span, hint="rename the column")
        if created is not None:
            if created in lead_types and lead_types[created] != "timestamp":
                self.error(f"`created` column `{created}` must be a timestamp field",
                           lead.created.span)
            lead_types.setdefault(created, "timestamp")
            self.lead_fields.setdefault(created, (ir.TIMESTAMP, None))
        self.schema = ir.Schema(lead_key=lead.key.text, lead_created=created,
                                lead_fields=lead_types, lead_table=lead.table)
        origins = self.schema.origins
        origins[f"lead:{lead.key.text}"] = lead.key.span
        if lead.created is not None:
            origins[f"lead:{created}"] = lead.created.span
        for fd in lead.fields:
            origins.setdefault(f"lead:{fd.name.text}", fd.span)
        ev = sd.event
        if ev is None:
            return
        for kind, span in getattr(ev, "duplicates", []):
            self.error(f"`{kind}` is given twice in the event schema", span)
        for part, what in ((ev.lead, "lead"), (ev.time, "time"), (ev.type, "type")):
            if part is None:
                hint = {"lead": "add `lead lead_id` naming the column that holds the lead key",
                        "time": "add `time occurred_at` naming the event's timestamp column",
                        "type": "add `type kind` naming the event's type column"}[what]
                self.error(f"the event schema needs a `{what}` column", ev.span, hint=hint)
        if ev.lead is None or ev.time is None or ev.type is None:
            self.events_broken = True
            return
        types: list[str] = []
        for t in ev.types:
            if fold(t.text) in types:
                self.error(f"event type `{t.text}` is listed twice", t.span)
            types.append(fold(t.text))
        ev_types: dict[str, str] = {}
        for fd in ev.fields:
            t = self._field_type(fd)
            if t is None:
                self.broken_names.add(fd.name.text)
            if fd.name.text in ev_types or fd.name.text in (ev.lead.text, ev.time.text,
                                                           ev.type.text):
                self.error(f"event field `{fd.name.text}` is declared twice", fd.name.span)
                continue
            if t:
                ev_types[fd.name.text] = t
                self.event_fields[fd.name.text] = (FIELD_TYPES[t], fd)
        self.event_fields[ev.type.text] = ("ev_type", None)
        s = self.schema
        s.event_lead, s.event_time, s.event_type = ev.lead.text, ev.time.text, ev.type.text
        s.event_types, s.event_fields, s.event_table = types, ev_types, ev.table
        for part in (ev.lead, ev.time, ev.type):
            s.origins[f"event:{part.text}"] = part.span
        for fd in ev.fields:
            s.origins.setdefault(f"event:{fd.name.text}", fd.span)

    def _number(self, s: ast.Signed, what: str) -> float:
        if not math.isfinite(s.value) or abs(s.value) > MAX_POINTS:
            self.error(f"{what} `{s.text}` is out of range (at most {MAX_POINTS:g})", s.span)
            return 0.0
        return s.value

    def _days(self, d: ast.Duration, what: str) -> int:
        if d.unit != "d":
            factor = {"w": 7, "wk": 7, "week": 7, "weeks": 7, "day": 1, "days": 1, "día": 1,
                      "días": 1, "dias": 1, "semana": 7, "semanas": 7}.get(d.unit)
            hint = f"write `{d.amount * factor}d`" if factor else "durations count whole days, e.g. `30d`"
            self.error(f"unknown duration unit `{d.unit}` in `{d.text}`", d.span, hint=hint)
            return 1
        if d.amount <= 0:
            self.error(f"{what} must be at least 1 day, not `{d.text}`", d.span)
            return 1
        if d.amount > MAX_DAYS:
            self.error(f"{what} `{d.text}` is out of range (at most {MAX_DAYS}d)", d.span)
            return 1
        return d.amount

    def _score(self, sd: ast.ScoreDecl) -> CheckedScore:
        name = sd.name.text
        seen_opts: set[str] = set()
        for kind, value in getattr(sd, "options", []):
            if kind in seen_opts:
                self.error(f"`{kind}` is given twice for score `{name}`", value.span)
            seen_opts.add(kind)
        cap = self._number(sd.cap, "cap") if sd.cap else None
        floor = self._number(sd.floor, "floor") if sd.floor else None
        # a negative cap is a lower bound (semantics 6, as a rule's): only a cap >= 0 bounds
        # from above, and a floor above it could never hold
        if cap is not None and cap >= 0 and floor is not None and floor > cap:
            self.error(f"score `{name}` has its floor {floor:g} above its cap {cap:g}",
                       sd.floor.span)
        rules = [self._rule(name, r) for r in sd.rules]
        decays = [self._decay(d) for d in sd.decays]
        return CheckedScore(name, cap, floor, [r for r in rules if r], decays)

    def _rule(self, score: str, r: ast.RuleDecl) -> CheckedRule | None:
        points = self._number(r.points, "points")
        repeat = self._number(r.repeat_points, "points") if r.repeat_points else None
        ctx = Ctx("rule", "a rule condition")
        cond = where = None
        if r.kind == "when":
            cond = self._cond(r.condition, ctx)
        else:
            where = self._filter(r.filter, ctx)
        mods: dict[str, ast.RuleMod] = {}
        for m in r.mods:
            word = {"throttle": "at most once per"}.get(m.kind, m.kind)
            if m.kind in mods:
                self.error(f"`{word}` is given twice in rule \"{r.label}\"", m.span)
            mods[m.kind] = m
        cap = self._number(mods["cap"].value, "cap") if "cap" in mods else None
        half_life = self._days(mods["half_life"].value, "half_life") if "half_life" in mods else None
        lifespan = self._days(mods["lifespan"].value, "lifespan") if "lifespan" in mods else None
        throttle = self._days(mods["throttle"].value, "period") if "throttle" in mods else None
        if half_life and lifespan:
            self.error("a rule fades by `half_life` or by `lifespan`, not both",
                       mods["lifespan"].span)
        if throttle and (half_life or lifespan):
            self.error("`at most once per` cannot be combined with `half_life` or `lifespan`",
                       mods["throttle"].span,
                       hint="a throttled rule counts periods, not individual events")
        if throttle and r.kind == "once":
            self.error("`at most once per` has no effect on a `once` rule", mods["throttle"].span,
                       hint="use `per` to count one event per period")
        return CheckedRule(score, r.label, r.kind, points, repeat, cond, where, cap, half_life,
                           lifespan, throttle, r.span)

    def _decay(self, d: ast.DecayDecl) -> CheckedDecay:
        every = self._days(d.every, "decay period")
        where = self._filter(d.filter, Ctx("rule", "a decay filter"))
        if d.percent is not None:
            if not 0 < d.percent <= 100:
                self.error(f"decay percentage must be above 0% and at most 100%, not {d.percent:g}%",
                           d.amount_span)
            return CheckedDecay(None, d.percent / 100.0, every, where)
        points = self._number(d.amount, "decay")
        if points >= 0:
            self.error(f"decay takes points away; write `-{abs(points):g}`" if points else
                       "decay of 0 points has no effect", d.amount_span,
                       hint="decay -10 every 30d without event")
        return CheckedDecay(abs(points), None, every, where)

    def _total(self, items):
        decl = self._only(items, ast.TotalDecl, "`total` is defined twice")
        total = None
        if decl is not None:
            e, t = self.resolve(decl.value, Ctx("total", "the total"))
            if t not in (ir.NUMBER, ERR):
                self.error(f"the total must be a number, not {TYPE_WORDS.get(t, t)}",
                           decl.value.span)
            total = e
        c = self._only(items, ast.ClampDecl, "`clamp total` is given twice")
        clamp = None
        if c is not None:
            lo, hi = self._number(c.low, "clamp bound"), self._number(c.high, "clamp bound")
            if lo > hi:
                self.error(f"clamp range {c.low.text}..{c.high.text} is empty", c.span,
                           hint="write the lower bound first")
            clamp = (lo, hi)
        return total, clamp

    def _segments(self, items) -> list[tuple[str, ir.Expr]]:
        out: list[tuple[str, ir.Expr]] = []
        seen: dict[str, Span] = {}  # a list scan per segment was quadratic: 20 000 took 60 s
        for s in items:
            if not isinstance(s, ast.SegmentDecl):
                continue
            name = s.name.text
            cond = self._cond(s.condition, Ctx("post", "a segment condition"))
            if name == "default":
                self.error("`default` is the segment of leads no segment matches; "
                           "choose another name", s.name.span)
            elif name in seen:
                self.error(f"segment `{name}` is declared twice", s.name.span,
                           hint="combine the conditions with `or`",
                           related=[(seen[name], "the first declaration")])
            else:
                seen[name] = s.name.span
                out.append((name, cond))
        return out

    def _tiers(self, items, segments: list[str]) -> dict[str, list[CheckedTier]]:
        out: dict[str, list[CheckedTier]] = {}
        first_specific: ast.TiersDecl | None = None
        for td in items:
            if not isinstance(td, ast.TiersDecl):
                continue
            seg = td.segment.text if td.segment else "default"
            if td.segment is not None:
                first_specific = first_specific or td
                if seg not in segments:
                    self.error(f"unknown segment `{seg}`", td.segment.span,
                               hint=self.suggest(seg, segments) or
                               "declare it with `segment NAME when CONDITION`")
            if seg in out:
                where = f"segment `{seg}`" if td.segment else "the default segment"
                self.error(f"tiers for {where} are declared twice", td.span)
                continue
            out[seg] = self._tier_entries(td)
        if first_specific is not None and "default" not in out:
            self.error("tiers for a segment need a default `tiers { ... }` block too",
                       first_specific.span,
                       hint="leads in no segment (segment `default`) use the default tiers")
        return out

    def _tier_entries(self, td: ast.TiersDecl, gate_ctx: Ctx | None = None) -> list[CheckedTier]:
        gate_ctx = gate_ctx or Ctx("post", "a tier gate")
        tiers: list[CheckedTier] = []
        if not td.entries:
            self.error("a tiers block needs at least one tier", td.span)
        names: set[str] = set()
        prev: tuple[float, ast.TierEntry] | None = None
        for i, e in enumerate(td.entries):
            name = e.name.text
            if name in RESERVED_TIERS:
                self.error(f"`{name}` is the tier of disqualified leads; choose another name",
                           e.name.span)
            if name in names:
                self.error(f"tier `{name}` is listed twice", e.name.span)
            names.add(name)
            gates = [self._cond(g, gate_ctx) for g in e.requires]
            thr = None
            if i == 0:
                if e.threshold is not None:
                    self.error(f"the lowest tier `{name}` takes every lead below the next tier; "
                               "it has no threshold", e.threshold.span,
                               hint=f"write `{name}` alone as the first tier")
                if e.requires:
                    self.error(f"the lowest tier `{name}` cannot have a gate", e.requires[0].span)
                if e.sticky is not None:
                    self.error(f"the lowest tier `{name}` cannot be sticky: every lead is at "
                               "least at it", e.sticky)
            else:
                if e.threshold is None:
                    self.error(f"tier `{name}` needs a threshold", e.name.span,
                               hint=f"write `{name} at POINTS`; only the lowest tier has none")
                else:
                    thr = self._number(e.threshold, "threshold")
                    if prev is not None and thr <= prev[0]:
                        self.error(f"tier thresholds must increase: `{name} at "
                                   f"{e.threshold.text}` comes after `{prev[1].name.text} at "
                                   f"{prev[1].threshold.text}`", e.threshold.span,
                                   hint="list tiers from lowest to highest")
                    prev = (thr, e)
            tiers.append(CheckedTier(name, thr, gates, [g.span for g in e.requires], e.span,
                                     sticky=e.sticky is not None))
        return tiers

    def _grade(self, items):
        g = self._only(items, ast.GradeDecl, "a model has one `grade` block")
        if g is None:
            return None
        if g.score.text not in self.scores:
            self.error(f"unknown score `{g.score.text}`", g.score.span,
                       hint=self.suggest(g.score.text, list(self.scores)))
        letters: list[tuple[str, float | None]] = []
        prev: float | None = None
        for i, e in enumerate(g.entries):
            last = i == len(g.entries) - 1
            if last:
                if e.threshold is not None:
                    self.error(f"the last grade `{e.name.text}` takes every lower score; it has no "
                               "threshold", e.threshold.span)
                letters.append((e.name.text, None))
                continue
            if e.threshold is None:
                self.error(f"grade `{e.name.text}` needs a threshold", e.name.span,
                           hint="grades go from the highest (`A at 40`) down to one without a threshold")
                continue
            thr = self._number(e.threshold, "threshold")
            if prev is not None and thr >= prev:
                self.error("grade thresholds must decrease from the first letter to the last",
                           e.threshold.span)
            prev = thr
            letters.append((e.name.text, thr))
        if len({n for n, _ in letters}) != len(letters):
            self.error("grade letters must be distinct", g.span)
        return g.score.text, letters

    def _account(self, items) -> CheckedAccount | None:
        a = self._only(items, ast.AccountDecl, "a model has one `account` block")
        if a is None:
            return None
        fname = a.field.text
        if fname not in self.lead_fields:
            self.error(f"unknown lead field `{fname}`", a.field.span,
                       hint=self.suggest(fname, list(self.lead_fields)))
        elif self.lead_fields[fname][0] != ir.TEXT:
            self.error(f"accounts group leads by a text field; `{fname}` is not text", a.field.span)
        for extra in a.extra_scores:
            self.error("the account score is defined twice", extra.span)
        for extra in a.extra_tiers:
            self.error("the account tiers are declared twice", extra.span)
        if a.score is None:
            self.error("an account block needs `score = ...`, e.g. `score = sum(total)`", a.span)
            score = ir.num(0)
        else:
            e, t = self.resolve(a.score, Ctx("account_score", "the account score"))
            if t not in (ir.NUMBER, ERR):
                self.error(f"the account score must be a number, not {TYPE_WORDS.get(t, t)}",
                           a.score.span)
            score = e
        rules = []
        for r in a.rules:
            cond = self._cond(r.condition, Ctx("account_rule", "an account rule"))
            rules.append((r.label, self._number(r.points, "points"), cond, r.span))
        tiers = (self._tier_entries(a.tiers, Ctx("account_rule", "an account tier gate"))
                 if a.tiers is not None else [])
        for e in a.tiers.entries if a.tiers is not None else []:
            if e.sticky is not None:  # an account has no previous tier to hold
                self.error("account tiers cannot be sticky", e.sticky,
                           hint="stickiness is per lead: mark the lead tier sticky")
        return CheckedAccount(fname, score, rules, tiers)

    def _tests(self, items, score_names: list[str], has_grade: bool,
               tiers: dict[str, list[CheckedTier]], account: CheckedAccount | None) -> list[dict]:
        out = []
        seen: set[str] = set()
        columns = set(score_names) | {"total", "segment", "tier", "held_from", "disqualified_by"}
        if has_grade:
            columns.add("grade")
            if tiers:
                columns.add("matrix")
        sticky = any(t.sticky for ts in tiers.values() for t in ts)
        for t in items:
            if not isinstance(t, ast.TestDecl):
                continue
            if t.name in seen:
                self.error(f"two tests are named \"{t.name}\"", t.name_span)
            seen.add(t.name)
            for kind, where in t.duplicates:
                self.error(f"`{kind}` is given twice in a test", where)
            case: dict = {"name": t.name, "where": str(t.name_span), "line": t.span.line,
                          "as_of": None}
            if t.as_of is None:
                self.error("a test needs `as_of TIME`", t.name_span,
                           hint="e.g. `as_of 2026-03-01T00:00:00Z`")
            elif self._real_time(t.as_of.text, t.as_of.span):
                case["as_of"] = t.as_of.text
            case["leads"] = self._test_leads(t)
            if t.previous_tier is not None:
                self._test_previous_tier(t, case["leads"], sticky)
            keys = [lead[self.schema.lead_key] for lead in case["leads"]]
            case["events"] = self._test_events(t, keys)
            expects = []
            for x in t.expects:
                expect = self._test_expect(x, keys, columns, set(score_names), account)
                if expect is not None:
                    expects.append(expect)
            if not t.expects:
                self.error("a test needs at least one `expect`", t.name_span)
            case["expects"] = expects
            out.append(case)
        return out

    def _test_previous_tier(self, t: ast.TestDecl, leads: list[dict], sticky: bool) -> None:
        """`previous_tier NAME`: the test's lead read that tier from the history, as the
        leads column gives it in a run."""
        if not sticky:
            self.error("`previous_tier` needs a sticky tier in the model", t.previous_tier.span,
                       hint="mark a tier `sticky`, e.g. `mql at 100 sticky`")
        elif len(leads) > 1:
            self.error("`previous_tier` is for a test with one lead", t.previous_tier.span,
                       hint="write the tests of sticky tiers with one lead each")
        else:
            leads[0][ir.PREVIOUS_TIER] = t.previous_tier.text

    def _test_leads(self, t: ast.TestDecl) -> list[dict]:
        """The test's leads as records; the key defaults to `test` when there is one lead."""
        s = self.schema
        leads: list[dict] = []
        first_span: dict[str, Span] = {}
        for entry in t.leads or [ast.TestLead(fields=[], span=t.name_span)]:
            lead: dict = {}
            for f in entry.fields:
                name = f.name.text
                if name == s.lead_key:
                    lead[name] = str(f.value.value)
                    continue
                if name not in s.lead_fields:
                    self.error(f"unknown lead field `{name}`", f.name.span,
                               hint=self.suggest(name, [s.lead_key, *s.lead_fields]))
                    continue
                lead[name] = self._test_data(f.value, s.lead_fields[name])
            if s.lead_key not in lead:
                if len(t.leads) > 1:
                    self.error(f"a test with several leads gives each its key `{s.lead_key}`",
                               entry.span, hint=f'e.g. `lead {{ {s.lead_key}: "a1", ... }}`')
                lead[s.lead_key] = "test"
            key = lead[s.lead_key]
            if key in first_span:
                self.error(f"two leads of this test have the key \"{key}\"", entry.span,
                           hint=f"the first is at {first_span[key]}")
            first_span.setdefault(key, entry.span)
            leads.append(lead)
        return leads

    def _test_events(self, t: ast.TestDecl, keys: list[str]) -> list[dict]:
        """The test's events as records; with several leads, each names its lead by the
        event schema's lead column (`lead_id "a1"`)."""
        s = self.schema
        events = []
        for e in t.events:
            if not s.has_events:
                self.error("the schema declares no events", e.span)
                break
            self._real_time(e.time.text, e.time.span)
            typ = fold(e.type.text)
            if s.event_types and typ not in s.event_types:
                self.error(f"unknown event type `{e.type.text}`", e.type.span,
                           hint=self.suggest(typ, s.event_types))
            row = {s.event_lead: keys[0], s.event_time: e.time.text, s.event_type: e.type.text}
            whose = None
            for f in e.fields:
                if f.name.text == s.event_lead:
                    whose = f
                    if f.value.kind != "string" or f.value.value not in keys:
                        self.error(f"`{f.value.text}` is not the key of a lead of this test",
                                   f.value.span, hint="the test's leads: " + ", ".join(
                                       f'"{k}"' for k in keys))
                    else:
                        row[s.event_lead] = f.value.value
                    continue
                if f.name.text not in s.event_fields:
                    self.error(f"unknown event field `{f.name.text}`", f.name.span,
                               hint=self.suggest(f.name.text, [s.event_lead, *s.event_fields]))
                    continue
                row[f.name.text] = self._test_data(f.value, s.event_fields[f.name.text])
            if whose is None and len(keys) > 1:
                self.error("this test has several leads: say whose event this is", e.span,
                           hint=f'add `{s.event_lead} "{keys[0]}"` to the line')
            events.append(row)
        return events

    def _test_expect(self, x: ast.TestExpect, keys: list[str], columns: set[str],
                     scores: set[str], account: CheckedAccount | None) -> dict | None:
        """One expectation: on the test's lead, a lead named by key, or an account."""
        col = x.name.text
        where: dict = {}
        if x.of == "account":
            if account is None:
                self.error("the model has no `account` block", x.span)
                return None
            columns = {"score", "total"} | ({"tier"} if account.tiers else set())
            numeric = col in ("score", "total")
            where["account"] = x.key.value
            what = "an account column"
        else:
            numeric = col in scores or col == "total"
            what = "an output column"
            if x.of == "lead":
                if x.key.value not in keys:
                    self.error(f"\"{x.key.value}\" is not the key of a lead of this test",
                               x.key.span, hint="the test's leads: " + ", ".join(
                                   f'"{k}"' for k in keys))
                    return None
                where["lead"] = x.key.value
            elif len(keys) > 1:
                self.error("this test has several leads: say which one is expected", x.span,
                           hint=f'e.g. `expect lead "{keys[0]}" {col} ...`')
                return None
        if col not in columns:
            self.error(f"`{col}` is not {what}", x.name.span,
                       hint="expect one of: " + ", ".join(sorted(columns)))
            return None
        v = x.value
        if numeric and v.kind not in ("number", "missing"):
            self.error(f"`{col}` is a number; expected a number, not `{v.text}`", v.span)
            return None
        if not numeric and v.kind == "number":
            self.error(f"`{col}` is text; write its value as a name or a string", v.span)
            return None
        if not numeric and x.op not in ("==", "!="):
            self.error(f"`{col}` is text: compare it with == or !=", x.span)
            return None
        value = v.value if v.kind != "missing" else None
        return {"column": col, "op": x.op, "value": value, "text": v.text,
                "where": str(x.span), **where}

    def _real_time(self, text: str, span: Span) -> bool:
        """Whether a test's timestamp names a real instant (the grammar only fixes its shape:
        2026-02-30 has one); if not, a located error."""
        try:
            datetime.fromisoformat(text.strip())
            return True
        except ValueError:
            try:  # what else the loaders take: a bare date (runtime/data.py parse_timestamp)
                date.fromisoformat(text.strip())
                return True
            except ValueError:
                self.error(f"`{text}` is not a real date and time", span,
                           hint="check the day of the month and the hours (00 to 23)")
                return False

    def _test_data(self, v: ast.TestValue, type_: str):
        """A test's literal as the loader would read it from a file."""
        if v.kind == "missing":
            return None
        if v.kind == "number" and type_ in ("int", "float"):
            return v.value
        if v.kind == "bool" and type_ == "bool":
            return v.value
        if v.kind in ("timestamp", "string") and type_ == "timestamp":
            text = v.text if v.kind == "timestamp" else v.value
            return text if self._real_time(text, v.span) else None
        if v.kind == "string" and type_ == "text":
            return v.value
        self.error(f"`{v.text}` does not fit a {type_} field", v.span)
        return None

    # ---------------------------------------------------------------- declarations
