"""IR -> a Python evaluator, generated as source and compiled once.

The generated function makes one pass over each lead's events, dispatching on
the event type, then evaluates the bindings as straight-line code. Text inputs
arrive lower-cased (see `runtime.engines.run_python`), so comparisons are plain `==`.

The events arrive as one flat iterator of `(age_us, type, fields...)` tuples
grouped by lead in lead order, with `counts[i]` events for lead `i`; only events
with age >= 0 are passed. Grouping is done column-wise by the caller (a stable
sort), so the hot loop does no dictionary lookups and no age filtering.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice

from ..compiler import ir
from ..compiler.regex import compile_portable

US_PER_DAY = 86_400_000_000


@dataclass
class PythonEvaluator:
    """A compiled model: `fn(leads, counts, events, as_of_us)` -> output tuples in lead order.

    `leads` yields `(key, *lead_fields)`; `events` yields `(age_us, type, *event_fields)`
    for the leads in order, `counts[i]` of them for the i-th lead.
    """

    source: str
    fn: Callable
    lead_fields: list[str]  # the fields after the key in each lead tuple (those the model uses)
    event_fields: list[str]  # the fields after (age_us, type) in each event tuple
    columns: list[str]  # output columns after the key
    folded: frozenset[str]  # "lead:NAME"/"event:NAME" text fields compared by value (lower them)
    uses_type: bool  # whether the event type is read (else it may be passed as None)
    event_used: frozenset[str]  # event fields read (the others may be passed as None)
    # columns appended to each event tuple: (event field, test of its lower-cased value)
    derived: list[tuple[str, Callable[[str | None], bool]]]


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
        self.derived: dict[tuple, int] = {}

    def const(self, value, kind: str) -> str:
        key = (kind, value)
        if key not in self.const_names:
            name = f"_{kind}{len(self.const_names)}"
            self.const_names[key] = name
            if kind == "re":
                self.consts[name] = re.compile(value)
            else:
                self.consts[name] = frozenset(value)
        return self.const_names[key]

    def t(self) -> str:
        self.tmp += 1
        return f"_t{self.tmp}"

    def nullable(self, e: ir.E) -> bool:
        return ir.nullable(e, self.aggs, self.bindings)

    def is_int(self, e: ir.E) -> bool:
        """Whether `e` is a Python int at run time: an age or an event count."""
        if e.op == "ev_age":
            return True
        if e.op == "ref":
            b = self.bindings.get(e.args[0])
            return b is not None and self.is_int(b.expr)
        return e.op == "agg" and e.args[0] in self.aggs and \
            self.aggs[e.args[0]].fn in ("count", "count_distinct")

    # ------------------------------------------------------------ expressions
    def expr(self, e: ir.E) -> str:
        op = e.op
        a = e.args
        if op == "const":
            v = a[0]
            return repr(float(v)) if isinstance(v, (int, float)) and not isinstance(v, bool) \
                else repr(v)
        if op == "field":
            return self.local[f"f:{a[0]}"]
        if op == "ev_field":
            return self.local[f"e:{a[0]}"]
        if op == "ev_type":
            return "typ"
        if op == "ev_age":
            return "age"
        if op == "agg":
            return a[0]
        if op == "ref":
            return self.alias.get(a[0]) or self.local[f"b:{a[0]}"]
        if op in ("add", "sub", "mul", "div"):
            sym = {"add": "+", "sub": "-", "mul": "*", "div": "/"}[op]
            left, right = self.expr(a[0]), self.expr(a[1])
            ln, rn = self.nullable(a[0]), self.nullable(a[1])
            if op == "div" and not (a[1].op == "const" and a[1].args[0]):
                tl, tr = self.t(), self.t()
                guard = [f"({tl} := {left}) is None"] if ln else []
                guard += [f"({tr} := {right}) is None"] if rn else []
                guard.append(f"{tr if rn else f'({tr} := {right})'} == 0")
                return f"(None if {' or '.join(guard)} else {tl if ln else left} / {tr})"
            if not (ln or rn):
                return f"({left} {sym} {right})"
            tl, tr = self.t(), self.t()
            guards = []
            if ln:
                guards.append(f"({tl} := {left}) is None")
            if rn:
                guards.append(f"({tr} := {right}) is None")
            return (f"(None if {' or '.join(guards)} else "
                    f"{tl if ln else left} {sym} {tr if rn else right})")
        if op == "neg":
            if self.nullable(a[0]):
                tv = self.t()
                return f"(None if ({tv} := {self.expr(a[0])}) is None else -{tv})"
            return f"(-{self.expr(a[0])})"
        if op in ("min", "max"):
            # inline min()/max() (a call costs more than the test); same result: the first
            # argument unless the second is strictly smaller (larger)
            first, second = self.expr(a[0]), self.expr(a[1])
            sym = "<" if op == "min" else ">"
            first_v, second_v = first, second
            if not _literal(second):
                ts = self.t()
                second_v, second = f"({ts} := {second})", ts
            if not _literal(first):
                tf = self.t()
                first_v, first = f"({tf} := {first})", tf
            return f"({second} if {second_v} {sym} {first_v} else {first})"
        if op in ("floor", "whole_days", "days", "age_us"):
            inner = self.expr(a[0])
            body = {"floor": "float(_floor({v}))",
                    "whole_days": f"float({{v}} // {US_PER_DAY})",
                    "days": f"({{v}} / {float(US_PER_DAY)!r})",
                    "age_us": "(as_of_us - {v})"}[op]
            if self.nullable(a[0]):
                tv = self.t()
                return f"(None if ({tv} := {inner}) is None else {body.format(v=tv)})"
            return body.format(v=inner)
        if op == "pow":
            base, exp = self.expr(a[0]), self.expr(a[1])
            if self.nullable(a[0]) or self.nullable(a[1]):
                tb, te = self.t(), self.t()
                return (f"(None if ({tb} := {base}) is None or ({te} := {exp}) is None "
                        f"else {tb} ** {te})")
            return f"({base} ** {exp})"
        if op == "coalesce":
            tv = self.t()
            return f"({tv} if ({tv} := {self.expr(a[0])}) is not None else {self.expr(a[1])})"
        if op == "cmp":
            sym, left_e, right_e = a
            left, right = self.expr(left_e), self.expr(right_e)
            if left_e.type == ir.BOOL and right_e.op == "const" and sym == "==":
                return f"({left} is {right})"
            if self.is_int(left_e) and right_e.op == "const" and float(right_e.args[0]).is_integer():
                right = str(int(right_e.args[0]))  # int against int compares faster, same result
            ln, rn = self.nullable(left_e), self.nullable(right_e)
            if sym == "==" and right_e.op == "const" and right_e.args[0] is not None:
                ln = False  # None == value is already false
            if not (ln or rn):
                return f"({left} {sym} {right})"
            tl, tr = self.t(), self.t()
            guards = []
            if ln:
                guards.append(f"({tl} := {left}) is not None")
            if rn:
                guards.append(f"({tr} := {right}) is not None")
            return (f"({' and '.join(guards)} and "
                    f"{tl if ln else left} {sym} {tr if rn else right})")
        if op in ("and", "or"):
            return "(" + f" {op} ".join(self.expr(x) for x in a) + ")"
        if op == "not":
            return f"(not {self.expr(a[0])})"
        if op == "in":
            return f"({self.expr(a[0])} in {self.const(a[1], 'set')})"
        if op == "is_null":
            if a[0].op == "const":  # `0 is None` would be a SyntaxWarning printed to users
                return str(a[0].args[0] is None)
            if not self.nullable(a[0]):  # e.g. `(0.0 + 0.0) is None`: also a SyntaxWarning
                return "False"
            return f"({self.expr(a[0])} is None)"
        if op == "regex" and self.derive and a[0].op == "ev_field":
            return f"d{self.derived.setdefault(a, len(self.derived))}"
        if op == "str_test":
            test, value_e, needle_e = a
            value, needle = self.expr(value_e), self.expr(needle_e)
            tv, tn = self.t(), self.t()
            call = {"starts_with": "{v}.startswith({n})", "ends_with": "{v}.endswith({n})",
                    "contains": "({n} in {v})"}[test]
            guards = []
            if self.nullable(value_e):
                guards.append(f"({tv} := {value}) is not None")
                value = tv
            if self.nullable(needle_e):
                guards.append(f"({tn} := {needle}) is not None")
                needle = tn
            return "(" + " and ".join(guards + [call.format(v=value, n=needle)]) + ")"
        if op == "regex":
            value_e, pattern = a
            rx = self.const(compile_portable(pattern).python, "re")
            if self.nullable(value_e):
                tv = self.t()
                return f"(({tv} := {self.expr(value_e)}) is not None and {rx}.search({tv}) is not None)"
            return f"({rx}.search({self.expr(value_e)}) is not None)"
        if op == "case":
            whens, else_ = a
            out = self.expr(else_)
            for cond, value in reversed(whens):
                out = f"({self.expr(value)} if {self.expr(cond)} else {out})"
            return out
        raise AssertionError(f"unknown IR op {op!r}")

    # ------------------------------------------------------------ aggregates
    def split_type(self, where: ir.E) -> tuple[tuple[str, ...] | None, ir.E]:
        items = list(where.args) if where.op == "and" else [where]
        flat: list[ir.E] = []
        while items:
            x = items.pop(0)
            if x.op == "and":
                items[:0] = list(x.args)
            else:
                flat.append(x)
        types = [x for x in flat if x.op == "in" and x.args[0].op == "ev_type"]
        if len(types) != 1:
            return None, where
        rest = [x for x in flat if x is not types[0]]
        return tuple(types[0].args[1]), ir.and_(*rest)

    def update(self, a: ir.Aggregate, indent: str) -> list[str]:
        v = None if a.value is None else self.expr(a.value)
        nullable_v = a.value is not None and self.nullable(a.value)
        lines: list[str] = []
        if a.fn == "count":
            return [f"{indent}{a.id} += 1"]
        if nullable_v:
            lines.append(f"{indent}_v = {v}")
            lines.append(f"{indent}if _v is not None:")
            indent += "    "
            v = "_v"
        if a.fn == "sum":
            lines.append(f"{indent}{a.id} += {v}")
        elif a.fn == "count_distinct":
            lines.append(f"{indent}{a.id}_set.add({v})")
        else:
            cmp_ = "<" if a.fn == "min" else ">"
            if not nullable_v and not v.isidentifier():
                lines.append(f"{indent}_v = {v}")
                v = "_v"
            lines.append(f"{indent}if {a.id} is None or {v} {cmp_} {a.id}:")
            lines.append(f"{indent}    {a.id} = {v}")
        return lines

    def event_loop(self, indent: str) -> list[str]:
        by_type: dict[str, list[tuple[ir.Aggregate, ir.E]]] = {}
        any_type: list[tuple[ir.Aggregate, ir.E]] = []
        for a in self.m.aggregates:
            types, rest = self.split_type(a.where)
            if types is None:
                any_type.append((a, rest))
            else:
                for t in types:
                    by_type.setdefault(t, []).append((a, rest))
        lines: list[str] = []
        head = indent
        indent += "    "

        def block(entries, indent):
            out = []
            for a, cond in entries:
                if cond == ir.TRUE:
                    out += self.update(a, indent)
                else:
                    out.append(f"{indent}if {self.expr(cond)}:")
                    out += self.update(a, indent + "    ")
            return out

        self.derive = True
        first = True
        for t, entries in by_type.items():
            kw = "if" if first else "elif"
            lines.append(f"{indent}{kw} typ == {t!r}:")
            lines += block(entries, indent + "    ")
            first = False
        lines += block(any_type, indent)
        self.derive = False
        unpack = ", ".join(["age", "typ"] + [f"e{i}" for i in range(len(self.event_fields))]
                           + [f"d{i}" for i in range(len(self.derived))])
        return [f"{head}for {unpack} in _islice(events, n):"] + lines

    def derived_tests(self) -> list[tuple[str, Callable[[str | None], bool]]]:
        """(event field, test) for each derived column, in column order (d0, d1, ...)."""
        return [(value_e.args[0], _regex_test(compile_portable(pattern).python))
                for value_e, pattern in self.derived]

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
            init = {"count": "0", "sum": "0.0", "min": "None", "max": "None",
                    "count_distinct": "0"}[a.fn]
            lines.append(f"        {a.id} = {init}")
            if a.fn == "count_distinct":
                lines.append(f"        {a.id}_set = set()")
        if self.m.aggregates:
            lines.append("        if n:")
            lines += self.event_loop("            ")
        for a in self.m.aggregates:
            if a.fn == "count_distinct":
                lines.append(f"        {a.id} = len({a.id}_set)")
        lines += self.binding_lines("        ")
        lines.append(f"        append({self.output_tuple()})")
        lines.append("    return out")
        return "\n".join(lines) + "\n"

    def binding_lines(self, indent: str) -> list[str]:
        """The bindings as assignments, given locals for the lead fields and aggregates."""
        if not self.alias:  # a binding that only renames an aggregate or binding is not assigned
            for b in self.m.bindings:
                if b.expr.op == "agg":
                    self.alias[b.name] = b.expr.args[0]
                elif b.expr.op == "ref":
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


def _regex_test(pattern: str) -> Callable[[str | None], bool]:
    search = re.compile(pattern).search
    return lambda v: v is not None and search(v) is not None


def _literal(code: str) -> bool:
    try:
        float(code)
    except ValueError:
        return False
    return True


def _walk(root: ir.E, out: list[tuple[ir.E, str]]) -> None:
    """Append (node, parent op) for every node under `root`."""
    stack: list[tuple[object, str]] = [(root, "")]
    while stack:
        e, parent = stack.pop()
        if isinstance(e, ir.E):
            out.append((e, parent))
            if e.op not in ("const", "field", "ev_field", "ev_type", "ev_age", "agg", "ref"):
                stack.extend((a, e.op) for a in e.args)
        elif isinstance(e, tuple):
            stack.extend((x, parent) for x in e)


def field_usage(model: ir.Model, events_only: bool = False,
                ) -> tuple[list[str], list[str], frozenset[str], bool]:
    """(lead fields used, event fields used, text fields compared by value, type used).

    A text field that is only tested for presence need not be lower-cased. With
    `events_only`, only the aggregates are read (lead fields are then not reported).
    """
    nodes: list[tuple[ir.E, str]] = []
    for a in model.aggregates:
        _walk(a.where, nodes)
        if a.value is not None:
            _walk(a.value, nodes)
    if not events_only:
        for b in model.bindings:
            _walk(b.expr, nodes)
    lead: set[str] = set()
    event: set[str] = set()
    folded: set[str] = set()
    uses_type = False
    s = model.schema
    for e, parent in nodes:
        if e.op == "field":
            lead.add(e.args[0])
            if s.lead_fields.get(e.args[0]) == "text" and parent != "is_null":
                folded.add("lead:" + e.args[0])
        elif e.op == "ev_field":
            event.add(e.args[0])
            if s.event_fields.get(e.args[0]) == "text" and parent != "is_null":
                folded.add("event:" + e.args[0])
        elif e.op == "ev_type":
            uses_type = True
    return (sorted(lead), sorted(event), frozenset(folded), uses_type)


def compile_python(model: ir.Model) -> PythonEvaluator:
    gen = _Gen(model)
    lead_used, event_used, folded, uses_type = field_usage(model)
    gen.used_lead_fields = lead_used
    src = gen.source()
    namespace: dict[str, object] = {"_floor": math.floor, "_islice": islice, **gen.consts}
    exec(compile(src, f"<leadscore:{model.name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return PythonEvaluator(src, namespace["evaluate"], lead_used, gen.event_fields,
                           [c for c, _ in model.outputs], folded, uses_type, frozenset(event_used),
                           gen.derived_tests())
