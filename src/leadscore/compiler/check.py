"""Names, types and rules of the language: syntax tree -> checked declarations.

The checker resolves every name (lead fields, event fields, lets, scores),
types every expression and turns it into IR expressions (`ir.E`). It reports
every error it finds, each with its span, before giving up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from . import ast, ir
from .diagnostics import Diagnostic, Span, did_you_mean
from .parse import MAX_NESTING
from .regex import RegexError, compile_portable
from .text import fold

FILTER = "filter"  # type of an event filter; its IR is the per-event predicate
ERR = "error"  # type of an expression that already failed; suppresses follow-on errors

def _source_offset(raw: str, offset: int) -> int:
    """Column offset, within a string literal as written, of character `offset` of its value."""
    i, produced = 1, 0  # skip the opening quote
    while i < len(raw) - 1 and produced < offset:
        i += 2 if raw[i] == "\\" and raw[i + 1] in '"\\ntr' else 1
        produced += 1
    return i


FIELD_TYPES = {"text": ir.TEXT, "int": ir.NUMBER, "float": ir.NUMBER, "bool": ir.BOOL,
               "timestamp": ir.TIMESTAMP}
US_PER_DAY = 86_400_000_000
MAX_DAYS = 100_000
MAX_POINTS = 1e12
RESERVED_TIERS = {"disqualified"}
MAX_SIZE = 300_000  # parts of a model with its lets written out (20 000 rules: ~120 000)
TYPE_WORDS = {ir.NUMBER: "a number", ir.TEXT: "text", ir.BOOL: "a condition",
              ir.TIMESTAMP: "a timestamp", FILTER: "an event filter"}


@dataclass
class Ctx:
    """Where an expression appears, which decides the names it may use."""

    kind: str  # rule | post | total | event | any
    what: str  # for messages: "a rule condition", "a tier gate", ...

    @property
    def scores(self) -> bool:
        return self.kind in ("post", "total", "any", "member")

    @property
    def events(self) -> bool:
        # account roll-ups see each lead's fields and scores, not its events: count events in
        # a score and roll that score up
        return self.kind in ("rule", "post", "any")

    @property
    def account(self) -> bool:
        return self.kind in ("account_score", "account_rule")


@dataclass
class CheckedRule:
    score: str
    label: str
    kind: str
    points: float
    repeat: float | None
    condition: ir.E | None
    where: ir.E | None
    cap: float | None
    half_life: int | None
    lifespan: int | None
    throttle: int | None
    line: int
    span: Span


@dataclass
class CheckedDecay:
    points: float | None
    percent: float | None
    every: int
    where: ir.E


@dataclass
class CheckedScore:
    name: str
    cap: float | None
    floor: float | None
    rules: list[CheckedRule]
    decays: list[CheckedDecay]


@dataclass
class CheckedTier:
    name: str
    threshold: float | None
    gates: list[ir.E]
    gate_spans: list[Span] = field(default_factory=list)


@dataclass
class CheckedAccount:
    field: str
    score: ir.E  # over account aggregates (ids m0, m1, ...)
    rules: list[tuple[str, float, ir.E, int]]  # label, points, condition, line
    tiers: list[CheckedTier]
    aggregates: list[ir.Aggregate]  # member-level where/value over lead fields and bindings


@dataclass
class Checked:
    name: str
    version: int | None
    schema: ir.Schema
    aggregates: list[ir.Aggregate]
    scores: list[CheckedScore]
    total: ir.E | None
    clamp: tuple[float, float] | None
    disqualify: list[tuple[str, ir.E]]
    segments: list[tuple[str, ir.E]]
    tiers: dict[str, list[CheckedTier]]
    grade: tuple[str, list[tuple[str, float | None]]] | None
    regexes: dict[str, str]  # pattern -> where it is first used
    tests: list[dict] = field(default_factory=list)
    account: CheckedAccount | None = None


@dataclass
class _Let:
    decl: ast.LetDecl
    broken: bool = False
    checked: bool = False


class Checker:
    def __init__(self, module: ast.Module):
        self.module = module
        self.diagnostics: list[Diagnostic] = []
        self.lets: dict[str, _Let] = {}
        self.scores: dict[str, ast.ScoreDecl] = {}
        self.aggregates: dict[tuple, ir.Aggregate] = {}
        self.regexes: dict[str, str] = {}
        self.lead_fields: dict[str, tuple[str, ast.FieldDecl | None]] = {}
        self.event_fields: dict[str, tuple[str, ast.FieldDecl | None]] = {}
        self.schema: ir.Schema | None = None
        # names whose declaration failed: their uses are not reported again
        self.broken_names: set[str] = set()
        self.member_aggs: dict[tuple, ir.Aggregate] = {}
        self.events_broken = False
        self.has_total = False

    # ---------------------------------------------------------------- reporting
    def error(self, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(message, span, hint=hint))

    # ---------------------------------------------------------------- entry point
    def check(self) -> Checked | None:
        items = self.module.items
        model = self._model(items)
        self._schema(items)
        if self.schema is None:
            return None
        self._collect_names(items)
        if not self._within_limits(items):
            return None  # checking would recurse past the limit
        for let in self.lets.values():
            self._check_let(let)
        scores = [self._score(s) for s in items if isinstance(s, ast.ScoreDecl)]
        total, clamp = self._total(items)
        disqualify = [(d.reason, self._cond(d.condition, Ctx("post", "a disqualify condition")))
                      for d in items if isinstance(d, ast.DisqualifyDecl)]
        segments = self._segments(items)
        tiers = self._tiers(items, [s for s, _ in segments])
        grade = self._grade(items)
        account = self._account(items)
        tests = self._tests(items, [s.name for s in scores], grade is not None)
        if any(d.severity == "error" for d in self.diagnostics):
            return None
        return Checked(
            name=model.name if model else "model", version=model.version if model else None,
            schema=self.schema, aggregates=list(self.aggregates.values()), scores=scores,
            total=total, clamp=clamp, disqualify=disqualify, segments=segments, tiers=tiers,
            grade=grade, regexes=self.regexes, tests=tests, account=account)

    # ---------------------------------------------------------------- accounts
    def _account(self, items) -> CheckedAccount | None:
        decls = [i for i in items if isinstance(i, ast.AccountDecl)]
        for extra in decls[1:]:
            self.error("a model has one `account` block", extra.span)
        if not decls:
            return None
        a = decls[0]
        fname = a.field.text
        if fname not in self.lead_fields:
            self.error(f"unknown lead field `{fname}`", a.field.span,
                       hint=did_you_mean(fname, list(self.lead_fields)))
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
            rules.append((r.label, self._number(r.points, "points"), cond, r.span.line))
        tiers = (self._tier_entries(a.tiers, Ctx("account_rule", "an account tier gate"))
                 if a.tiers is not None else [])
        return CheckedAccount(fname, score, rules, tiers, list(self.member_aggs.values()))

    def _member_agg(self, fn: str, where: ir.E, value: ir.E | None) -> ir.E:
        key = (fn, where, value)
        agg = self.member_aggs.get(key)
        if agg is None:
            agg = ir.Aggregate(f"m{len(self.member_aggs)}", fn, where, value)
            self.member_aggs[key] = agg
        return ir.E("agg", (agg.id,), ir.NUMBER)

    # ---------------------------------------------------------------- tests
    def _tests(self, items, score_names: list[str], has_grade: bool) -> list[dict]:
        out = []
        seen: set[str] = set()
        s = self.schema
        columns = set(score_names) | {"total", "segment", "tier", "held_from", "disqualified_by"}
        if has_grade:
            columns.add("grade")
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
            else:
                case["as_of"] = t.as_of.text
            lead: dict = {}
            for f in t.lead or []:
                name = f.name.text
                if name == s.lead_key:
                    lead[name] = str(f.value.value)
                    continue
                if name not in s.lead_fields:
                    self.error(f"unknown lead field `{name}`", f.name.span,
                               hint=did_you_mean(name, [s.lead_key, *s.lead_fields]))
                    continue
                lead[name] = self._test_data(f.value, s.lead_fields[name])
            lead.setdefault(s.lead_key, "test")
            case["lead"] = lead
            events = []
            for e in t.events:
                if not s.has_events:
                    self.error("the schema declares no events", e.span)
                    break
                typ = fold(e.type.text)
                if s.event_types and typ not in s.event_types:
                    self.error(f"unknown event type `{e.type.text}`", e.type.span,
                               hint=did_you_mean(typ, s.event_types))
                row = {s.event_lead: lead[s.lead_key], s.event_time: e.time.text,
                       s.event_type: e.type.text}
                for f in e.fields:
                    if f.name.text not in s.event_fields:
                        self.error(f"unknown event field `{f.name.text}`", f.name.span,
                                   hint=did_you_mean(f.name.text, list(s.event_fields)))
                        continue
                    row[f.name.text] = self._test_data(f.value, s.event_fields[f.name.text])
                events.append(row)
            case["events"] = events
            expects = []
            for x in t.expects:
                col = x.name.text
                if col not in columns:
                    self.error(f"`{col}` is not an output column", x.name.span,
                               hint="expect one of: " + ", ".join(sorted(columns)))
                    continue
                numeric = col in score_names or col == "total"
                v = x.value
                if numeric and v.kind not in ("number", "missing"):
                    self.error(f"`{col}` is a number; expected a number, not `{v.text}`", v.span)
                    continue
                if not numeric and v.kind == "number":
                    self.error(f"`{col}` is text; write its value as a name or a string", v.span)
                    continue
                if not numeric and x.op not in ("==", "!="):
                    self.error(f"`{col}` is text: compare it with == or !=", x.span)
                    continue
                value = v.value if v.kind != "missing" else None
                expects.append({"column": col, "op": x.op, "value": value, "text": v.text,
                                "where": str(x.span)})
            if not t.expects:
                self.error("a test needs at least one `expect`", t.name_span)
            case["expects"] = expects
            out.append(case)
        return out

    def _test_data(self, v: ast.TestValue, type_: str):
        """A test's literal as the loader would read it from a file."""
        if v.kind == "missing":
            return None
        if v.kind == "number" and type_ in ("int", "float"):
            return v.value
        if v.kind == "bool" and type_ == "bool":
            return v.value
        if v.kind in ("timestamp", "string") and type_ == "timestamp":
            return v.text if v.kind == "timestamp" else v.value
        if v.kind == "string" and type_ == "text":
            return v.value
        self.error(f"`{v.text}` does not fit a {type_} field", v.span)
        return None

    # ---------------------------------------------------------------- declarations
    def _model(self, items) -> ast.ModelDecl | None:
        models = [i for i in items if isinstance(i, ast.ModelDecl)]
        for extra in models[1:]:
            self.error("a file declares its model only once", extra.span)
        return models[0] if models else None

    def _field_type(self, fd: ast.FieldDecl) -> str | None:
        t = fd.type.text
        if t not in FIELD_TYPES:
            self.error(f"unknown field type `{t}`", fd.type.span,
                       hint="field types are " + ", ".join(FIELD_TYPES))
            return None
        return t

    def _schema(self, items) -> None:
        schemas = [i for i in items if isinstance(i, ast.SchemaDecl)]
        if not schemas:
            first = items[0].span if items else self.module.span
            self.error("the model has no `schema` block", Span(first.path, first.line,
                       first.column, first.line, first.column + 1),
                       hint="declare `schema { lead { key id ... } }`")
            return
        for extra in schemas[1:]:
            self.error("a model has one `schema` block", extra.span)
        sd = schemas[0]
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
                self.error(f"field `{fd.name.text}` is declared twice", fd.name.span)
                continue
            if fd.name.text == lead.key.text:
                self.error(f"`{fd.name.text}` is the lead key; it cannot also be a field",
                           fd.name.span)
                continue
            seen[fd.name.text] = fd.span
            if t:
                lead_types[fd.name.text] = t
                self.lead_fields[fd.name.text] = (FIELD_TYPES[t], fd)
        created = lead.created.text if lead.created else None
        if created is not None:
            if created in lead_types and lead_types[created] != "timestamp":
                self.error(f"`created` column `{created}` must be a timestamp field",
                           lead.created.span)
            lead_types.setdefault(created, "timestamp")
            self.lead_fields.setdefault(created, (ir.TIMESTAMP, None))
        self.schema = ir.Schema(lead_key=lead.key.text, lead_created=created,
                                lead_fields=lead_types, lead_table=lead.table)
        origins = self.schema.origins
        origins[f"lead:{lead.key.text}"] = str(lead.key.span)
        if lead.created is not None:
            origins[f"lead:{created}"] = str(lead.created.span)
        for fd in lead.fields:
            origins.setdefault(f"lead:{fd.name.text}", str(fd.span))
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
            s.origins[f"event:{part.text}"] = str(part.span)
        for fd in ev.fields:
            s.origins.setdefault(f"event:{fd.name.text}", str(fd.span))

    def _collect_names(self, items) -> None:
        taken: dict[str, str] = {name: "a lead field" for name in self.lead_fields}
        taken[self.schema.lead_key] = "the lead key"
        for column in ("total", "segment", "tier", "held_from", "disqualified_by", "grade"):
            taken[column] = f"the output column `{column}`"
        for item in items:
            if isinstance(item, ast.LetDecl):
                name = item.name.text
                if name in taken:
                    self.error(f"`{name}` is already {taken[name]}", item.name.span)
                    continue
                taken[name] = "a let"
                self.lets[name] = _Let(item)
            elif isinstance(item, ast.ScoreDecl):
                name = item.name.text
                if name in taken:
                    self.error(f"score `{name}` clashes with {taken[name]} of that name",
                               item.name.span)
                    continue
                taken[name] = "a score"
                self.scores[name] = item

    # ---------------------------------------------------------------- limits
    def _within_limits(self, items) -> bool:
        """Report let cycles, and expressions too deep or too large once their lets are
        written out; False when a limit is passed (checking would recurse past it).

        Measured without recursion, before anything walks the expressions recursively: a
        chain of lets nests as deep as the expression it stands for, and a let used twice in
        each of a chain of lets doubles the expression at every step.
        """
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

    def _check_let(self, let: _Let) -> None:
        if let.checked:
            return
        let.checked = True
        before = len(self.diagnostics)
        self.resolve(let.decl.value, Ctx("any", "a let"))
        if len(self.diagnostics) > before:
            let.broken = True

    # ---------------------------------------------------------------- scores and rules
    def _number(self, s: ast.Signed, what: str) -> float:
        if not math.isfinite(s.value) or abs(s.value) > MAX_POINTS:
            self.error(f"{what} `{s.text}` is out of range (at most {MAX_POINTS:g})", s.span)
            return 0.0
        return s.value

    def _days(self, d: ast.Duration, what: str) -> int:
        if d.unit != "d":
            factor = {"w": 7, "wk": 7, "week": 7, "weeks": 7, "day": 1, "days": 1}.get(d.unit)
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
        if cap is not None and floor is not None and floor > cap:
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
                           lifespan, throttle, r.span.line, r.span)

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
        totals = [i for i in items if isinstance(i, ast.TotalDecl)]
        for extra in totals[1:]:
            self.error("`total` is defined twice", extra.span)
        total = None
        if totals:
            e, t = self.resolve(totals[0].value, Ctx("total", "the total"))
            if t not in (ir.NUMBER, ERR):
                self.error(f"the total must be a number, not {TYPE_WORDS.get(t, t)}",
                           totals[0].value.span)
            total = e
        clamps = [i for i in items if isinstance(i, ast.ClampDecl)]
        for extra in clamps[1:]:
            self.error("`clamp total` is given twice", extra.span)
        clamp = None
        if clamps:
            c = clamps[0]
            lo, hi = self._number(c.low, "clamp bound"), self._number(c.high, "clamp bound")
            if lo > hi:
                self.error(f"clamp range {c.low.text}..{c.high.text} is empty", c.span,
                           hint="write the lower bound first")
            clamp = (lo, hi)
        return total, clamp

    def _segments(self, items) -> list[tuple[str, ir.E]]:
        out: list[tuple[str, ir.E]] = []
        for s in items:
            if not isinstance(s, ast.SegmentDecl):
                continue
            name = s.name.text
            cond = self._cond(s.condition, Ctx("post", "a segment condition"))
            if name == "default":
                self.error("`default` is the segment of leads no segment matches; "
                           "choose another name", s.name.span)
            elif any(n == name for n, _ in out):
                self.error(f"segment `{name}` is declared twice", s.name.span,
                           hint="combine the conditions with `or`")
            else:
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
                               hint=did_you_mean(seg, segments) or
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
            tiers.append(CheckedTier(name, thr, gates, [g.span for g in e.requires]))
        return tiers

    def _grade(self, items):
        grades = [g for g in items if isinstance(g, ast.GradeDecl)]
        for extra in grades[1:]:
            self.error("a model has one `grade` block", extra.span)
        if not grades:
            return None
        g = grades[0]
        if g.score.text not in self.scores:
            self.error(f"unknown score `{g.score.text}`", g.score.span,
                       hint=did_you_mean(g.score.text, list(self.scores)))
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

    # ---------------------------------------------------------------- expressions
    def _cond(self, node: ast.Expr, ctx: Ctx) -> ir.E:
        e, t = self.resolve(node, ctx)
        return self.as_cond(e, t, node.span, ctx)

    def as_cond(self, e: ir.E, t: str, span: Span, ctx: Ctx) -> ir.E:
        if t == ERR:
            return ir.FALSE
        if t == FILTER:
            if not ctx.events:
                self.error(f"an event filter cannot be used in {ctx.what}", span)
                return ir.FALSE
            return ir.cmp(">", self._agg("count", e), ir.num(0))
        if t != ir.BOOL:
            self.error(f"expected a condition, found {TYPE_WORDS.get(t, t)}", span,
                       hint="compare it, e.g. `employees >= 200`" if t == ir.NUMBER else None)
            return ir.FALSE
        if e.op in ("field", "ev_field"):  # a missing bool is false (two-valued logic)
            return ir.cmp("==", e, ir.TRUE)
        return e

    def _agg(self, fn: str, where: ir.E, value: ir.E | None = None) -> ir.E:
        key = (fn, where, value)
        agg = self.aggregates.get(key)
        if agg is None:
            agg = ir.Aggregate(f"a{len(self.aggregates)}", fn, where, value)
            self.aggregates[key] = agg
        return ir.E("agg", (agg.id,), ir.NUMBER)

    def _within(self, d: ast.Duration) -> ir.E:
        days = self._days(d, "window")
        return ir.cmp("<", ir.E("ev_age", (), ir.NUMBER), ir.num(days * US_PER_DAY))

    def _filter(self, node: ast.Expr, ctx: Ctx) -> ir.E:
        e, t = self.resolve(node, ctx)
        if t == ERR:
            return ir.FALSE
        if t != FILTER:
            self.error(f"expected an event filter such as `event page_view`, found "
                       f"{TYPE_WORDS.get(t, t)}", node.span)
            return ir.FALSE
        return e

    def _name_error(self, name: ast.Name, ctx: Ctx) -> tuple[ir.E, str]:
        text = name.text
        if ctx.kind == "event":
            if text in self.lead_fields:
                self.error(f"`{text}` is a lead field; an event filter can only use event fields",
                           name.span, hint="move the lead condition out of the `where`, "
                           "e.g. `when tech and exists(event ...)`")
                return ir.FALSE, ERR
            cands = list(self.event_fields)
        else:
            if text in self.event_fields:
                self.error(f"`{text}` is an event field; use it inside an event filter",
                           name.span, hint=f"e.g. `count(event where {text} ...)`")
                return ir.FALSE, ERR
            cands = list(self.lead_fields) + list(self.lets)
            if ctx.scores:
                cands += list(self.scores)
        if text == self.schema.lead_key:
            self.error(f"`{text}` is the lead key, which rules cannot use", name.span)
            return ir.FALSE, ERR
        if fold(text) in self.schema.event_types:
            self.error(f"unknown name `{text}`", name.span,
                       hint=f"`{text}` is an event type: write `event {text}`")
            return ir.FALSE, ERR
        if text in self.broken_names:
            return ir.FALSE, ERR  # its declaration already has an error
        self.error(f"unknown name `{text}`", name.span, hint=did_you_mean(text, cands))
        return ir.FALSE, ERR

    def resolve(self, node: ast.Expr, ctx: Ctx) -> tuple[ir.E, str]:
        """Type `node` in `ctx` and return (IR expression, type)."""
        method = getattr(self, "_r_" + type(node).__name__)
        return method(node, ctx)

    def _r_Number(self, n: ast.Number, ctx):
        if not math.isfinite(n.value) or abs(n.value) > MAX_POINTS:
            self.error(f"number `{n.value:g}` is out of range", n.span)
            return ir.num(0), ERR
        return ir.num(n.value), ir.NUMBER

    def _r_String(self, n: ast.String, ctx):
        return ir.const(fold(n.value), ir.TEXT), ir.TEXT

    def _r_Bool(self, n: ast.Bool, ctx):
        return ir.const(n.value, ir.BOOL), ir.BOOL

    def _r_NameRef(self, n: ast.NameRef, ctx: Ctx):
        e, t = self._name(n.name, ctx)
        if n.within is not None:
            if t == ERR:
                return e, t
            if t != FILTER:
                self.error(f"`within` applies to event filters; `{n.name.text}` is "
                           f"{TYPE_WORDS.get(t, t)}", n.within.span)
                return ir.FALSE, ERR
            return ir.and_(e, self._within(n.within)), FILTER
        return e, t

    def _name(self, name: ast.Name, ctx: Ctx) -> tuple[ir.E, str]:
        text = name.text
        if ctx.account:
            if text == "score" and ctx.kind == "account_rule":
                return ir.ref("account:score", ir.NUMBER), ir.NUMBER
            if text in self.lets:
                return self._let(name, ctx)
            self.error(f"`{text}` is a lead value; an account uses roll-ups of its leads",
                       name.span, hint=f"e.g. `max({text})`, `sum({text})` or "
                       f"`count(lead where {text} ...)`")
            return ir.FALSE, ERR
        if ctx.kind == "event":
            if text in self.event_fields:
                t, _ = self.event_fields[text]
                if t == "ev_type":
                    return ir.E("ev_type", (), ir.TEXT), ir.TEXT
                return ir.E("ev_field", (text,), t), t
        if text in self.lets:
            return self._let(name, ctx)
        if ctx.kind != "event" and ctx.kind != "total" and text in self.lead_fields:
            t, _ = self.lead_fields[text]
            return ir.E("field", (text,), t), t
        if ctx.kind == "any" and text in self.event_fields:
            t, _ = self.event_fields[text]
            if t == "ev_type":
                return ir.E("ev_type", (), ir.TEXT), ir.TEXT
            return ir.E("ev_field", (text,), t), t
        if text in self.scores:
            if not ctx.scores:
                self.error(f"score `{text}` cannot be used in {ctx.what}", name.span,
                           hint="scores can be used in `total`, segments, disqualify and tier gates")
                return ir.FALSE, ERR
            return ir.ref(f"score:{text}", ir.NUMBER), ir.NUMBER
        if text == "total" and ctx.kind in ("post", "any", "member"):
            return ir.ref("total", ir.NUMBER), ir.NUMBER
        if text == "total":
            self.error(f"`total` cannot be used in {ctx.what}", name.span)
            return ir.FALSE, ERR
        if ctx.kind == "total" and text in self.lead_fields:
            self.error("the total combines scores; lead fields belong in rules", name.span)
            return ir.FALSE, ERR
        return self._name_error(name, ctx)

    def _let(self, name: ast.Name, ctx: Ctx) -> tuple[ir.E, str]:
        text = name.text
        let = self.lets[text]  # cycles are reported (and their lets broken) up front
        self._check_let(let)
        if let.broken:
            return ir.FALSE, ERR
        saved = self.diagnostics
        self.diagnostics = []
        try:
            e, t = self.resolve(let.decl.value, ctx)
            inner = self.diagnostics
        finally:
            self.diagnostics = saved
        if inner:
            self.error(f"`{text}` cannot be used in {ctx.what}: {inner[0].message}", name.span,
                       hint=f"`{text}` is defined at {let.decl.span}")
            return ir.FALSE, ERR
        return e, t

    def _r_Neg(self, n: ast.Neg, ctx):
        e, t = self.resolve(n.operand, ctx)
        if t == ERR:
            return e, t
        if t != ir.NUMBER:
            self.error(f"`-` needs a number, not {TYPE_WORDS.get(t, t)}", n.operand.span)
            return ir.FALSE, ERR
        if e.op == "const":
            return ir.num(-e.args[0]), ir.NUMBER
        return ir.call("neg", e), ir.NUMBER

    def _r_Not(self, n: ast.Not, ctx):
        e, t = self.resolve(n.operand, ctx)
        return ir.not_(self.as_cond(e, t, n.operand.span, ctx)), ir.BOOL

    def _r_BoolOp(self, n: ast.BoolOp, ctx):
        items = []
        for item in n.items:
            e, t = self.resolve(item, ctx)
            items.append(self.as_cond(e, t, item.span, ctx))
        return (ir.E(n.op, tuple(items), ir.BOOL)), ir.BOOL

    def _r_BinOp(self, n: ast.BinOp, ctx):
        le, lt = self.resolve(n.left, ctx)
        re_, rt = self.resolve(n.right, ctx)
        if ERR in (lt, rt):
            return ir.FALSE, ERR
        for side, t in ((n.left, lt), (n.right, rt)):
            if t != ir.NUMBER:
                self.error(f"`{n.op}` needs numbers, but this is {TYPE_WORDS.get(t, t)}", side.span)
                return ir.FALSE, ERR
        op = {"+": "add", "-": "sub", "*": "mul", "/": "div"}[n.op]
        return ir.call(op, le, re_), ir.NUMBER

    def _r_Compare(self, n: ast.Compare, ctx):
        le, lt = self.resolve(n.left, ctx)
        re_, rt = self.resolve(n.right, ctx)
        if ERR in (lt, rt):
            return ir.FALSE, ERR
        if FILTER in (lt, rt):
            side = n.left if lt == FILTER else n.right
            self.error("an event filter cannot be compared; count it first", side.span,
                       hint="e.g. `count(event page_view) >= 3`")
            return ir.FALSE, ERR
        if lt != rt:
            self.error(f"cannot compare {TYPE_WORDS.get(lt, lt)} with {TYPE_WORDS.get(rt, rt)}",
                       n.span, hint=self._type_hint(n.left, lt, n.right, rt))
            return ir.FALSE, ERR
        if lt == ir.TIMESTAMP:
            self.error("timestamps cannot be compared directly", n.span,
                       hint="compare days instead, e.g. `days_since(created_at) > 30`")
            return ir.FALSE, ERR
        if lt in (ir.TEXT, ir.BOOL) and n.op not in ("==", "!="):
            self.error(f"{TYPE_WORDS[lt]} can only be compared with == and !=", n.span)
            return ir.FALSE, ERR
        return ir.cmp(n.op, le, re_), ir.BOOL

    def _type_hint(self, left, lt, right, rt) -> str | None:
        for node, t in ((left, lt), (right, rt)):
            if isinstance(node, ast.NameRef) and node.name.text in self.lead_fields:
                return f"`{node.name.text}` is {TYPE_WORDS.get(t, t)}"
        return None

    def _r_In(self, n: ast.In, ctx):
        ve, vt = self.resolve(n.value, ctx)
        if vt == ERR:
            return ir.FALSE, ERR
        if vt not in (ir.TEXT, ir.NUMBER, ir.BOOL):
            self.error(f"`in` needs text or a number, not {TYPE_WORDS.get(vt, vt)}", n.value.span)
            return ir.FALSE, ERR
        values = []
        for item in n.items:
            e, t = self.resolve(item, ctx)
            if t != vt:
                self.error(f"list item is {TYPE_WORDS.get(t, t)} but the value is "
                           f"{TYPE_WORDS.get(vt, vt)}", item.span)
                return ir.FALSE, ERR
            values.append(e.args[0])
        if not values:
            self.error("an empty list never matches", n.span)
            return ir.FALSE, ERR
        uniq = tuple(dict.fromkeys(values))
        e = ir.E("in", (ve, uniq), ir.BOOL)
        if n.negated:  # like `!=`, `not in` is false on a missing value
            return ir.and_(ir.not_(ir.E("is_null", (ve,), ir.BOOL)), ir.not_(e)), ir.BOOL
        return e, ir.BOOL

    def _r_StrTest(self, n: ast.StrTest, ctx):
        le, lt = self.resolve(n.left, ctx)
        re_, rt = self.resolve(n.right, ctx)
        if ERR in (lt, rt):
            return ir.FALSE, ERR
        for side, t in ((n.left, lt), (n.right, rt)):
            if t != ir.TEXT:
                self.error(f"`{n.op}` needs text, but this is {TYPE_WORDS.get(t, t)}", side.span)
                return ir.FALSE, ERR
        if re_.op == "const" and re_.args[0] == "":
            # every present text starts with, ends with and contains "": engines disagree
            # on empty needles (SUBSTR(v, -0) in SQLite), so decide it here
            return ir.not_(ir.E("is_null", (le,), ir.BOOL)), ir.BOOL
        return ir.E("str_test", (n.op, le, re_), ir.BOOL), ir.BOOL

    def _r_Matches(self, n: ast.Matches, ctx):
        ve, vt = self.resolve(n.value, ctx)
        if vt == ERR:
            return ir.FALSE, ERR
        if vt != ir.TEXT:
            self.error(f"`matches` needs text, not {TYPE_WORDS.get(vt, vt)}", n.value.span)
            return ir.FALSE, ERR
        try:
            rx = compile_portable(n.pattern.value)
        except RegexError as err:
            s = n.pattern.span
            col = s.column + _source_offset(n.pattern.raw, err.offset)
            self.error(f"invalid pattern: {err}", Span(s.path, s.line, col, s.line, col + 1),
                       hint=err.hint)
            return ir.FALSE, ERR
        self.regexes.setdefault(rx.source, str(n.pattern.span))
        return ir.E("regex", (ve, rx.source), ir.BOOL), ir.BOOL

    def _r_IsMissing(self, n: ast.IsMissing, ctx):
        e, t = self.resolve(n.value, ctx)
        if t == ERR:
            return ir.FALSE, ERR
        if t == FILTER:
            self.error("an event filter is never missing; use `exists(...)`", n.value.span)
            return ir.FALSE, ERR
        test = ir.E("is_null", (e,), ir.BOOL)
        return (ir.not_(test) if n.negated else test), ir.BOOL

    def _r_EventFilter(self, n: ast.EventFilter, ctx: Ctx):
        if not self.schema.has_events:
            if self.events_broken:
                return ir.FALSE, ERR  # the event schema's own error says why
            self.error("the schema declares no events", n.span,
                       hint="add `event { lead ..., time ..., type ... }` to the schema")
            return ir.FALSE, ERR
        if ctx.kind == "event":
            self.error("an event filter cannot be nested in another", n.span)
            return ir.FALSE, ERR
        if not ctx.events:
            self.error(f"events cannot be used in {ctx.what}", n.span)
            return ir.FALSE, ERR
        parts: list[ir.E] = []
        if n.types:
            wanted = []
            for t in n.types:
                low = fold(t.text)
                if self.schema.event_types and low not in self.schema.event_types:
                    self.error(f"unknown event type `{t.text}`", t.span,
                               hint=did_you_mean(low, self.schema.event_types) or
                               "the schema's `types` line lists the known types")
                wanted.append(low)
            parts.append(ir.E("in", (ir.E("ev_type", (), ir.TEXT), tuple(dict.fromkeys(wanted))),
                              ir.BOOL))
        if n.where is not None:
            e, t = self.resolve(n.where, Ctx("event", "an event filter"))
            parts.append(self.as_cond(e, t, n.where.span, Ctx("event", "an event filter")))
        if n.within is not None:
            parts.append(self._within(n.within))
        return ir.and_(*parts), FILTER

    def _rollup(self, n: ast.Aggregate, ctx: Ctx):
        word = "count(lead ...)" if n.kind == "count_leads" else f"{n.kind[5:]}(...)"
        if not ctx.account:
            self.error(f"`{word}` rolls leads up into an account; it belongs in an `account` block",
                       n.span)
            return ir.FALSE, ERR
        member = Ctx("member", "a roll-up of an account's leads")
        if n.kind == "count_leads":
            where = self._cond(n.filter, member) if n.filter is not None else ir.TRUE
            return self._member_agg("count", where, None), ir.NUMBER
        e, t = self.resolve(n.value, member)
        if t == ERR:
            return ir.FALSE, ERR
        if t != ir.NUMBER:
            self.error(f"`{word}` needs a number, not {TYPE_WORDS.get(t, t)}", n.value.span)
            return ir.FALSE, ERR
        fn = {"roll_sum": "sum", "roll_max": "max", "roll_min": "min", "roll_avg": "avg"}[n.kind]
        return self._member_agg(fn, ir.TRUE, e), ir.NUMBER

    def _r_Aggregate(self, n: ast.Aggregate, ctx: Ctx):
        if n.kind == "count_leads" or n.kind.startswith("roll_"):
            return self._rollup(n, ctx)
        if ctx.account:
            self.error("event aggregates of an account go inside a roll-up", n.span,
                       hint="e.g. `sum(count(event demo_request))`")
            return ir.FALSE, ERR
        if ctx.kind == "event":
            self.error("aggregates cannot be used inside an event filter", n.span)
            return ir.FALSE, ERR
        if n.kind == "days_since_field":
            e, t = self._name(n.field, ctx)
            if t == ERR:
                return e, t
            if t != ir.TIMESTAMP:
                self.error(f"`days_since` needs a timestamp field, not {TYPE_WORDS.get(t, t)}",
                           n.field.span)
                return ir.FALSE, ERR
            return ir.call("whole_days", ir.call("age_us", e)), ir.NUMBER
        if not ctx.events:
            self.error(f"events cannot be used in {ctx.what}", n.span)
            return ir.FALSE, ERR
        where = self._filter(n.filter, ctx)
        if n.kind == "count":
            return self._agg("count", where), ir.NUMBER
        if n.kind == "exists":
            return ir.cmp(">", self._agg("count", where), ir.num(0)), ir.BOOL
        if n.kind == "days_since_last":
            return ir.call("whole_days", self._agg("min", where, ir.E("ev_age", (), ir.NUMBER))), \
                ir.NUMBER
        # sum / count distinct over an event field
        fname = n.field.text
        if fname not in self.event_fields:
            self.error(f"unknown event field `{fname}`", n.field.span,
                       hint=did_you_mean(fname, list(self.event_fields)))
            return ir.FALSE, ERR
        e, t = self._name(n.field, Ctx("event", "an aggregate"))
        if n.kind == "sum":
            if t != ir.NUMBER:
                self.error(f"`sum` needs a number field; `{fname}` is {TYPE_WORDS.get(t, t)}",
                           n.field.span)
                return ir.FALSE, ERR
            return self._agg("sum", where, e), ir.NUMBER
        if t == ir.TIMESTAMP:
            self.error("`count distinct` of a timestamp is not supported", n.field.span)
            return ir.FALSE, ERR
        return self._agg("count_distinct", where, e), ir.NUMBER


@dataclass
class CheckResult:
    checked: Checked | None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def check(module: ast.Module) -> CheckResult:
    checker = Checker(module)
    checked = checker.check()
    diags = sorted(checker.diagnostics,
                   key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
    return CheckResult(checked, diags)


_DEPTH_HINT = "a let is written out where it is used: use fewer lets inside one another"
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
