"""The checker's vocabulary: limits, type words, where an expression appears, and the
checked declarations each stage hands to the next (and to compiler/lower/).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ir
from .diagnostics import Span
from .lower.exprs import Build, Filter

FILTER = "filter"  # type of an event filter; its value is a `lower.exprs.Filter`
ERR = "error"  # type of an expression that already failed; suppresses follow-on errors

FIELD_TYPES = {"text": ir.TEXT, "int": ir.NUMBER, "float": ir.NUMBER, "bool": ir.BOOL,
               "timestamp": ir.TIMESTAMP}
US_PER_DAY = ir.US_PER_DAY
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
    condition: ir.Expr | None
    where: Filter | None
    cap: float | None
    half_life: int | None
    lifespan: int | None
    throttle: int | None
    span: Span


@dataclass
class CheckedDecay:
    points: float | None
    percent: float | None
    every: int
    where: Filter


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
    gates: list[ir.Expr]
    gate_spans: list[Span] = field(default_factory=list)
    span: Span | None = None
    sticky: bool = False  # once reached, held (compiler/lower/model.py `sticky`)


@dataclass
class CheckedAccount:
    field: str
    score: ir.Expr  # over account member aggregates (ids m0, m1, ...)
    rules: list[tuple[str, float, ir.Expr, Span]]  # label, points, condition, where
    tiers: list[CheckedTier]


@dataclass
class Checked:
    name: str
    version: int | None
    schema: ir.Schema
    build: Build  # the expressions' aggregates, in the order they were first used
    scores: list[CheckedScore]
    total: ir.Expr | None
    clamp: tuple[float, float] | None
    disqualify: list[tuple[str, ir.Expr]]
    segments: list[tuple[str, ir.Expr]]
    tiers: dict[str, list[CheckedTier]]
    grade: tuple[str, list[tuple[str, float | None]]] | None
    sources: dict[str, str] = field(default_factory=dict)  # path -> text, for gate texts
    tests: list[dict] = field(default_factory=list)
    account: CheckedAccount | None = None


