"""IR -> a Python evaluator, generated as source and compiled once.

The generated function makes one pass over each lead's events, dispatching on
the event type, then evaluates the bindings as straight-line code. Text inputs
arrive lower-cased (runtime/inputs.py prepares every input), so comparisons are plain `==`.

The events arrive as one flat iterator of `(age_us, type, fields...)` tuples
grouped by lead in lead order, with `counts[i]` events for lead `i`; only events
with age >= 0 are passed. Grouping is done column-wise by the caller (a stable
sort), so the hot loop does no dictionary lookups and no age filtering.

Each IR node has one emitter, `x_<key>`; each aggregate is spelled from its fold's
templates (compiler/fold.py), as the stream and the account post-pass spell theirs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from itertools import islice

from ..compiler import ir
from ..compiler.fold import FOLDS
from ..compiler.regex import PortableRegex, searcher

_ARITH = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
# single-argument operations: null in, null out
_UNARY = {"neg": "(-{v})", "floor": "float(_floor({v}))",
          "whole_days": f"float({{v}} // {ir.US_PER_DAY})",
          "days": f"({{v}} / {float(ir.US_PER_DAY)!r})",
          "age_us": "(as_of_us - {v})"}
_STR_TESTS = {"starts_with": "{v}.startswith({n})", "ends_with": "{v}.endswith({n})",
              "contains": "({n} in {v})"}


@dataclass
class InputShape:
    """What every Python evaluator reads, in tuple order: a lead is `(key, *lead_fields)`,
    an event `(age_us, type, *event_fields)` (runtime/inputs.py prepares them)."""

    lead_fields: list[str]  # the lead fields the model uses, sorted
    event_fields: list[str]  # every event field, sorted (those not read may be passed as None)
    folded: frozenset[str]  # "lead:NAME"/"event:NAME" text fields compared by value (lower them)
    uses_type: bool  # whether the event type is read (else it may be passed as None)
    event_used: frozenset[str]  # event fields read

    @classmethod
    def of(cls, model: ir.Model) -> InputShape:
        lead_used, event_used, folded, uses_type = field_usage(model)
        return cls(lead_used, sorted(model.schema.event_fields), folded, uses_type,
                   frozenset(event_used))

    def lowers_lead(self, name: str) -> bool:
        return f"lead:{name}" in self.folded

    def members(self, schema: ir.Schema) -> InputShape:
        """The same with every lead field, text lower-cased: what an account's members read
        (their roll-ups and the account key may use any lead field)."""
        text = {f"lead:{n}" for n, t in schema.lead_fields.items() if t == "text"}
        return replace(self, lead_fields=sorted(schema.lead_fields), folded=self.folded | text)


@dataclass
class PythonEvaluator:
    """A compiled model: `fn(leads, counts, events, as_of_us)` -> output tuples in lead order.

    `leads` yields `(key, *lead_fields)`; `events` yields `(age_us, type, *event_fields,
    *derived)` for the leads in order, `counts[i]` of them for the i-th lead (`shape`).
    """

    source: str
    fn: Callable
    shape: InputShape
    # columns appended to each event tuple: (event field, test of its lower-cased value)
    derived: list[tuple[str, Callable[[str | None], bool]]]


def slots(a: ir.Aggregate) -> list[str]:
    """The local names of an aggregate's fold state; the first is also its result."""
    n = len(FOLDS[a.fn].init)
    return [a.id] + [f"{a.id}_{i}" for i in range(1, n)]


class _Gen:
    def __init__(self, model: ir.Model):
        self.m = model
        self.aggs = {a.id: a for a in model.aggregates}
        self.bindings = {b.name: b for b in model.bindings}
        self.consts: dict[str, object] = {}
        self.const_names: dict[object, str] = {}
        self.tmp = 0
        self.lead_fields = sorted(model.schema.lead_fields)
        self.event_fields = sorted(model.schema.event_fields)
        self.local = {f"f:{n}": f"f{i}" for i, n in enumerate(self.lead_fields)}
        self.local.update({f"e:{n}": f"e{i}" for i, n in enumerate(self.event_fields)})
        self.local.update({f"b:{b.name}": f"b{i}" for i, b in enumerate(model.bindings)})
        self.alias: dict[str, str] = {}  # binding -> the name it renames (lead evaluator only)
        self.used_lead_fields = self.lead_fields
        # Regex tests of one event field, evaluated by the caller once per distinct value and
        # passed as boolean columns `d0`, `d1`, ...: a page column repeats a few hundred values
        # over millions of events. (Not the cheap tests: starts_with in the loop costs less than
        # a column of results per test.)
        self.derive = False
        self.derived: dict[ir.Regex, int] = {}

    def const(self, value, kind: str) -> str:
        key = (kind, value)
        if key not in self.const_names:
            name = f"_{kind}{len(self.const_names)}"
            self.const_names[key] = name
            if kind == "re":
                self.consts[name] = searcher(value)
            else:
                self.consts[name] = frozenset(value)
        return self.const_names[key]

    def t(self) -> str:
        self.tmp += 1
        return f"_t{self.tmp}"

    def nullable(self, e: ir.Expr) -> bool:
        return ir.nullable(e, self.aggs, self.bindings)

    def is_int(self, e: ir.Expr) -> bool:
        """Whether `e` is a Python int at run time: an age or an event count."""
        if isinstance(e, ir.EvAge):
            return True
        if isinstance(e, ir.Ref):
            b = self.bindings.get(e.name)
            return b is not None and self.is_int(b.expr)
        return isinstance(e, ir.Agg) and e.id in self.aggs and FOLDS[self.aggs[e.id].fn].whole

    def guarded(self, e: ir.Expr, guards: list[str], test: str = "is not None") -> str:
        """`e` as code; when it can be null, a temporary bound in a test added to `guards`."""
        code = self.expr(e)
        if not self.nullable(e):
            return code
        tv = self.t()
        guards.append(f"({tv} := {code}) {test}")
        return tv

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.Expr) -> str:
        return getattr(self, "x_" + e.key)(e)

    def x_const(self, e: ir.Const) -> str:
        v = e.value
        return repr(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) else repr(v)

    def x_field(self, e: ir.Field) -> str:
        return self.local[f"f:{e.name}"]

    def x_ev_field(self, e: ir.EvField) -> str:
        return self.local[f"e:{e.name}"]

    def x_ev_type(self, e: ir.EvType) -> str:
        return "typ"

    def x_ev_age(self, e: ir.EvAge) -> str:
        return "age"

    def x_agg(self, e: ir.Agg) -> str:
        return e.id

    def x_local(self, e: ir.Local) -> str:
        return "_" + e.name  # assigned by `fade_step` before the weight is read

    def x_ref(self, e: ir.Ref) -> str:
        return self.alias.get(e.name) or self.local[f"b:{e.name}"]

    def x_arith(self, e: ir.Arith) -> str:
        sym = _ARITH[e.fn]
        guards: list[str] = []
        left = self.guarded(e.left, guards, "is None")
        if e.fn == "div" and not (isinstance(e.right, ir.Const) and e.right.value):
            tr = self.t()
            n = len(guards)
            right = self.guarded(e.right, guards, "is None")
            if len(guards) == n:  # a divisor that cannot be null is still bound, to test for 0
                guards.append(f"({tr} := {right}) == 0")
            else:
                tr = right
                guards.append(f"{tr} == 0")
            return f"(None if {' or '.join(guards)} else {left} / {tr})"
        right = self.guarded(e.right, guards, "is None")
        if not guards:
            return f"({left} {sym} {right})"
        return f"(None if {' or '.join(guards)} else {left} {sym} {right})"

    def unary(self, e: ir.Neg | ir.Floor | ir.WholeDays | ir.Days | ir.AgeUs) -> str:
        body = _UNARY[e.key]
        if self.nullable(e.value):
            tv = self.t()
            return f"(None if ({tv} := {self.expr(e.value)}) is None else {body.format(v=tv)})"
        return body.format(v=self.expr(e.value))

    x_neg = x_floor = x_whole_days = x_days = x_age_us = unary

    def x_extreme(self, e: ir.Extreme) -> str:
        # inline min()/max() (a call costs more than the test); same result: the first
        # argument unless the second is strictly smaller (larger)
        first, second = self.expr(e.left), self.expr(e.right)
        sym = "<" if e.fn == "min" else ">"
        first_v, second_v = first, second
        if not _literal(second):
            ts = self.t()
            second_v, second = f"({ts} := {second})", ts
        if not _literal(first):
            tf = self.t()
            first_v, first = f"({tf} := {first})", tf
        return f"({second} if {second_v} {sym} {first_v} else {first})"

    def x_pow(self, e: ir.Pow) -> str:
        base, exp_ = self.expr(e.base), self.expr(e.exponent)
        if self.nullable(e.base) or self.nullable(e.exponent):
            tb, te = self.t(), self.t()
            return (f"(None if ({tb} := {base}) is None or ({te} := {exp_}) is None "
                    f"else {tb} ** {te})")
        return f"({base} ** {exp_})"

    def x_coalesce(self, e: ir.Coalesce) -> str:
        tv = self.t()
        return f"({tv} if ({tv} := {self.expr(e.value)}) is not None else {self.expr(e.fallback)})"

    def x_cmp(self, e: ir.Cmp) -> str:
        left_e, right_e = e.left, e.right
        const = right_e.value if isinstance(right_e, ir.Const) else None
        if left_e.type == ir.BOOL and isinstance(right_e, ir.Const) and e.op == "==":
            return f"({self.expr(left_e)} is {self.expr(right_e)})"
        guards: list[str] = []
        if e.op == "==" and const is not None:  # None == value is already false
            left = self.expr(left_e)
        else:
            left = self.guarded(left_e, guards)
        if isinstance(const, float) and const.is_integer() and self.is_int(left_e):
            right = str(int(const))  # int against int compares faster, same result
        else:
            right = self.guarded(right_e, guards)
        if not guards:
            return f"({left} {e.op} {right})"
        return f"({' and '.join(guards)} and {left} {e.op} {right})"

    def x_and(self, e: ir.And) -> str:
        return "(" + " and ".join(self.expr(x) for x in e.items) + ")"

    def x_or(self, e: ir.Or) -> str:
        return "(" + " or ".join(self.expr(x) for x in e.items) + ")"

    def x_not(self, e: ir.Not) -> str:
        return f"(not {self.expr(e.value)})"

    def x_in(self, e: ir.In) -> str:
        return f"({self.expr(e.value)} in {self.const(e.items, 'set')})"

    def x_is_null(self, e: ir.IsNull) -> str:
        if isinstance(e.value, ir.Const):  # `0 is None` would be a SyntaxWarning printed to users
            return str(e.value.value is None)
        if not self.nullable(e.value):  # e.g. `(0.0 + 0.0) is None`: also a SyntaxWarning
            return "False"
        return f"({self.expr(e.value)} is None)"

    def x_str_test(self, e: ir.StrTest) -> str:
        guards: list[str] = []
        value = self.guarded(e.value, guards)
        needle = self.guarded(e.needle, guards)
        return "(" + " and ".join(guards + [_STR_TESTS[e.test].format(v=value, n=needle)]) + ")"

    def x_regex(self, e: ir.Regex) -> str:
        if self.derive and isinstance(e.value, ir.EvField):
            return f"d{self.derived.setdefault(e, len(self.derived))}"
        rx = self.const(e.pattern.re2, "re")
        guards: list[str] = []
        value = self.guarded(e.value, guards)
        return "(" + " and ".join(guards + [f"{rx}({value})"]) + ")"

    def x_case(self, e: ir.Case) -> str:
        # one flat chain, `(v1 if c1 else v2 if c2 else d)` (Python nests it to the right by
        # itself): a parenthesis per branch stopped the parser at 200 disqualify reasons
        branches = "".join(f"{self.expr(w.value)} if {self.expr(w.cond)} else " for w in e.whens)
        return f"({branches}{self.expr(e.default)})"

    # ------------------------------------------------------------ aggregates
    def split_type(self, where: ir.Expr) -> tuple[tuple[str, ...] | None, ir.Expr]:
        """(the event types `where` requires, the rest of it), or (None, where)."""
        flat = ir.conjuncts(where)
        types = [x for x in flat if isinstance(x, ir.In) and isinstance(x.value, ir.EvType)]
        if len(types) != 1:
            return None, where
        return tuple(types[0].items), ir.and_(*[x for x in flat if x is not types[0]])

    def fade_step(self, a: ir.Aggregate, state: list[str], indent: str) -> list[str]:
        """Statements folding the aggregate's per-event value at `age` into its `state`: a fade's
        weight reads the values it shares (ir.Fade.locals) from locals assigned first."""
        if a.fade is None:
            return self.step(a, state, a.event_value(), indent)
        local = [f"{indent}_{n} = {self.expr(v)}" for n, v in a.fade.locals().items()]
        return local + self.step(a, state, a.fade.weight(local=True), indent)

    def step(self, a: ir.Aggregate, state: list[str], value: ir.Expr | None,
             indent: str) -> list[str]:
        """Statements folding `value` into the aggregate's `state` (local names)."""
        f = FOLDS[a.fn]
        code = self.expr(value) if value is not None and f.reads_value else None
        nullable = code is not None and self.nullable(value)
        return [indent + line for line in f.step_lines(state, code, nullable)]

    def filtered(self, entries: list[tuple[ir.Expr, list[str]]], indent: str) -> list[str]:
        """Each (condition, statements) pair, the statements under an `if` unless always."""
        out = []
        for cond, body in entries:
            if cond == ir.TRUE:
                out += [indent + line for line in body]
            else:
                out.append(f"{indent}if {self.expr(cond)}:")
                out += [f"{indent}    {line}" for line in body]
        return out

    def dispatch(self, items: list[tuple[ir.Expr, list[str]]], indent: str) -> list[str]:
        """Statements per event filter, dispatched on the event type where it names one."""
        by_type: dict[str, list[tuple[ir.Expr, list[str]]]] = {}
        any_type: list[tuple[ir.Expr, list[str]]] = []
        for where, body in items:
            types, rest = self.split_type(where)
            for t in types or ():
                by_type.setdefault(t, []).append((rest, body))
            if types is None:
                any_type.append((rest, body))
        lines: list[str] = []
        for i, (t, entries) in enumerate(by_type.items()):
            lines.append(f"{indent}{'elif' if i else 'if'} typ == {t!r}:")
            lines += self.filtered(entries, indent + "    ")
        return lines + self.filtered(any_type, indent)

    def event_loop(self, indent: str) -> list[str]:
        self.derive = True
        items = [(a.event_filter(), self.fade_step(a, slots(a), "")) for a in self.m.aggregates]
        lines = self.dispatch(items, indent + "    ")
        self.derive = False
        unpack = ", ".join(["age", "typ"] + [f"e{i}" for i in range(len(self.event_fields))]
                           + [f"d{i}" for i in range(len(self.derived))])
        return [f"{indent}for {unpack} in _islice(events, n):"] + lines

    def derived_tests(self) -> list[tuple[str, Callable[[str | None], bool]]]:
        """(event field, test) for each derived column, in column order (d0, d1, ...)."""
        return [(e.value.name, _regex_test(e.pattern)) for e in self.derived]

    # ------------------------------------------------------------ function
    def source(self) -> str:
        used = [self.local[f"f:{n}"] for n in self.used_lead_fields]
        fields = "(" + ", ".join(["key"] + used) + ("," if not used else "") + ")"
        lines = [
            "def evaluate(leads, counts, events, as_of_us):",
            "    out = []",
            "    append = out.append",
        ]
        if self.m.aggregates:
            lines.append(f"    for {fields}, n in zip(leads, counts):")
        else:
            lines.append(f"    for {fields} in leads:")
        for a in self.m.aggregates:
            lines += ["        " + s for s in FOLDS[a.fn].init_lines(slots(a))]
        if self.m.aggregates:
            lines.append("        if n:")
            lines += self.event_loop("            ")
        lines += self.results(self.m.aggregates, "        ")
        lines += self.binding_lines("        ")
        lines.append(f"        append({self.output_tuple()})")
        lines.append("    return out")
        return "\n".join(lines) + "\n"

    @staticmethod
    def results(aggregates: list[ir.Aggregate], indent: str) -> list[str]:
        """Each aggregate's result from its fold state, where it is not the first slot."""
        out = []
        for a in aggregates:
            state = slots(a)
            result = FOLDS[a.fn].result_code(state)
            if result != state[0]:
                out.append(f"{indent}{a.id} = {result}")
        return out

    def binding_lines(self, indent: str) -> list[str]:
        """The bindings as assignments, given locals for the lead fields and aggregates."""
        if not self.alias:  # a binding that only renames an aggregate or binding is not assigned
            for b in self.m.bindings:
                if isinstance(b.expr, ir.Agg):
                    self.alias[b.name] = b.expr.id
                elif isinstance(b.expr, ir.Ref):
                    self.alias[b.name] = self.expr(b.expr)
        out_names = {name for _, name in self.m.outputs}
        lines = []
        for b in self.m.bindings:
            if b.name in self.alias and b.name not in out_names:
                continue
            lines.append(f"{indent}{self.local['b:' + b.name]} = {self.expr(b.expr)}")
        return lines

    def output_tuple(self) -> str:
        return "(" + ", ".join(["key"] + [self.local["b:" + name] for _, name in self.m.outputs]) + ")"


def _regex_test(pattern: PortableRegex) -> Callable[[str | None], bool]:
    search = searcher(pattern.re2)
    return lambda v: v is not None and search(v)


def _literal(code: str) -> bool:
    try:
        float(code)
    except ValueError:
        return False
    return True


def _with_parents(root: ir.Expr) -> Iterator[tuple[ir.Expr, str]]:
    """(node, its parent's key) for every node under `root`."""
    stack: list[tuple[ir.Expr, str]] = [(root, "")]
    while stack:
        e, parent = stack.pop()
        yield e, parent
        stack.extend((c, e.key) for c in e.children())


def field_usage(model: ir.Model, events_only: bool = False,
                ) -> tuple[list[str], list[str], frozenset[str], bool]:
    """(lead fields used, event fields used, text fields compared by value, type used).

    A text field that is only tested for presence need not be lower-cased. With
    `events_only`, only the aggregates are read (lead fields are then not reported).
    """
    roots = [c for a in model.aggregates for c in a.children()]
    if not events_only:
        roots += [b.expr for b in model.bindings]
    lead: set[str] = set()
    event: set[str] = set()
    folded: set[str] = set()
    uses_type = False
    s = model.schema
    for root in roots:
        for e, parent in _with_parents(root):
            if isinstance(e, ir.Field):
                lead.add(e.name)
                if s.lead_fields.get(e.name) == "text" and parent != "is_null":
                    folded.add("lead:" + e.name)
            elif isinstance(e, ir.EvField):
                event.add(e.name)
                if s.event_fields.get(e.name) == "text" and parent != "is_null":
                    folded.add("event:" + e.name)
            elif isinstance(e, ir.EvType):
                uses_type = True
    return (sorted(lead), sorted(event), frozenset(folded), uses_type)


def compile_python(model: ir.Model) -> PythonEvaluator:
    gen = _Gen(model)
    shape = InputShape.of(model)
    gen.used_lead_fields = shape.lead_fields
    src = gen.source()
    namespace: dict[str, object] = {"_floor": math.floor, "_islice": islice, **gen.consts}
    exec(compile(src, f"<leadscore:{model.name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return PythonEvaluator(src, namespace["evaluate"], shape, gen.derived_tests())
