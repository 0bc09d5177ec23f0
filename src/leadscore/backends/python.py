"""IR -> a Python evaluator, generated as source and compiled once.

The generated function makes one pass over each lead's events, dispatching on
the event type, then evaluates the bindings as straight-line code. Text inputs
arrive lower-cased (see `runtime.prepare`), so comparisons are plain `==`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..compiler import ir
from ..compiler.regex import compile_portable

US_PER_DAY = 86_400_000_000


@dataclass
class PythonEvaluator:
    """A compiled model: `fn(leads, events_by_lead, as_of_us)` -> list of output tuples."""

    source: str
    fn: Callable
    lead_fields: list[str]  # order of fields after the key in each lead tuple
    event_fields: list[str]  # order of fields after (time_us, type) in each event tuple
    columns: list[str]  # output columns after the key


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
            return self.local[f"b:{a[0]}"]
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
            return f"{op}({self.expr(a[0])}, {self.expr(a[1])})"
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
            ln, rn = self.nullable(left_e), self.nullable(right_e)
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
            return f"({self.expr(a[0])} is None)"
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
            if not nullable_v:
                lines.append(f"{indent}_v = {v}")
            lines.append(f"{indent}if {a.id} is None or _v {cmp_} {a.id}:")
            lines.append(f"{indent}    {a.id} = _v")
        return lines

    def event_loop(self) -> list[str]:
        if not self.m.aggregates:
            return []
        by_type: dict[str, list[tuple[ir.Aggregate, ir.E]]] = {}
        any_type: list[tuple[ir.Aggregate, ir.E]] = []
        for a in self.m.aggregates:
            types, rest = self.split_type(a.where)
            if types is None:
                any_type.append((a, rest))
            else:
                for t in types:
                    by_type.setdefault(t, []).append((a, rest))
        used = [f"e{i}" for i in range(len(self.event_fields))]
        unpack = ", ".join(["_time", "typ"] + used)
        lines = [
            "        for ev in get_events(key, ()):",
            f"            {unpack} = ev",
            "            age = as_of_us - _time",
            "            if age < 0:",
            "                continue",
        ]

        def block(entries, indent):
            out = []
            for a, cond in entries:
                if cond == ir.TRUE:
                    out += self.update(a, indent)
                else:
                    out.append(f"{indent}if {self.expr(cond)}:")
                    out += self.update(a, indent + "    ")
            return out

        first = True
        for t, entries in by_type.items():
            kw = "if" if first else "elif"
            lines.append(f"            {kw} typ == {t!r}:")
            lines += block(entries, "                ")
            first = False
        lines += block(any_type, "            ")
        return lines

    # ------------------------------------------------------------ function
    def source(self) -> str:
        fields = ", ".join(["key"] + [self.local[f"f:{n}"] for n in self.lead_fields])
        lines = [
            "def evaluate(leads, events_by_lead, as_of_us):",
            "    out = []",
            "    append = out.append",
            "    get_events = events_by_lead.get",
            "    for lead in leads:",
            f"        {fields}{',' if not self.lead_fields else ''} = lead",
        ]
        for a in self.m.aggregates:
            init = {"count": "0", "sum": "0.0", "min": "None", "max": "None",
                    "count_distinct": "0"}[a.fn]
            lines.append(f"        {a.id} = {init}")
            if a.fn == "count_distinct":
                lines.append(f"        {a.id}_set = set()")
        lines += self.event_loop()
        for a in self.m.aggregates:
            if a.fn == "count_distinct":
                lines.append(f"        {a.id} = len({a.id}_set)")
        for b in self.m.bindings:
            lines.append(f"        {self.local['b:' + b.name]} = {self.expr(b.expr)}")
        outs = ", ".join(["key"] + [self.local["b:" + name] for _, name in self.m.outputs])
        lines.append(f"        append(({outs}))")
        lines.append("    return out")
        return "\n".join(lines) + "\n"


def compile_python(model: ir.Model) -> PythonEvaluator:
    gen = _Gen(model)
    src = gen.source()
    namespace: dict[str, object] = {"_floor": math.floor, **gen.consts}
    exec(compile(src, f"<leadscore:{model.name}>", "exec"), namespace)  # noqa: S102 - our own generated code
    return PythonEvaluator(src, namespace["evaluate"], gen.lead_fields, gen.event_fields,
                           [c for c, _ in model.outputs])
