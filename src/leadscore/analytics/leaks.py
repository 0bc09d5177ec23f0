"""Warnings about fields that leak the outcome into a model.

Two heuristics, both documented in docs/calibration.md:

1. **A value that nearly decides the outcome.** A value (a category, or a decile of a number)
   held by at least 1% of the leads (and at least 30) such that
   - at least 95% of its leads share one outcome,
   - the odds of conversion with the value differ at least 20-fold from the odds without it,
   - and it holds at least 10% of all the leads with that outcome.
   Real fit signals rarely do all three (X Education's `Lead Origin = Lead Add Form` converts
   92% but is not 95% pure; `Lead Source = Welingak Website` is pure but holds 4% of the
   conversions), while fields written by the sales team after the fact do (`Tags = Will revert
   after reading the email`: 97% converted, 56% of all conversions). A field whose values alone
   rank leads with an in-sample AUC of 0.9 or more is flagged too (values held by fewer than 30
   leads pooled, so that a near-unique field such as an email address does not count).
2. **A field only known after the outcome**, guessed from its name: a whole word such as
   `duration`, `status`, `stage`, `outcome`, `result`, `tags`, `quality`, `won`, `lost`, `closed`,
   `revenue` (see AFTER_WORDS). UCI's `duration` (the length of the sales call) and X Education's
   `Lead Quality` (the sales rep's judgement) are examples. This is a prompt to check when the
   field is filled in, not a verdict.

Fields are flagged, never dropped: `fit --exclude FIELD` drops them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..compiler.text import fold
from .metrics import univariate_auc

MIN_SHARE = 0.01
MIN_LEADS = 30
PURITY = 0.95
ODDS_RATIO = 20.0
COVERAGE = 0.10
ALONE_AUC = 0.90
AFTER_WORDS = frozenset("""
duration durations status stage stages outcome outcomes result results disposition
tag tags quality won lost closed close closing converted conversion conversions revenue
deal deals opportunity opportunities churn churned paid payment payments invoice invoiced
signed purchase purchased purchases enrolled enrollment refund refunded cancelled canceled
""".split())


@dataclass
class Leak:
    field: str
    kind: str  # "value" | "alone" | "name"
    message: str
    numbers: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "kind": self.kind, "message": self.message, **self.numbers}


def discretize(values: list[Any]) -> list[str | None]:
    """Numbers (float) into decile ranges, text by its folded value; None stays None."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers and len(numbers) == sum(v is not None for v in values):
        xs = np.array(numbers, dtype=float)
        distinct = np.unique(xs)
        if len(distinct) <= 10:
            return [None if v is None else _num(v) for v in values]
        edges = np.unique(np.quantile(xs, np.linspace(0.1, 0.9, 9), method="lower"))
        labels = []
        for v in values:
            if v is None:
                labels.append(None)
                continue
            i = int(np.searchsorted(edges, v, side="left"))
            lo = "min" if i == 0 else _num(edges[i - 1])
            hi = _num(edges[i]) if i < len(edges) else "max"
            labels.append(f"{lo} < x <= {hi}" if i else f"x <= {hi}")
        return labels
    return [None if v is None else fold(str(v)) if not isinstance(v, bool) else str(v).lower()
            for v in values]


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _times(ratio: float) -> str:
    r = ratio if ratio >= 1 else 1 / ratio
    return ">1000" if r > 1000 else f"{r:.0f}"


def name_words(name: str) -> set[str]:
    return set(re.findall(r"[a-z]+", name.lower()))


def check_field(name: str, values: list[Any], y: np.ndarray, spelled: dict[str, str] | None = None,
                by_name: bool = True) -> list[Leak]:
    """Leak warnings for one field; `values` are typed (None = missing), y is 0/1."""
    y = np.asarray(y)
    labels = discretize(values)
    keys = ["(missing)" if v is None else v for v in labels]
    n = len(keys)
    pos = int(y.sum())
    neg = n - pos
    out: list[Leak] = []
    if n == 0 or pos == 0 or neg == 0 or len(set(keys)) < 2:
        return out
    groups: dict[str, list[int]] = {}
    for k, t in zip(keys, y):
        g = groups.setdefault(k, [0, 0])
        g[0] += 1
        g[1] += int(t)
    if spelled is None:
        spelled = {}
        for v in values:
            if isinstance(v, str):
                spelled.setdefault(fold(v), v)
    worst = None
    for k, (leads, conv) in groups.items():
        if leads < max(MIN_LEADS, MIN_SHARE * n):
            continue
        rate = conv / leads
        odds_in = (conv + 0.5) / (leads - conv + 0.5)
        odds_out = (pos - conv + 0.5) / (neg - (leads - conv) + 0.5)
        ratio = odds_in / odds_out
        if rate >= PURITY and ratio >= ODDS_RATIO and conv / pos >= COVERAGE:
            side, purity, cover = "converted", rate, conv / pos
        elif 1 - rate >= PURITY and ratio <= 1 / ODDS_RATIO and (leads - conv) / neg >= COVERAGE:
            side, purity, cover = "not converted", 1 - rate, (leads - conv) / neg
        else:
            continue
        if worst is None or cover > worst[3]:
            worst = (k, leads, side, cover, purity, ratio, rate)
    if worst is not None:
        k, leads, side, cover, purity, ratio, rate = worst
        shown = spelled.get(k, k)
        out.append(Leak(name, "value", (
            f"`{name}` may leak the outcome: {purity:.1%} of the {leads} leads with "
            f"{shown!r} {'converted' if side == 'converted' else 'did not convert'}, and they are "
            f"{cover:.0%} of all {side} leads (odds x{_times(ratio)})"),
            {"value": shown, "leads": leads, "rate": rate, "share_of_outcome": cover,
             "odds_ratio": ratio}))
    # rare values pooled, or a near-unique field (an email address) would "rank" perfectly
    rare = {k for k, (leads, _) in groups.items() if leads < MIN_LEADS}
    auc = univariate_auc(["(rare)" if k in rare else k for k in keys], y)
    if auc is not None and auc >= ALONE_AUC:
        out.append(Leak(name, "alone", f"`{name}` alone ranks leads with AUC {auc:.3f}: "
                                       "check it is known before the outcome", {"auc": auc}))
    if by_name:
        leak = name_leak(name)
        if leak is not None:
            out.append(leak)
    return out


def name_leak(name: str, what: str = "") -> Leak | None:
    """The name heuristic alone: a word of the name suggests it is filled in afterwards."""
    words = sorted(name_words(name) & AFTER_WORDS)
    if not words:
        return None
    return Leak(name, "name", (
        f"{what}`{name}` may only be known after the outcome (its name says "
        f"{', '.join(repr(w) for w in words)}): check when it is filled in"), {"words": words})


def check_fields(columns: dict[str, list[Any]], y: np.ndarray) -> list[Leak]:
    out: list[Leak] = []
    for name, values in columns.items():
        out += check_field(name, values, y)
    return out


def leaky_fields(leaks: list[Leak]) -> list[str]:
    seen: list[str] = []
    for leak in leaks:
        if leak.field not in seen:
            seen.append(leak.field)
    return seen
