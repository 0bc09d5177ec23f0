"""Closed intervals of float64 with infinite ends: the range a number can take."""

from __future__ import annotations

import math
from dataclasses import dataclass

INF = math.inf


def _mul(a: float, b: float) -> float:
    # 0 × ∞ is 0 here: a rule worth 0 points per event is worth 0 for any number of events
    return 0.0 if a == 0 or b == 0 else a * b


@dataclass(frozen=True)
class Interval:
    lo: float
    hi: float

    @staticmethod
    def point(x: float) -> Interval:
        return Interval(x, x)

    @staticmethod
    def anything() -> Interval:
        return Interval(-INF, INF)

    def __add__(self, other: Interval) -> Interval:
        return Interval(self.lo + other.lo, self.hi + other.hi)

    def __neg__(self) -> Interval:
        return Interval(-self.hi, -self.lo)

    def __sub__(self, other: Interval) -> Interval:
        return self + (-other)

    def __mul__(self, other: Interval) -> Interval:
        products = [_mul(a, b) for a in (self.lo, self.hi) for b in (other.lo, other.hi)]
        return Interval(min(products), max(products))

    def __truediv__(self, other: Interval) -> Interval:
        if other.lo <= 0 <= other.hi:
            return Interval.anything()  # division by zero gives a missing value
        inv = Interval(1 / other.hi, 1 / other.lo)
        return self * inv

    def join(self, other: Interval) -> Interval:
        return Interval(min(self.lo, other.lo), max(self.hi, other.hi))

    def clamp(self, low: float, high: float) -> Interval:
        return Interval(min(max(self.lo, low), high), min(max(self.hi, low), high))

    def cap(self, c: float) -> Interval:
        """A `cap C`: min(x, C) for C ≥ 0, max(x, C) for C < 0 (semantics 6)."""
        if c >= 0:
            return Interval(min(self.lo, c), min(self.hi, c))
        return Interval(max(self.lo, c), max(self.hi, c))

    def floor(self, f: float) -> Interval:
        return Interval(max(self.lo, f), max(self.hi, f))

    def __str__(self) -> str:
        return f"[{fmt(self.lo)}, {fmt(self.hi)}]"


def fmt(x: float) -> str:
    if x == INF:
        return "unbounded"
    if x == -INF:
        return "-unbounded"
    return f"{x:g}"
