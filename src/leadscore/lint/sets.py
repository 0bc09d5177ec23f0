"""The values a variable can take, as sets with a 'missing' member (two-valued logic).

A condition on one variable (`employees >= 200`, `country in ["CR", "PA"]`,
`title is missing`) is the set of values that make it true; `and`, `or` and `not`
are meet, join and complement. Every answer is sound: `is_empty` and `subset` say
True only when it is certain, so a lint finding built on them is never a guess.
Comparisons on a missing value are false, so their sets never contain `missing`;
`not` of them does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

INF = math.inf

# An interval: (lo, lo_closed, hi, hi_closed)
Iv = tuple[float, bool, float, bool]


def _tighten(iv: Iv, integer: bool) -> Iv | None:
    lo, lc, hi, hc = iv
    if integer:
        if math.isfinite(lo):
            lo, lc = (float(math.floor(lo) + 1) if (not lc and lo == math.floor(lo))
                      else float(math.ceil(lo))), True
        if math.isfinite(hi):
            hi, hc = (float(math.ceil(hi) - 1) if (not hc and hi == math.ceil(hi))
                      else float(math.floor(hi))), True
    if not math.isfinite(lo):
        lc = False
    if not math.isfinite(hi):
        hc = False
    if lo > hi or (lo == hi and not (lc and hc)):
        return None
    return (lo, lc, hi, hc)


def _normalize(ivs: list[Iv], integer: bool) -> tuple[Iv, ...]:
    tight = [t for t in (_tighten(iv, integer) for iv in ivs) if t is not None]
    tight.sort(key=lambda iv: (iv[0], not iv[1]))
    out: list[Iv] = []
    for iv in tight:
        if out:
            plo, plc, phi, phc = out[-1]
            lo, lc, hi, hc = iv
            touches = phi > lo or (phi == lo and (phc or lc)) or (
                integer and math.isfinite(phi) and phi + 1 == lo)
            if touches:
                if hi > phi or (hi == phi and hc):
                    out[-1] = (plo, plc, hi, hc)
                continue
        out.append(iv)
    return tuple(out)


@dataclass(frozen=True)
class NumSet:
    """A union of intervals of numbers (whole numbers when `integer`), and maybe `missing`."""

    ivs: tuple[Iv, ...]
    missing: bool = False
    integer: bool = False

    @staticmethod
    def make(ivs: list[Iv], missing: bool = False, integer: bool = False) -> NumSet:
        return NumSet(_normalize(ivs, integer), missing, integer)

    @staticmethod
    def everything(missing: bool, integer: bool = False) -> NumSet:
        return NumSet.make([(-INF, False, INF, False)], missing, integer)

    @staticmethod
    def between(lo: float, hi: float, missing: bool = False, integer: bool = False) -> NumSet:
        return NumSet.make([(lo, True, hi, True)], missing, integer)

    def meet(self, other: NumSet) -> NumSet:
        integer = self.integer or other.integer
        out: list[Iv] = []
        for a in self.ivs:
            for b in other.ivs:
                lo, lc = max((a[0], a[1]), (b[0], b[1]), key=lambda x: (x[0], not x[1]))
                hi, hc = min((a[2], a[3]), (b[2], b[3]), key=lambda x: (x[0], x[1]))
                out.append((lo, lc, hi, hc))
        return NumSet.make(out, self.missing and other.missing, integer)

    def join(self, other: NumSet) -> NumSet:
        return NumSet.make([*self.ivs, *other.ivs], self.missing or other.missing,
                           self.integer and other.integer)

    def complement(self) -> NumSet:
        out: list[Iv] = []
        lo, lc = -INF, False
        for a in self.ivs:
            out.append((lo, lc, a[0], not a[1]))
            lo, lc = a[2], not a[3]
        out.append((lo, lc, INF, False))
        return NumSet.make(out, not self.missing, self.integer)

    def is_empty(self) -> bool:
        return not self.ivs and not self.missing

    def subset(self, other: NumSet) -> bool:
        return self.meet(other.complement()).is_empty()

    def hull(self) -> tuple[float, float]:
        if not self.ivs:
            return (INF, -INF)
        return (self.ivs[0][0], self.ivs[-1][2])

    def present(self) -> NumSet:
        return NumSet(self.ivs, False, self.integer)


@dataclass(frozen=True)
class Pred:
    """A test on a present text value that the set algebra cannot enumerate (starts_with...)."""

    key: str
    positive: bool
    test: Callable[[str], bool] = field(compare=False, hash=False)

    def negate(self) -> Pred:
        return Pred(self.key, not self.positive, self.test)

    def holds(self, value: str) -> bool:
        return self.test(value) == self.positive


@dataclass(frozen=True)
class TextSet:
    """Present texts (folded) that are in `allowed` (None: any), not in `excluded` and pass every
    predicate; plus `missing`."""

    allowed: frozenset[str] | None
    excluded: frozenset[str] = frozenset()
    preds: tuple[Pred, ...] = ()
    missing: bool = False

    @staticmethod
    def everything(missing: bool) -> TextSet:
        return TextSet(None, frozenset(), (), missing)

    def _norm(self) -> TextSet:
        if self.allowed is None:
            return self
        kept = frozenset(v for v in self.allowed if self.contains(v))
        return TextSet(kept, frozenset(), (), self.missing)

    def contains(self, value: str) -> bool:
        return ((self.allowed is None or value in self.allowed) and value not in self.excluded
                and all(p.holds(value) for p in self.preds))

    def meet(self, other: TextSet) -> TextSet:
        if self.allowed is None:
            allowed = other.allowed
        elif other.allowed is None:
            allowed = self.allowed
        else:
            allowed = self.allowed & other.allowed
        preds = tuple(dict.fromkeys([*self.preds, *other.preds]))
        return TextSet(allowed, self.excluded | other.excluded, preds,
                       self.missing and other.missing)._norm()

    def join(self, other: TextSet) -> TextSet | None:
        a, b = self._norm(), other._norm()
        missing = a.missing or b.missing
        if a.allowed is not None and b.allowed is not None:
            return TextSet(a.allowed | b.allowed, frozenset(), (), missing)
        if a.allowed is not None:
            a, b = b, a  # a is now the open set
        if not a.preds:  # everything but a few values, joined with anything
            return TextSet(None, frozenset(v for v in a.excluded if not b.contains(v)), (), missing)
        if b.allowed is not None:
            if all(a.contains(v) for v in b.allowed):
                return TextSet(None, a.excluded, a.preds, missing)
            return None
        if not b.preds:
            return TextSet(None, frozenset(v for v in b.excluded if not a.contains(v)), (), missing)
        if set(a.preds) <= set(b.preds) and a.excluded <= b.excluded:
            return TextSet(None, a.excluded, a.preds, missing)
        if set(b.preds) <= set(a.preds) and b.excluded <= a.excluded:
            return TextSet(None, b.excluded, b.preds, missing)
        if (len(a.preds) == len(b.preds) == 1 and a.preds[0] == b.preds[0].negate()
                and not a.excluded and not b.excluded):
            return TextSet(None, frozenset(), (), missing)
        return None

    def complement(self) -> TextSet | None:
        s = self._norm()
        if s.allowed is not None:
            return TextSet(None, s.allowed, (), not s.missing)
        if not s.preds:
            return TextSet(s.excluded, frozenset(), (), not s.missing)
        if len(s.preds) == 1 and not s.excluded:
            return TextSet(None, frozenset(), (s.preds[0].negate(),), not s.missing)
        return None

    def present_empty(self) -> bool:
        s = self._norm()
        if s.allowed is not None:
            return not s.allowed
        return any(p.negate() in s.preds for p in s.preds)

    def is_empty(self) -> bool:
        return not self.missing and self.present_empty()

    def subset(self, other: TextSet) -> bool:
        if self.missing and not other.missing:
            return False
        a, b = self._norm(), other._norm()
        if a.present_empty():
            return True
        if a.allowed is not None:
            return all(b.contains(v) for v in a.allowed)
        if b.allowed is not None:
            return False
        # every value b excludes, a excludes too (or fails one of a's tests), and a passes b's tests
        return (all(v in a.excluded or not all(p.holds(v) for p in a.preds) for v in b.excluded)
                and set(b.preds) <= set(a.preds))


@dataclass(frozen=True)
class BoolSet:
    values: frozenset[bool]
    missing: bool = False

    @staticmethod
    def everything(missing: bool) -> BoolSet:
        return BoolSet(frozenset((True, False)), missing)

    def meet(self, other: BoolSet) -> BoolSet:
        return BoolSet(self.values & other.values, self.missing and other.missing)

    def join(self, other: BoolSet) -> BoolSet:
        return BoolSet(self.values | other.values, self.missing or other.missing)

    def complement(self) -> BoolSet:
        return BoolSet(frozenset((True, False)) - self.values, not self.missing)

    def is_empty(self) -> bool:
        return not self.values and not self.missing

    def subset(self, other: BoolSet) -> bool:
        return self.values <= other.values and (other.missing or not self.missing)


Dom = NumSet | TextSet | BoolSet
