"""The syntax tree of a `.score` file. Every node carries the span it was parsed from."""

from __future__ import annotations

from dataclasses import dataclass, field

from .diagnostics import Span


@dataclass(kw_only=True)
class Node:
    span: Span


# ---------------------------------------------------------------- leaves
@dataclass(kw_only=True)
class Name(Node):
    text: str


@dataclass(kw_only=True)
class Duration(Node):
    amount: int
    unit: str
    text: str


@dataclass(kw_only=True)
class Signed(Node):
    value: float
    text: str


# ---------------------------------------------------------------- expressions
@dataclass(kw_only=True)
class Expr(Node):
    pass


@dataclass(kw_only=True)
class Number(Expr):
    value: float
    is_int: bool


@dataclass(kw_only=True)
class String(Expr):
    value: str
    raw: str = ""  # the literal as written, quotes included, to locate errors inside it


@dataclass(kw_only=True)
class Bool(Expr):
    value: bool


@dataclass(kw_only=True)
class NameRef(Expr):
    name: Name
    within: Duration | None = None


@dataclass(kw_only=True)
class Neg(Expr):
    operand: Expr


@dataclass(kw_only=True)
class Not(Expr):
    operand: Expr


@dataclass(kw_only=True)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(kw_only=True)
class BoolOp(Expr):
    op: str  # "and" | "or"
    items: list[Expr]


@dataclass(kw_only=True)
class Compare(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(kw_only=True)
class In(Expr):
    value: Expr
    items: list[Expr]
    negated: bool


@dataclass(kw_only=True)
class StrTest(Expr):
    op: str  # starts_with | ends_with | contains
    left: Expr
    right: Expr


@dataclass(kw_only=True)
class Matches(Expr):
    value: Expr
    pattern: String


@dataclass(kw_only=True)
class IsMissing(Expr):
    value: Expr
    negated: bool  # True for `is present`


@dataclass(kw_only=True)
class EventFilter(Expr):
    types: list[Name] | None
    where: Expr | None
    within: Duration | None


@dataclass(kw_only=True)
class Aggregate(Expr):
    # count | count_distinct | sum | exists | days_since_last | days_since_field (lead level);
    # count_leads | roll_sum | roll_max | roll_min | roll_avg (account level)
    kind: str
    filter: Expr | None  # EventFilter or NameRef naming a filter; for count_leads a condition
    field: Name | None = None
    value: Expr | None = None  # what an account roll-up adds up


# ---------------------------------------------------------------- declarations
@dataclass(kw_only=True)
class ModelDecl(Node):
    name: str
    version: int | None


@dataclass(kw_only=True)
class FieldDecl(Node):
    name: Name
    type: Name


@dataclass(kw_only=True)
class LeadSchema(Node):
    key: Name | None = None
    created: Name | None = None
    table: str | None = None
    fields: list[FieldDecl] = field(default_factory=list)


@dataclass(kw_only=True)
class EventSchema(Node):
    lead: Name | None = None
    time: Name | None = None
    type: Name | None = None
    types: list[Name] = field(default_factory=list)
    table: str | None = None
    fields: list[FieldDecl] = field(default_factory=list)


@dataclass(kw_only=True)
class SchemaDecl(Node):
    lead: LeadSchema | None
    event: EventSchema | None


@dataclass(kw_only=True)
class LetDecl(Node):
    name: Name
    value: Expr


@dataclass(kw_only=True)
class RuleMod(Node):
    kind: str  # cap | half_life | lifespan | throttle
    value: Signed | Duration


@dataclass(kw_only=True)
class RuleDecl(Node):
    label: str
    label_span: Span
    kind: str  # when | per | once | first_repeat
    points: Signed
    repeat_points: Signed | None = None
    condition: Expr | None = None
    filter: Expr | None = None
    mods: list[RuleMod] = field(default_factory=list)


@dataclass(kw_only=True)
class DecayDecl(Node):
    amount: Signed | None  # subtractive points, or None when percent
    percent: float | None
    amount_span: Span
    every: Duration
    filter: Expr


@dataclass(kw_only=True)
class ScoreDecl(Node):
    name: Name
    cap: Signed | None
    floor: Signed | None
    rules: list[RuleDecl]
    decays: list[DecayDecl]


@dataclass(kw_only=True)
class TotalDecl(Node):
    value: Expr


@dataclass(kw_only=True)
class ClampDecl(Node):
    low: Signed
    high: Signed


@dataclass(kw_only=True)
class DisqualifyDecl(Node):
    reason: str
    condition: Expr


@dataclass(kw_only=True)
class SegmentDecl(Node):
    name: Name
    condition: Expr


@dataclass(kw_only=True)
class TierEntry(Node):
    name: Name
    threshold: Signed | None
    requires: list[Expr]


@dataclass(kw_only=True)
class TiersDecl(Node):
    segment: Name | None
    entries: list[TierEntry]


@dataclass(kw_only=True)
class GradeEntry(Node):
    name: Name
    threshold: Signed | None


@dataclass(kw_only=True)
class GradeDecl(Node):
    score: Name
    entries: list[GradeEntry]


@dataclass(kw_only=True)
class ImportDecl(Node):
    path: str
    path_span: Span


@dataclass(kw_only=True)
class AccountRule(Node):
    label: str
    label_span: Span
    points: Signed
    condition: Expr


@dataclass(kw_only=True)
class AccountDecl(Node):
    field: Name
    score: Expr | None
    rules: list[AccountRule]
    tiers: TiersDecl | None
    extra_scores: list[Expr] = field(default_factory=list)
    extra_tiers: list[TiersDecl] = field(default_factory=list)


@dataclass(kw_only=True)
class TestValue(Node):
    kind: str  # number | string | bool | timestamp | missing | name
    value: object
    text: str


@dataclass(kw_only=True)
class TestField(Node):
    name: Name
    value: TestValue


@dataclass(kw_only=True)
class TestEvent(Node):
    type: Name
    time: TestValue
    fields: list[TestField]


@dataclass(kw_only=True)
class TestExpect(Node):
    name: Name
    op: str
    value: TestValue


@dataclass(kw_only=True)
class TestDecl(Node):
    name: str
    name_span: Span
    as_of: TestValue | None
    lead: list[TestField] | None
    events: list[TestEvent]
    expects: list[TestExpect]
    duplicates: list[tuple[str, Span]] = field(default_factory=list)


@dataclass(kw_only=True)
class Comment(Node):
    text: str  # with the leading `#`


@dataclass(kw_only=True)
class Module(Node):
    """A whole parsed file, declarations in file order, and its comments."""

    items: list[Node]
    comments: list[Comment] = field(default_factory=list)
