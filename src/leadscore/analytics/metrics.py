"""Ranking and conversion metrics over (score, outcome) pairs, with ties handled exactly.

Scores are float arrays, outcomes 0/1 integer arrays of the same length. Ties matter here:
integer scorecards and rule-based models put many leads on the same total, so every metric
below treats tied leads as interchangeable (AUC counts a tied pair as half a win; "top 10%"
takes the expected conversions if the tie at the cut-off were broken at random).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, tied values sharing the mean of their positions."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.r_[0, np.flatnonzero(xs[1:] != xs[:-1]) + 1] if n else np.array([], int)
    ends = np.r_[starts[1:], n] if n else np.array([], int)
    ranks = np.empty(n)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def roc_auc(scores: np.ndarray, y: np.ndarray) -> float | None:
    """Mann-Whitney AUC: P(score of a converted lead > score of a non-converted one), ties half.

    None when either class is empty.
    """
    y = np.asarray(y)
    pos = int(y.sum())
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return None
    ranks = average_ranks(scores)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def roc_curve(scores: np.ndarray, y: np.ndarray) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) at every distinct threshold, from (0,0) to (1,1)."""
    y = np.asarray(y)
    pos, neg = int(y.sum()), len(y) - int(y.sum())
    if pos == 0 or neg == 0:
        return [(0.0, 0.0), (1.0, 1.0)]
    groups = score_groups(scores, y, descending=True)
    tp = np.cumsum(groups.converted)
    fp = np.cumsum(groups.leads - groups.converted)
    return [(0.0, 0.0)] + [(float(f / neg), float(t / pos)) for f, t in zip(fp, tp)]


@dataclass
class Groups:
    """Leads grouped by distinct score: value, leads, converted (arrays, in score order)."""

    values: np.ndarray
    leads: np.ndarray
    converted: np.ndarray


def score_groups(scores: np.ndarray, y: np.ndarray, descending: bool = False) -> Groups:
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y)
    values, inverse = np.unique(scores, return_inverse=True)
    leads = np.bincount(inverse, minlength=len(values))
    conv = np.bincount(inverse, weights=y, minlength=len(values)).astype(int)
    if descending:
        return Groups(values[::-1], leads[::-1], conv[::-1])
    return Groups(values, leads, conv)


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n trials (95% by default)."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class TopShare:
    share: float  # the requested share of leads, e.g. 0.1
    leads: float  # share × all leads (may be fractional when a tie is split)
    min_total: float | None  # the lowest total that is (partly) inside the top share
    converted: float  # expected conversions among them (ties split at random)
    rate: float | None
    lift: float | None
    capture: float | None  # share of all conversions caught


def top_share(scores: np.ndarray, y: np.ndarray, share: float) -> TopShare:
    """Conversion among the top `share` of leads by score; a tie at the cut-off counts pro rata."""
    n = len(y)
    total_conv = int(np.asarray(y).sum())
    base = total_conv / n if n else None
    k = share * n
    if n == 0 or k <= 0:
        return TopShare(share, 0.0, None, 0.0, None, None, None)
    g = score_groups(scores, y, descending=True)
    taken = 0.0
    conv = 0.0
    min_total = None
    for value, leads, c in zip(g.values, g.leads, g.converted):
        if taken >= k:
            break
        use = min(float(leads), k - taken)
        conv += c * use / leads
        taken += use
        min_total = float(value)
    rate = conv / k
    return TopShare(share, k, min_total, conv, rate, rate / base if base else None,
                    conv / total_conv if total_conv else None)


@dataclass
class Band:
    band: int  # 1 = the top tenth of leads by score
    lo: float
    hi: float
    leads: int
    converted: int
    mean_total: float

    @property
    def rate(self) -> float:
        return self.converted / self.leads


def deciles(scores: np.ndarray, y: np.ndarray, bands: int = 10) -> list[Band]:
    """Score bands by rank, top first; tied leads stay together.

    A lead's band is set by the middle rank of its tie group, so a band is a closed range of
    totals and a heavily tied total makes its band larger (and a neighbour empty: omitted).
    """
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y)
    n = len(scores)
    if n == 0:
        return []
    ranks = average_ranks(scores)  # 1..n ascending
    from_bottom = np.minimum(bands - 1, np.floor((ranks - 0.5) * bands / n)).astype(int)
    out = []
    for b in range(bands - 1, -1, -1):
        mask = from_bottom == b
        if not mask.any():
            continue
        s = scores[mask]
        out.append(Band(bands - b, float(s.min()), float(s.max()), int(mask.sum()),
                        int(y[mask].sum()), float(s.mean())))
    return out


@dataclass
class Cut:
    """Leads at or above a threshold against the rest, within one group of leads."""

    threshold: float
    leads_at_or_above: int
    converted_at_or_above: int
    leads_below: int
    converted_below: int

    @property
    def rate_at_or_above(self) -> float | None:
        return self.converted_at_or_above / self.leads_at_or_above if self.leads_at_or_above else None

    @property
    def rate_below(self) -> float | None:
        return self.converted_below / self.leads_below if self.leads_below else None

    @property
    def share(self) -> float:
        return self.leads_at_or_above / (self.leads_at_or_above + self.leads_below)

    @property
    def capture(self) -> float | None:
        total = self.converted_at_or_above + self.converted_below
        return self.converted_at_or_above / total if total else None


def cuts(scores: np.ndarray, y: np.ndarray) -> list[Cut]:
    """One Cut per distinct score, lowest threshold first."""
    g = score_groups(scores, y)
    n, c = int(g.leads.sum()), int(g.converted.sum())
    ge_n = np.cumsum(g.leads[::-1])[::-1]
    ge_c = np.cumsum(g.converted[::-1])[::-1]
    return [Cut(float(v), int(a), int(b), n - int(a), c - int(b))
            for v, a, b in zip(g.values, ge_n, ge_c)]


def threshold_for_rate(scores: np.ndarray, y: np.ndarray, target: float,
                       min_leads: int = 10) -> tuple[Cut | None, Cut | None]:
    """The lowest threshold whose leads at or above convert at >= target (with >= min_leads).

    Returns (the threshold, None) when reached, else (None, the best-converting cut with
    enough leads) so the report can say how close it came.
    """
    best = None
    for cut in cuts(scores, y):
        if cut.leads_at_or_above < min_leads:
            break
        if cut.rate_at_or_above is not None and cut.rate_at_or_above >= target:
            return cut, None
        if best is None or (cut.rate_at_or_above or 0) > (best.rate_at_or_above or 0):
            best = cut
    return None, best


def threshold_for_share(scores: np.ndarray, y: np.ndarray, share: float) -> Cut | None:
    """The lowest threshold that sends at most `share` of the leads to sales.

    When even the highest total holds more than `share` (a big tie at the top) that total is
    returned and its actual share shows the overshoot.
    """
    every = cuts(scores, y)
    if not every:
        return None
    for cut in every:
        if cut.share <= share + 1e-12:
            return cut
    return every[-1]


def univariate_auc(values: list, y: np.ndarray) -> float | None:
    """AUC of ranking leads by their value's conversion rate (in-sample): how well one field
    alone separates the outcome."""
    y = np.asarray(y)
    keys: dict = {}
    idx = np.array([keys.setdefault(v, len(keys)) for v in values], dtype=int)
    leads = np.bincount(idx, minlength=len(keys))
    conv = np.bincount(idx, weights=y, minlength=len(keys))
    return roc_auc((conv / leads)[idx], y)
