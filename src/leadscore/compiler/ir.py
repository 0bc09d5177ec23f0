"""The intermediate representation: plain, serializable data.

This is the one contract between the front end (parse, check, lower) and the
backends (Python, SQL). Everything semantic is decided before it: backends only
translate these primitives, each of which has exactly one meaning.

Per lead, evaluation is:
1. `aggregates`: one pass over the lead's events with `age_us <= now` (age >= 0),
   each aggregate folding the events its `where` keeps;
2. `bindings`, in order; each may use lead fields, aggregates and earlier bindings;
3. `outputs`: the output columns, each naming a binding.

Expression nodes (tuples in JSON: `{"op": ..., ...}`):
- const(value): number (float), text (already lower-cased), bool, or null
- field(name, type): a lead column; text values are compared lower-cased
- ev_field(name, type), ev_type(), ev_age(): the current event (aggregates only);
  ev_age is as_of - time in whole microseconds
- agg(id), ref(name)
- arithmetic: add, sub, mul, div (null if the divisor is 0), neg; null in, null out
- min, max (inputs never null), floor, pow, coalesce(a, b)
- whole_days(us) = floor(us / 86_400_000_000); days(us) = us / 86_400_000_000 (real)
- age_us(field): as_of - a timestamp field, in microseconds; null if missing
- cmp(op, left, right): never null; false when either side is null
- and, or, not; in(value, items); str_test(op, value, needle)
- regex(value, pattern): `pattern` is a validated, lower-cased portable regex
  (compiler/regex.py); each backend renders it in its engine's spelling
- is_null(value)
- case(whens=[(cond, value)], else)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

NUMBER, TEXT, BOOL, TIMESTAMP, NULL = "number", "text", "bool", "timestamp", "null"


@dataclass(frozen=True)
class E:
    """An expression node. `op` selects the meaning; `args` are child nodes or values."""

    op: str
    args: tuple = ()
    type: str = NUMBER

    def to_json(self) -> Any:
        def conv(a):
            if isinstance(a, E):
                return a.to_json()
            if isinstance(a, tuple):
                return [conv(x) for x in a]
            return a

        return {"op": self.op, "type": self.type, "args": [conv(a) for a in self.args]}


def const(value, type_: str) -> E:
    return E("const", (value,), type_)


NULL_TEXT = const(None, TEXT)
TRUE = const(True, BOOL)
FALSE = const(False, BOOL)


def num(value: float) -> E:
    return const(float(value), NUMBER)


def call(op: str, *args: E, type_: str = NUMBER) -> E:
    return E(op, tuple(args), type_)


def cmp(op: str, left: E, right: E) -> E:
    return E("cmp", (op, left, right), BOOL)


def and_(*items: E) -> E:
    items = tuple(i for i in items if i != TRUE)
    if not items:
        return TRUE
    if len(items) == 1:
        return items[0]
    return E("and", items, BOOL)


def or_(*items: E) -> E:
    if len(items) == 1:
        return items[0]
    return E("or", tuple(items), BOOL)


def not_(item: E) -> E:
    return E("not", (item,), BOOL)


def case(whens: list[tuple[E, E]], else_: E, type_: str) -> E:
    return E("case", (tuple((c, v) for c, v in whens), else_), type_)


def ref(name: str, type_: str) -> E:
    return E("ref", (name,), type_)


def nullable(e: E, aggregates: dict[str, Aggregate], bindings: dict[str, Binding]) -> bool:
    """Whether `e` can evaluate to null (conditions never do)."""
    op = e.op
    if e.type == BOOL and op != "field" and op != "ev_field":
        return op == "const" and e.args[0] is None
    if op == "const":
        return e.args[0] is None
    if op in ("field", "ev_field", "age_us"):
        return True
    if op == "div" and not (e.args[1].op == "const" and e.args[1].args[0]):
        return True
    if op in ("ev_type", "ev_age"):
        return False
    if op == "agg":
        return aggregates[e.args[0]].fn in ("min", "max", "avg")
    if op == "ref":
        return bindings[e.args[0]].nullable
    if op == "coalesce":
        return nullable(e.args[1], aggregates, bindings)
    if op in ("min", "max"):
        return False
    if op == "case":
        whens, else_ = e.args
        return any(nullable(v, aggregates, bindings) for _, v in whens) or nullable(
            else_, aggregates, bindings)
    return any(nullable(a, aggregates, bindings) for a in e.args if isinstance(a, E))


@dataclass(frozen=True)
class Aggregate:
    """One fold over a lead's events: fn(value) over the events where `where` holds.

    fn: count (value unused) | sum | min | max | count_distinct. Over no events,
    count and count_distinct give 0, sum 0.0, min and max null.
    """

    id: str
    fn: str
    where: E
    value: E | None = None

    def to_json(self) -> dict:
        return {"id": self.id, "fn": self.fn, "where": self.where.to_json(),
                "value": self.value.to_json() if self.value is not None else None}


@dataclass
class Binding:
    name: str
    expr: E
    nullable: bool = False
    stage: int = 0

    def to_json(self) -> dict:
        return {"name": self.name, "stage": self.stage, "nullable": self.nullable,
                "expr": self.expr.to_json()}


@dataclass
class RuleInfo:
    """Where a rule's numbers live, for explain output."""

    score: str
    label: str
    kind: str
    count: str | None  # binding with the number of matching events (event rules)
    points: str  # binding with the rule's contribution
    line: int
    cap: float | None = None

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Schema:
    lead_key: str
    lead_created: str | None
    lead_fields: dict[str, str]  # column -> type
    lead_table: str | None
    event_lead: str | None = None
    event_time: str | None = None
    event_type: str | None = None
    event_types: list[str] = field(default_factory=list)
    event_fields: dict[str, str] = field(default_factory=dict)
    event_table: str | None = None
    # where each column is declared ("lead:industry" -> "model.score:12"), for data errors
    origins: dict[str, str] = field(default_factory=dict)

    @property
    def has_events(self) -> bool:
        return self.event_lead is not None

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Account:
    """Roll-up of scored leads into accounts, evaluated after every lead binding.

    Members are the leads whose `field` is present and that are not disqualified.
    `aggregates` fold member-level expressions (lead fields and lead bindings) per
    account: count, sum (0.0 over none), min, max, avg (null over none). `bindings`
    are account-level, over those aggregates and earlier account bindings.
    """

    field: str
    aggregates: list[Aggregate]
    bindings: list[Binding]
    outputs: list[tuple[str, str]]  # (column, binding) after the account key column
    tiers: list[str]
    rules: list[tuple[str, str, int]]  # label, binding, line

    @property
    def stages(self) -> list[list[Binding]]:
        out: list[list[Binding]] = []
        for b in self.bindings:
            while len(out) <= b.stage:
                out.append([])
            out[b.stage].append(b)
        return out

    def to_json(self) -> dict:
        return {"field": self.field, "aggregates": [a.to_json() for a in self.aggregates],
                "bindings": [b.to_json() for b in self.bindings],
                "outputs": [list(o) for o in self.outputs], "tiers": self.tiers}


@dataclass
class Model:
    name: str
    version: int | None
    schema: Schema
    aggregates: list[Aggregate]
    bindings: list[Binding]
    outputs: list[tuple[str, str]]  # (column, binding) after the key column
    scores: list[str]
    tiers: dict[str, list[str]]  # segment -> tier names, lowest first
    rules: list[RuleInfo]
    has_grade: bool
    regexes: dict[str, str] = field(default_factory=dict)  # pattern -> "file:line:col"
    tests: list[dict] = field(default_factory=list)  # test blocks, as plain data
    account: Account | None = None
    sources: list[str] = field(default_factory=list)  # the files the model was built from
    gates: dict[str, list[dict]] = field(default_factory=dict)  # gate binding -> source spans

    @property
    def stages(self) -> list[list[Binding]]:
        out: list[list[Binding]] = []
        for b in self.bindings:
            while len(out) <= b.stage:
                out.append([])
            out[b.stage].append(b)
        return out

    def to_json(self) -> dict:
        return {
            "model": {"name": self.name, "version": self.version},
            "schema": self.schema.to_json(),
            "aggregates": [a.to_json() for a in self.aggregates],
            "bindings": [b.to_json() for b in self.bindings],
            "outputs": [list(o) for o in self.outputs],
            "scores": self.scores,
            "tiers": self.tiers,
            "rules": [r.to_json() for r in self.rules],
            "account": self.account.to_json() if self.account else None,
            "tests": self.tests,
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)
