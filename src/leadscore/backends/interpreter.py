"""A direct interpreter of the IR, one lead at a time: explain, tests and coverage.

It walks the IR the way the semantics read, with every intermediate value kept, so
`leadscore explain` can show each rule's events and points. It is a third
implementation beside the generated Python and the SQL; tests hold all three equal.
It reads the generated code's input (`InputShape`, prepared by runtime/inputs.py) and
folds with compiler/fold.py's functions; each IR node has one method, `x_<key>`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from ..compiler import ir
from ..compiler.fold import runner
from .python import InputShape

_ARITH = {"add": operator.add, "sub": operator.sub, "mul": operator.mul}
_CMP = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}
_UNARY = {"neg": operator.neg, "floor": lambda v: float(math.floor(v)),
          "whole_days": lambda v: float(v // ir.US_PER_DAY),
          "days": lambda v: v / float(ir.US_PER_DAY)}
_STR_TESTS = {"starts_with": str.startswith, "ends_with": str.endswith,
              "contains": str.__contains__}


class _Env:
    """One lead's (or account's) values while its expressions are evaluated."""

    def __init__(self, it: Interpreter, lead: tuple, as_of_us: int):
        self.lead = lead
        self.lead_at = it.lead_at
        self.event_at = it.event_at
        self.as_of_us = as_of_us
        self.aggs: dict[str, Any] = {}
        self.values: dict[str, Any] = {}
        self.event: tuple = ()  # (age_us, type, *event fields) while an event is folded

    def ev(self, e: ir.Expr) -> Any:
        return getattr(self, "x_" + e.key)(e)

    def x_const(self, e: ir.Const) -> Any:
        v = e.value
        return float(v) if isinstance(v, int) and not isinstance(v, bool) else v

    def x_field(self, e: ir.Field) -> Any:
        return self.lead[self.lead_at[e.name]]

    def x_ev_field(self, e: ir.EvField) -> Any:
        return self.event[self.event_at[e.name]]

    def x_ev_type(self, e: ir.EvType) -> Any:
        return self.event[1]

    def x_ev_age(self, e: ir.EvAge) -> Any:
        return self.event[0]

    def x_agg(self, e: ir.Agg) -> Any:
        return self.aggs[e.id]

    def x_ref(self, e: ir.Ref) -> Any:
        return self.values[e.name]

    def x_arith(self, e: ir.Arith) -> Any:
        x, y = self.ev(e.left), self.ev(e.right)
        if x is None or y is None:
            return None
        if e.fn == "div":
            return None if y == 0 else x / y
        return _ARITH[e.fn](x, y)

    def unary(self, e: ir.Neg | ir.Floor | ir.WholeDays | ir.Days) -> Any:
        v = self.ev(e.value)
        return None if v is None else _UNARY[e.key](v)

    x_neg = x_floor = x_whole_days = x_days = unary

    def x_age_us(self, e: ir.AgeUs) -> Any:
        v = self.ev(e.value)
        return None if v is None else self.as_of_us - v

    def x_extreme(self, e: ir.Extreme) -> Any:
        return (min if e.fn == "min" else max)(self.ev(e.left), self.ev(e.right))

    def x_pow(self, e: ir.Pow) -> Any:
        x, y = self.ev(e.base), self.ev(e.exponent)
        return None if x is None or y is None else x ** y

    def x_coalesce(self, e: ir.Coalesce) -> Any:
        v = self.ev(e.value)
        return self.ev(e.fallback) if v is None else v

    def x_cmp(self, e: ir.Cmp) -> bool:
        x, y = self.ev(e.left), self.ev(e.right)
        return x is not None and y is not None and _CMP[e.op](x, y)

    def x_and(self, e: ir.And) -> bool:
        return all(self.ev(x) for x in e.items)

    def x_or(self, e: ir.Or) -> bool:
        return any(self.ev(x) for x in e.items)

    def x_not(self, e: ir.Not) -> bool:
        return not self.ev(e.value)

    def x_in(self, e: ir.In) -> bool:
        return self.ev(e.value) in e.items

    def x_is_null(self, e: ir.IsNull) -> bool:
        return self.ev(e.value) is None

    def x_str_test(self, e: ir.StrTest) -> bool:
        x, y = self.ev(e.value), self.ev(e.needle)
        return x is not None and y is not None and _STR_TESTS[e.test](x, y)

    def x_regex(self, e: ir.Regex) -> bool:
        x = self.ev(e.value)
        return x is not None and e.pattern.search(x)

    def x_case(self, e: ir.Case) -> Any:
        for w in e.whens:
            if self.ev(w.cond):
                return self.ev(w.value)
        return self.ev(e.default)


class _Folds:
    """Aggregates with their whole per-event filter and value and their fold functions."""

    def __init__(self, aggregates: list[ir.Aggregate]):
        self.ids = [a.id for a in aggregates]
        self.plan = [(a.event_filter(), a.event_value(), *runner(a.fn)) for a in aggregates]

    def new(self) -> list[list]:
        return [new() for _, _, new, _, _ in self.plan]

    def step(self, env: _Env, states: list[list]) -> None:
        """Fold the env's current event (or member) into each state."""
        for (where, value, _, step, _), st in zip(self.plan, states):
            if env.ev(where):
                step(st, None if value is None else env.ev(value))

    def results(self, states: list[list]) -> dict[str, Any]:
        return {i: p[4](st) for i, p, st in zip(self.ids, self.plan, states)}


class Interpreter:
    """One model's IR, evaluated node by node on inputs in `shape` (default: the model's)."""

    def __init__(self, model: ir.Model, shape: InputShape | None = None):
        self.m = model
        self.shape = shape or InputShape.of(model)
        self.lead_at = {n: i + 1 for i, n in enumerate(self.shape.lead_fields)}
        self.event_at = {n: i + 2 for i, n in enumerate(self.shape.event_fields)}
        self.folds = _Folds(model.aggregates)
        self.member_folds = _Folds(model.account.aggregates) if model.account else None

    def values(self, lead: tuple, events: Iterable[tuple], as_of_us: int) -> dict[str, Any]:
        """Every aggregate and binding of one lead: `lead` is `(key, *lead fields)`, each
        event `(age_us, type, *event fields)` with age >= 0."""
        env = self._env(lead, events, as_of_us)
        return {**env.aggs, **env.values}

    def steps(self, lead: tuple, events: Iterable[tuple], as_of_us: int) -> list[dict[str, Any]]:
        """The values of each explain step (`ir.Step`) of one lead, in the model's order."""
        env = self._env(lead, events, as_of_us)
        return [{k: env.ev(e) for k, e in s.values.items()} for s in self.m.explain]

    def _env(self, lead: tuple, events: Iterable[tuple], as_of_us: int) -> _Env:
        env = _Env(self, lead, as_of_us)
        states = self.folds.new()
        for event in events:
            env.event = event
            self.folds.step(env, states)
        env.event = ()
        env.aggs = self.folds.results(states)
        for b in self.m.bindings:
            env.values[b.name] = env.ev(b.expr)
        return env

    def row(self, lead: tuple, events: Iterable[tuple], as_of_us: int) -> tuple:
        """The lead's output row: key, then the model's outputs."""
        values = self.values(lead, events, as_of_us)
        return (lead[0], *[values[b] for _, b in self.m.outputs])

    def accounts(self, members: Iterable[tuple[tuple, dict[str, Any]]], as_of_us: int,
                 ) -> list[tuple]:
        """Account rows by key from (lead tuple, the lead's `values`) pairs: the members are
        the leads with the account field present that are not disqualified."""
        acc, folds = self.m.account, self.member_folds
        groups: dict[Any, list[list]] = {}
        for key, env in self._members(members, as_of_us):
            states = groups.get(key)
            if states is None:
                states = groups[key] = folds.new()
            folds.step(env, states)
        out = []
        for key, states in groups.items():
            env = self._account_env(states, as_of_us)
            out.append((key, *[env.values[b] for _, b in acc.outputs]))
        return sorted(out, key=itemgetter(0))

    def account_steps(self, members: Iterable[tuple[tuple, dict[str, Any]]], key: Any,
                      as_of_us: int) -> tuple[list[tuple[Any, list[dict]]], list[dict]] | None:
        """Account `key`'s explanation (`ir.Account.explain`): each member's (lead key,
        values of the "member" steps), and the values of the account's other steps; None
        when it has no member."""
        steps = self.m.account.explain
        mine = [s for s in steps if s.kind == "member"]
        states = self.member_folds.new()
        rows = []
        for k, env in self._members(members, as_of_us):
            if k == key:
                self.member_folds.step(env, states)
                rows.append((env.lead[0], [{n: env.ev(e) for n, e in s.values.items()}
                                           for s in mine]))
        if not rows:
            return None
        env = self._account_env(states, as_of_us)
        return rows, [{n: env.ev(e) for n, e in s.values.items()} for s in steps
                      if s.kind != "member"]

    def _members(self, members: Iterable[tuple[tuple, dict[str, Any]]], as_of_us: int):
        """(account key, the member's env) of each member: the account field present, not
        disqualified."""
        at = self.lead_at[self.m.account.field]
        for lead, values in members:
            key = lead[at]
            if key is None or values["disqualified_by"] is not None:
                continue
            env = _Env(self, lead, as_of_us)
            env.values = values
            yield key, env

    def _account_env(self, states: list[list], as_of_us: int) -> _Env:
        env = _Env(self, (), as_of_us)
        env.aggs = self.member_folds.results(states)
        for b in self.m.account.bindings:
            env.values[b.name] = env.ev(b.expr)
        return env
