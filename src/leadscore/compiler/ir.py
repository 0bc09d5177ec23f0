"""The intermediate representation: typed, plain, serializable data.

This is the one contract between the front end (parse, check, lower) and the
evaluators (generated Python, the interpreter, the stream, accounts, SQL). Everything
semantic is decided before it; evaluators only translate these nodes, each of which
has exactly one meaning.

Per lead, evaluation is:
1. `aggregates`: one fold per aggregate over the lead's events with age >= 0
   (age = as_of - time, µs), each keeping the events its filter keeps (`Aggregate`,
   and compiler/fold.py for what each fold function does);
2. `bindings`, in order; each may use lead fields, aggregates and earlier bindings;
3. `outputs`: the output columns, each naming a binding.

Every node declares its named children (`CHILDREN`, like sqlglot's `arg_types`), so
one generic `children()`/`walk()` serves every pass. Every node may carry the source
span it came from; spans are left out of equality and hashing, so equal expressions
from different places still deduplicate into one aggregate.

Null rules (LANGUAGE.md, semantics 2): arithmetic is null in, null out (and division
by zero is null); conditions are never null (a test on a null value is false);
`min`/`max` inputs are never null; `coalesce` takes its fallback on null.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar

from . import records
from .diagnostics import Span
from .fold import FOLDS
from .regex import PortableRegex

NUMBER, TEXT, BOOL, TIMESTAMP = "number", "text", "bool", "timestamp"
US_PER_DAY = 86_400_000_000
# The lead's tier in the latest earlier snapshot, which sticky tiers hold (docs/language.md,
# "Sticky tiers"): a lead column of a model with a sticky tier, text, null where there is
# none; loaders take it as all null when the leads do not have it (`OPTIONAL_LEAD_COLUMNS`).
PREVIOUS_TIER = "leadscore_previous_tier"
OPTIONAL_LEAD_COLUMNS = frozenset({PREVIOUS_TIER})


# ---------------------------------------------------------------- expression nodes
@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Expr:
    """A typed expression. `key` names the operation; `CHILDREN` its sub-expressions."""

    key: ClassVar[str] = ""
    CHILDREN: ClassVar[tuple[str, ...]] = ()
    TYPE: ClassVar[str] = NUMBER
    span: Span | None = field(default=None, kw_only=True, compare=False, repr=False)

    # as a frozen dataclass's, over the fields (compiler/records.py: start-up)
    __eq__ = records.eq
    __hash__ = records.hash_
    __repr__ = records.repr_

    @property
    def type(self) -> str:
        return self.TYPE

    def children(self) -> Iterator[Expr]:
        for name in self.CHILDREN:
            v = getattr(self, name)
            if isinstance(v, tuple):
                yield from v
            elif v is not None:
                yield v


OPS: dict[str, type[Expr]] = {}


def node(key: str, type_: str | None = None):
    """Declare an IR node: a frozen dataclass whose fields typed as expressions are its
    children (`CHILDREN`, in field order), registered under `key` (its JSON name). Its
    `==`, hash and repr are `Expr`'s, over its fields."""
    def register(cls):
        cls = dataclass(frozen=True, slots=True, eq=False, repr=False)(cls)
        records.prepare(cls)
        cls.key = key
        if type_ is not None:
            cls.TYPE = type_
        cls.CHILDREN = tuple(f.name for f in fields(cls)
                             if f.name != "span" and ("Expr" in str(f.type) or "When" in str(f.type)))
        OPS[key] = cls
        return cls
    return register


records.prepare(Expr)


@node("const")
class Const(Expr):
    """A number (float), text (already lower-cased), a bool, or null."""

    value: float | str | bool | None
    type: str


@node("field")
class Field(Expr):
    """A lead column; text arrives lower-cased, timestamps as µs since the epoch."""

    name: str
    type: str


@node("ev_field")
class EvField(Expr):
    """A column of the current event (inside aggregates only)."""

    name: str
    type: str


@node("ev_type", TEXT)
class EvType(Expr):
    """The current event's type, lower-cased."""


@node("ev_age")
class EvAge(Expr):
    """as_of - the current event's time, in whole microseconds (never negative)."""


@node("agg")
class Agg(Expr):
    """The value of aggregate `id` for this lead (or this account)."""

    id: str


@node("ref")
class Ref(Expr):
    """The value of an earlier binding."""

    name: str
    type: str


@node("arith")
class Arith(Expr):
    """`fn` is add, sub, mul or div; null in, null out; x / 0 is null."""

    fn: str
    left: Expr
    right: Expr


@node("neg")
class Neg(Expr):
    value: Expr


@node("extreme")
class Extreme(Expr):
    """`fn` is min or max of two numbers that are never null."""

    fn: str
    left: Expr
    right: Expr


@node("floor")
class Floor(Expr):
    value: Expr


@node("pow")
class Pow(Expr):
    base: Expr
    exponent: Expr


@node("coalesce")
class Coalesce(Expr):
    """`value`, or `fallback` where it is null."""

    value: Expr
    fallback: Expr


@node("whole_days")
class WholeDays(Expr):
    """floor(µs / 86 400 000 000), a float."""

    value: Expr


@node("days")
class Days(Expr):
    """µs / 86 400 000 000, a real number of days."""

    value: Expr


@node("age_us")
class AgeUs(Expr):
    """as_of - a timestamp, in µs; null if the timestamp is."""

    value: Expr


@node("local")
class Local(Expr):
    """A per-event value an evaluator computed once, before the aggregates that read it, under
    this name (`Fade.locals()`); evaluators build it, a model's IR never holds it."""

    name: str


@node("cmp", BOOL)
class Cmp(Expr):
    """`op` is ==, !=, <, <=, > or >=; false when either side is null."""

    op: str
    left: Expr
    right: Expr


@node("and", BOOL)
class And(Expr):
    items: tuple[Expr, ...]


@node("or", BOOL)
class Or(Expr):
    items: tuple[Expr, ...]


@node("not", BOOL)
class Not(Expr):
    value: Expr


@node("in", BOOL)
class In(Expr):
    """Whether `value` is one of `items` (constants of its type); false on null."""

    value: Expr
    items: tuple


@node("str_test", BOOL)
class StrTest(Expr):
    """`test` is starts_with, ends_with or contains; false when either side is null."""

    test: str
    value: Expr
    needle: Expr


@node("regex", BOOL)
class Regex(Expr):
    """An unanchored search of a validated, lower-cased portable pattern (compiler/regex.py);
    each evaluator renders it in its engine's spelling. False on null."""

    value: Expr
    pattern: PortableRegex


@node("is_null", BOOL)
class IsNull(Expr):
    value: Expr


@node("when")
class When(Expr):
    """One branch of a `Case` (not an expression on its own)."""

    cond: Expr
    value: Expr

    @property
    def type(self) -> str:
        return self.value.type


@node("case")
class Case(Expr):
    """The value of the first branch whose condition holds, else `default`."""

    whens: tuple[When, ...]
    default: Expr
    type: str


# ---------------------------------------------------------------- building and walking
NULL_TEXT = Const(None, TEXT)
NULL_NUMBER = Const(None, NUMBER)
TRUE = Const(True, BOOL)
FALSE = Const(False, BOOL)
AGE = EvAge()


def num(value: float, span: Span | None = None) -> Const:
    return Const(float(value), NUMBER, span=span)


def text(value: str | None, span: Span | None = None) -> Const:
    return Const(value, TEXT, span=span)


def and_(*items: Expr, span: Span | None = None) -> Expr:
    items = tuple(i for i in items if i != TRUE)
    if not items:
        return TRUE
    if len(items) == 1:
        return items[0]
    return And(items, span=span)


def case(whens: list[tuple[Expr, Expr]], default: Expr, type_: str,
         span: Span | None = None) -> Expr:
    if not whens:
        return default
    return Case(tuple(When(c, v, span=c.span) for c, v in whens), default, type_, span=span)


def conjuncts(e: Expr) -> list[Expr]:
    """The items of nested `and`s, left to right."""
    out: list[Expr] = []
    stack = [e]
    while stack:
        x = stack.pop()
        if isinstance(x, And):
            stack.extend(reversed(x.items))
        else:
            out.append(x)
    return out


def walk(root: Expr) -> Iterator[Expr]:
    """Every node under `root` (itself included), parents before children; no recursion."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children())


def refs(e: Expr) -> set[str]:
    return {n.name for n in walk(e) if isinstance(n, Ref)}


def nullable(e: Expr, aggregates: dict[str, Aggregate], bindings: dict[str, Binding]) -> bool:
    """Whether `e` can evaluate to null (conditions never do)."""
    if isinstance(e, (Field, EvField)):
        return True
    if e.type == BOOL:
        return isinstance(e, Const) and e.value is None
    if isinstance(e, Const):
        return e.value is None
    if isinstance(e, AgeUs):
        return True
    if isinstance(e, Arith) and e.fn == "div" and not (isinstance(e.right, Const) and e.right.value):
        return True
    if isinstance(e, (EvType, EvAge, Extreme)):
        return False
    if isinstance(e, Agg):
        return FOLDS[aggregates[e.id].fn].empty is None  # no value over no events
    if isinstance(e, Ref):
        return bindings[e.name].nullable
    if isinstance(e, Coalesce):
        return nullable(e.fallback, aggregates, bindings)
    if isinstance(e, Case):
        return any(nullable(w.value, aggregates, bindings) for w in e.whens) or nullable(
            e.default, aggregates, bindings)
    return any(nullable(c, aggregates, bindings) for c in e.children())


# ---------------------------------------------------------------- aggregates and the model
FADES = ("half_life", "lifespan")


# Fading is exact (docs/language.md, semantics 6): an event's weight is a whole number of
# 10^-9 (`WEIGHT_GRID`), computed only with + - * / floor and exact powers of two, which IEEE
# 754 rounds correctly on every engine (no libm POWER/EXP: those differ by an ulp between
# glibc, Java, ClickHouse and Rust). Sums of grid weights are sums of whole numbers, exact in
# any order below 2^53 (9 007 199 events of full weight per lead and rule); a rule divides by
# the grid once, at the end.
WEIGHT_GRID = 1_000_000_000
# 2^-f on [0, 1] as a polynomial in f, Horner order (|error| < 1.8e-16 in exact arithmetic):
# a least-squares fit with each coefficient rounded to 15 significant digits in turn, so that
# every engine's literal parser reads the same double (tests/test_differential_exact.py checks
# both).
EXP2_NEG = (1.0, -0.693147180559919, 0.240226506957841, -0.0555041086437632,
            0.00961812893247503, -0.00133335497467228, 0.000154032804189845,
            -1.52479582594481e-05, 1.31566625130589e-06, -9.7233150272112e-08,
            5.00900713988073e-09)
# 0.5^31 * 10^9 < 1/2: from 31 half-lives on an event's grid weight is 0 (and the exponent
# is clamped there, so 0.5^n stays an exact, normal power of two on every engine)
HALF_LIVES_TO_ZERO = 31


def horner(coefficients: tuple[float, ...], x: Expr) -> Expr:
    """c0 + x*(c1 + x*(c2 + ...)): the one evaluation order every engine follows."""
    value: Expr = num(coefficients[-1])
    for c in reversed(coefficients[:-1]):
        value = Arith("add", num(c), Arith("mul", x, value))
    return value


def exp2_neg(f: Expr) -> Expr:
    """2^-f for f in [0, 1]: `EXP2_NEG` as lo(f) + f^6 * hi(f), two short Horner chains, so
    that no engine's parser nests more than a few levels (DataFusion stops at 50, SQLite's
    parser stack near 100 entries)."""
    f6: Expr = f
    for _ in range(5):
        f6 = Arith("mul", f6, f)
    return Arith("add", horner(EXP2_NEG[:6], f), Arith("mul", f6, horner(EXP2_NEG[6:], f)))


def inline(local: dict[str, Expr]) -> dict[str, Expr]:
    """`Fade.locals()` with each `Local` replaced by the expression it names."""
    out: dict[str, Expr] = {}

    def sub(e: Expr) -> Expr:
        if isinstance(e, Local):
            return out[e.name]
        kids = {n: sub(getattr(e, n)) for n in e.CHILDREN if isinstance(getattr(e, n), Expr)}
        return replace(e, **kids) if kids else e

    for name, e in local.items():
        out[name] = sub(e)
    return out


def grid_exp2_neg(n: Expr, f: Expr) -> Expr:
    """2^-(n + f) on the weight grid, for n a whole number in [0, 31] and f in [0, 1):
    floor(0.5^n * 2^-f * 10^9 + 1/2), a float holding a whole number of 10^-9."""
    w = Arith("mul", exp2_neg(f), Pow(num(0.5), n))
    return Floor(Arith("add", Arith("mul", w, num(WEIGHT_GRID)), num(0.5)))


@dataclass(frozen=True, slots=True)
class Fade:
    """An event's weight falling with its age: `half_life` 0.5^(days/H) or `lifespan`
    max(0, 1 - days/L), as a whole number of 1/`WEIGHT_GRID` (a float holding an integer):
    floor(w * 10^9 + 1/2). The formula lives here, once; the stream keeps the events that can
    still weigh anything, younger than `zero_after()` (runtime/stream.py)."""

    kind: str  # half_life | lifespan
    days: int

    def locals(self, age: Expr = AGE) -> dict[str, Expr]:
        """The per-event values the weight reads more than once, in order, by `Local` name
        (each may read the earlier ones): for a half life, the exponent x = min(days/H, 31),
        its whole part n = floor(x) and its fraction f = x - n."""
        if self.kind != "half_life":
            return {}
        x, n = f"hx{self.days}", f"hn{self.days}"
        return {x: Extreme("min", Arith("div", Days(age), num(self.days)), num(HALF_LIVES_TO_ZERO)),
                n: Floor(Local(x)), f"hf{self.days}": Arith("sub", Local(x), Local(n))}

    def weight(self, age: Expr = AGE, local: bool = False) -> Expr:
        """The grid weight at `age`; with `local`, reading `locals()` as `Local` values that
        the evaluator has computed (the same values, computed once)."""
        if self.kind == "half_life":  # 0.5^x = 0.5^n * 2^-f
            parts = self.locals(age)
            if not local:
                parts = inline(parts)
            _, n, f = (Local(name) for name in parts) if local else parts.values()
            return grid_exp2_neg(n, f)
        w = Extreme("max", num(0), Arith("sub", num(1), Arith("div", Days(age), num(self.days))))
        return Floor(Arith("add", Arith("mul", w, num(WEIGHT_GRID)), num(0.5)))

    def zero_after(self) -> int:
        """The age (µs) from which every event's weight is 0."""
        days = self.days * (HALF_LIVES_TO_ZERO if self.kind == "half_life" else 1)
        return days * US_PER_DAY


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One fold over a lead's events: `fn` (compiler/fold.py) of a per-event value over
    the events `where` keeps, younger than `window` days if given.

    The per-event value is `value` (event fields, or the age for the newest/oldest event),
    or the event's `fade` weight, or its `period` (floor(age / period days), for
    `at most once per`). `where` and `value` never read the age otherwise, so the stream
    can keep a state per aggregate from these fields alone.
    """

    id: str
    fn: str
    where: Expr
    value: Expr | None = None
    window: int | None = None  # days
    fade: Fade | None = None
    period: int | None = None  # days
    span: Span | None = field(default=None, compare=False)

    def event_filter(self) -> Expr:
        """The whole per-event filter, the window included."""
        if self.window is None:
            return self.where
        return and_(self.where, Cmp("<", AGE, num(self.window * US_PER_DAY)))

    def event_value(self) -> Expr | None:
        """The whole per-event value: the field value, the fade weight or the period."""
        if self.fade is not None:
            return self.fade.weight()
        if self.period is not None:
            return Floor(Arith("div", AGE, num(self.period * US_PER_DAY)))
        return self.value

    def children(self) -> Iterator[Expr]:
        yield self.where
        if self.value is not None:
            yield self.value


@dataclass
class Binding:
    name: str
    expr: Expr
    nullable: bool = False
    stage: int = 0


@dataclass(frozen=True)
class Gate:
    """A tier gate as written, for explain output."""

    text: str
    span: Span | None = None


@dataclass
class RuleInfo:
    """Where a rule's numbers live, for explain and coverage."""

    score: str
    label: str
    kind: str
    count: str | None  # binding with the number of matching events (event rules)
    points: str  # binding with the rule's contribution
    span: Span | None = None
    cap: float | None = None

    @property
    def line(self) -> int:
        return self.span.line if self.span else 0


# The values an explanation step can show for a lead, each of one type: the explain query's
# value columns (backends/explain_sql.py), in this order.
STEP_VALUES = {"events": NUMBER, "before": NUMBER, "value": NUMBER, "days": NUMBER,
               "holds": BOOL, "text": TEXT}


@dataclass
class Step:
    """One line of a lead's explanation, in evaluation order (runtime/explain.py renders each
    `kind`): what it is (`subject`: the score, segment or column it belongs to; `label`;
    `facts`: constants of the model such as a cap or a threshold) and its values as IR over
    the lead's fields, aggregates and bindings (`values`, named from STEP_VALUES). Lowering
    writes the steps; the interpreter and the explain query evaluate the same expressions."""

    kind: str
    subject: str
    label: str
    values: dict[str, Expr] = field(default_factory=dict)
    facts: dict[str, float | str | None] = field(default_factory=dict)
    span: Span | None = None

    @property
    def line(self) -> int:
        return self.span.line if self.span else 0


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
    # where each column is declared ("lead:industry" -> span), for data errors
    origins: dict[str, Span] = field(default_factory=dict)

    @property
    def has_events(self) -> bool:
        return self.event_lead is not None


def stages(bindings: list[Binding]) -> list[list[Binding]]:
    out: list[list[Binding]] = []
    for b in bindings:
        while len(out) <= b.stage:
            out.append([])
        out[b.stage].append(b)
    return out


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
    rules: list[RuleInfo]
    explain: list[Step] = field(default_factory=list)  # an account's explanation (over its values)

    @property
    def stages(self) -> list[list[Binding]]:
        return stages(self.bindings)


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
    tests: list[dict] = field(default_factory=list)  # test blocks, as plain data
    account: Account | None = None
    sources: list[str] = field(default_factory=list)  # the files the model was built from
    gates: dict[str, list[Gate]] = field(default_factory=dict)  # gate binding -> its gates
    explain: list[Step] = field(default_factory=list)  # a lead's explanation, step by step

    @property
    def stages(self) -> list[list[Binding]]:
        return stages(self.bindings)

    def to_json(self) -> dict:
        from .ir_json import to_json

        return to_json(self)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, ensure_ascii=False)


def reads_previous_tier(m: Model) -> bool:
    """Whether the model has a sticky tier, and so reads the `PREVIOUS_TIER` lead column."""
    return PREVIOUS_TIER in m.schema.lead_fields


def roots(m: Model) -> Iterator[Expr]:
    for a in m.aggregates:
        yield from a.children()
    for b in m.bindings:
        yield b.expr
    if m.account:
        for a in m.account.aggregates:
            yield from a.children()
        for b in m.account.bindings:
            yield b.expr
