"""The syntax tree of a `.score` file. Every node carries the span it was parsed from."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import ClassVar, TypeVar, dataclass_transform

from . import records
from .diagnostics import Span

N = TypeVar("N", bound=type)


@dataclass_transform(kw_only_default=True, field_specifiers=(field,))
def node(cls: N) -> N:
    """Declare a syntax-tree node: a dataclass built by keyword, whose `PARTS` are the
    fields that may hold other nodes (all but its spans), in order, for walking the tree.
    Its `==` and repr are `Node`'s, over its fields (compiler/records.py: start-up)."""
    cls = dataclass(kw_only=True, eq=False, repr=False)(cls)
    cls.PARTS = tuple(f.name for f in fields(cls) if f.type != "Span")
    records.prepare(cls)
    return cls


@node
class Node:
    span: Span
    PARTS: ClassVar[tuple[str, ...]] = ()

    __eq__ = records.eq
    __repr__ = records.repr_
    __hash__ = None  # type: ignore[assignment]  # mutable and compared by value: unhashable


# ---------------------------------------------------------------- leaves
@node
class Name(Node):
    text: str


@node
class Duration(Node):
    amount: int
    unit: str
    text: str


@node
class Signed(Node):
    value: float
    text: str


# ---------------------------------------------------------------- expressions
@node
class Expr(Node):
    pass


@node
class Number(Expr):
    value: float
    is_int: bool


@node
class String(Expr):
    value: str
    raw: str = ""  # the literal as written, quotes included, to locate errors inside it


@node
class Bool(Expr):
    value: bool


@node
class NameRef(Expr):
    name: Name
    within: Duration | None = None


@node
class Neg(Expr):
    operand: Expr


@node
class Not(Expr):
    operand: Expr


@node
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr


@node
class BoolOp(Expr):
    op: str  # "and" | "or"
    items: list[Expr]


@node
class Compare(Expr):
    op: str
    left: Expr
    right: Expr


@node
class In(Expr):
    value: Expr
    items: list[Expr]
    negated: bool


@node
class StrTest(Expr):
    op: str  # starts_with | ends_with | contains
    left: Expr
    right: Expr


@node
class Matches(Expr):
    value: Expr
    pattern: String


@node
class IsMissing(Expr):
    value: Expr
    negated: bool  # True for `is present`


@node
class EventFilter(Expr):
    types: list[Name] | None
    where: Expr | None
    within: Duration | None


@node
class Aggregate(Expr):
    # count | count_distinct | sum | exists | days_since_last | days_since_field (lead level);
    # count_leads | roll_sum | roll_max | roll_min | roll_avg (account level)
    kind: str
    filter: Expr | None  # EventFilter or NameRef naming a filter; for count_leads a condition
    field: Name | None = None
    value: Expr | None = None  # what an account roll-up adds up


# ---------------------------------------------------------------- declarations
@node
class ModelDecl(Node):
    name: str
    version: int | None


@node
class FieldDecl(Node):
    name: Name
    type: Name


@node
class LeadSchema(Node):
    key: Name | None = None
    created: Name | None = None
    fields: list[FieldDecl] = field(default_factory=list)
    table: str | None = None


@node
class EventSchema(Node):
    """`event { lead ... time ... type ... types ... field NAME: TYPE ... }` in the schema."""

    lead: Name | None = None
    time: Name | None = None
    type: Name | None = None
    types: list[Name] = field(default_factory=list)
    table: str | None = None
    fields: list[FieldDecl] = field(default_factory=list)


@node
class SchemaDecl(Node):
    lead: LeadSchema | None
    event: EventSchema | None


@node
class LetDecl(Node):
    name: Name
    value: Expr


@node
class RuleMod(Node):
    kind: str  # cap | half_life | lifespan | throttle
    value: Signed | Duration


@node
class RuleDecl(Node):
    label: str
    label_span: Span
    kind: str  # when | per | once | first_repeat
    points: Signed
    repeat_points: Signed | None  # first_repeat: the points of each later event
    condition: Expr | None  # when
    filter: Expr | None  # per, once, first_repeat
    mods: list[RuleMod]


@node
class DecayDecl(Node):
    amount: Signed | None  # subtractive points, or None when percent
    percent: float | None
    amount_span: Span
    every: Duration
    filter: Expr


@node
class ScoreDecl(Node):
    name: Name
    cap: Signed | None
    floor: Signed | None
    rules: list[RuleDecl]
    decays: list[DecayDecl]


@node
class TotalDecl(Node):
    value: Expr


@node
class ClampDecl(Node):
    low: Signed
    high: Signed


@node
class DisqualifyDecl(Node):
    reason: str
    condition: Expr


@node
class SegmentDecl(Node):
    name: Name
    condition: Expr


@node
class TierEntry(Node):
    name: Name
    threshold: Signed | None
    requires: list[Expr]
    sticky: Span | None = None  # where `sticky` is written


@node
class TiersDecl(Node):
    segment: Name | None
    entries: list[TierEntry]


@node
class GradeEntry(Node):
    name: Name
    threshold: Signed | None


@node
class GradeDecl(Node):
    score: Name
    entries: list[GradeEntry]


@node
class ImportDecl(Node):
    path: str
    path_span: Span


@node
class AccountRule(Node):
    label: str
    label_span: Span
    points: Signed
    condition: Expr


@node
class AccountDecl(Node):
    field: Name
    score: Expr | None
    rules: list[AccountRule]
    tiers: TiersDecl | None
    extra_scores: list[Expr] = field(default_factory=list)
    extra_tiers: list[TiersDecl] = field(default_factory=list)


@node
class TestValue(Node):
    kind: str  # number | string | bool | timestamp | missing | name
    value: object
    text: str


@node
class TestField(Node):
    name: Name
    value: TestValue


@node
class TestEvent(Node):
    type: Name
    time: TestValue
    fields: list[TestField]


@node
class TestLead(Node):
    """`lead { FIELD: VALUE, ... }` in a test; a test may hold several (an account's members)."""

    fields: list[TestField]


@node
class TestExpect(Node):
    """`expect [lead "KEY" | account "KEY"] COLUMN OP VALUE`: `of` is "lead", "account" or
    None (the test's only lead)."""

    name: Name
    op: str
    value: TestValue
    of: str | None = None
    key: TestValue | None = None


@node
class TestDecl(Node):
    name: str
    name_span: Span
    as_of: TestValue | None
    leads: list[TestLead]
    previous_tier: Name | None
    events: list[TestEvent]
    expects: list[TestExpect]
    duplicates: list[tuple[str, Span]] = field(default_factory=list)


@node
class Comment(Node):
    text: str  # with the leading `#`


@node
class Module(Node):
    """A whole parsed file, declarations in file order, and its comments."""

    items: list[Node]
    comments: list[Comment] = field(default_factory=list)
