"""A direct interpreter of the IR, for one lead at a time: explain, tests and coverage.

It walks the IR the way the semantics read, with every intermediate value kept, so
`leadscore explain` can show each rule's events and points. It is a third
implementation beside the generated Python and the SQL; tests hold all three equal.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from ..compiler import ir
from ..compiler.regex import compile_portable

US_PER_DAY = 86_400_000_000


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(compile_portable(pattern).python)


class _Env:
    def __init__(self, model: ir.Model, fields: dict[str, Any], as_of_us: int):
        self.m = model
        self.fields = fields
        self.as_of_us = as_of_us
        self.aggs: dict[str, Any] = {}
        self.values: dict[str, Any] = {}
        self.event: tuple | None = None  # (age_us, type, {field: value})


def _num_op(op: str, a, b):
    if a is None or b is None:
        return None
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    return None if b == 0 else a / b


def ev(e: ir.E, env: _Env) -> Any:
    op, a = e.op, e.args
    if op == "const":
        v = a[0]
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v
    if op == "field":
        return env.fields.get(a[0])
    if op == "ev_field":
        return env.event[2].get(a[0])
    if op == "ev_type":
        return env.event[1]
    if op == "ev_age":
        return env.event[0]
    if op == "agg":
        return env.aggs[a[0]]
    if op == "ref":
        return env.values[a[0]]
    if op in ("add", "sub", "mul", "div"):
        return _num_op(op, ev(a[0], env), ev(a[1], env))
    if op == "neg":
        v = ev(a[0], env)
        return None if v is None else -v
    if op in ("min", "max"):
        return (min if op == "min" else max)(ev(a[0], env), ev(a[1], env))
    if op in ("floor", "whole_days", "days", "age_us"):
        v = ev(a[0], env)
        if v is None:
            return None
        if op == "floor":
            return float(math.floor(v))
        if op == "whole_days":
            return float(v // US_PER_DAY)
        if op == "days":
            return v / float(US_PER_DAY)
        return env.as_of_us - v
    if op == "pow":
        x, y = ev(a[0], env), ev(a[1], env)
        return None if x is None or y is None else x ** y
    if op == "coalesce":
        v = ev(a[0], env)
        return ev(a[1], env) if v is None else v
    if op == "cmp":
        sym, left, right = a
        x, y = ev(left, env), ev(right, env)
        if x is None or y is None:
            return False
        return {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y,
                ">=": x >= y}[sym]
    if op == "and":
        return all(ev(x, env) for x in a)
    if op == "or":
        return any(ev(x, env) for x in a)
    if op == "not":
        return not ev(a[0], env)
    if op == "in":
        return ev(a[0], env) in a[1]
    if op == "is_null":
        return ev(a[0], env) is None
    if op == "str_test":
        test, value, needle = a
        x, y = ev(value, env), ev(needle, env)
        if x is None or y is None:
            return False
        return {"starts_with": x.startswith, "ends_with": x.endswith,
                "contains": x.__contains__}[test](y)
    if op == "regex":
        x = ev(a[0], env)
        return x is not None and _regex(a[1]).search(x) is not None
    if op == "case":
        whens, else_ = a
        for cond, value in whens:
            if ev(cond, env):
                return ev(value, env)
        return ev(else_, env)
    raise AssertionError(f"unknown IR op {op!r}")


def evaluate(model: ir.Model, fields: dict[str, Any], events: list[tuple], as_of_us: int,
             ) -> dict[str, Any]:
    """Every aggregate and binding of one lead.

    `fields` maps lead columns to prepared values (text folded, numbers float,
    timestamps in microseconds); `events` are (time_us, folded type, {field: value}).
    """
    env = _Env(model, fields, as_of_us)
    acc: dict[str, Any] = {}
    for agg in model.aggregates:
        acc[agg.id] = set() if agg.fn == "count_distinct" else (
            0.0 if agg.fn in ("count", "sum") else None)
    for time_us, typ, values in events:
        age = as_of_us - time_us
        if age < 0:
            continue
        env.event = (age, typ, values)
        for agg in model.aggregates:
            if not ev(agg.where, env):
                continue
            if agg.fn == "count":
                acc[agg.id] += 1
                continue
            v = ev(agg.value, env)
            if v is None:
                continue
            if agg.fn == "sum":
                acc[agg.id] += v
            elif agg.fn == "count_distinct":
                acc[agg.id].add(v)
            elif acc[agg.id] is None or (v < acc[agg.id] if agg.fn == "min" else v > acc[agg.id]):
                acc[agg.id] = v
    env.event = None
    for agg in model.aggregates:
        value = acc[agg.id]
        env.aggs[agg.id] = float(len(value)) if agg.fn == "count_distinct" else value
    for b in model.bindings:
        env.values[b.name] = ev(b.expr, env)
    return {**env.aggs, **env.values}
