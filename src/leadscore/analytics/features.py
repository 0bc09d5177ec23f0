"""Candidate scorecard features from raw columns, and their `.score` conditions.

A feature splits every lead into exactly one bin: numbers by training quantiles
(`x < 3`, `x >= 3 and x < 7`, `x >= 7`, `x is missing`), categories by value (rare values
pooled in `other`), booleans into true/false/missing, event counts in a window like numbers.
The conditions are written so that, under the language's two-valued logic (a comparison
with a missing value is false), the bins of a feature are disjoint and cover every lead:
that is what makes the written model add up to the same points as the regression.

Text is grouped by the language's own case folding (`compiler.text.fold`), since a rule
`x == "Google"` also matches "google".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.names import is_plain
from ..compiler.text import fold
from .table import blank

_BOOL_PAIRS = ({"yes", "no"}, {"true", "false"})


def _keywords() -> frozenset[str]:
    """Every word the grammar spells out: a column with such a name is written in backticks."""
    grammar = Path(__file__).resolve().parent.parent / "grammar" / "score.lark"
    try:
        text = grammar.read_text(encoding="utf-8")
    except OSError:
        text = ""
    return frozenset(re.findall(r'"([a-z_]+)"', text)) | {"true", "false", "missing", "present"}


KEYWORDS = _keywords()


def name_ok(name: str) -> bool:
    """Whether a column name can be written in the language at all."""
    return bool(name) and "`" not in name and "\n" not in name and "\r" not in name


def quote_name(name: str) -> str:
    if is_plain(name) and name not in KEYWORDS:
        return name
    return f"`{name}`"


def quote_string(text: str) -> str:
    return '"' + (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                  .replace("\t", "\\t")) + '"'


def number_text(x: float) -> str:
    """A number as the grammar reads it (no exponent)."""
    if float(x).is_integer():
        return str(int(x))
    text = repr(float(x))
    if "e" in text or "E" in text:
        text = f"{x:.12f}".rstrip("0").rstrip(".")
    return text


# ---------------------------------------------------------------- column types
def infer_type(values: list[Any]) -> str | None:
    """The schema type that reads every non-blank value: int, float, bool or text.

    None when the column is entirely blank. Matches the loader (`runtime.data.convert`), so
    the written model never rejects a row of the file it was fitted on.
    """
    present = [v for v in values if not blank(v)]
    if not present:
        return None
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return "int" if all(float(v).is_integer() for v in present) else "float"
    texts = [str(v).strip() for v in present]
    try:
        for t in texts:
            int(t)
        return "int"
    except ValueError:
        pass
    try:
        if all(math.isfinite(float(t)) for t in texts):
            return "float"
    except ValueError:
        pass
    distinct = {t.lower() for t in texts}
    if len(distinct) == 2 and distinct in _BOOL_PAIRS:
        return "bool"
    return "text"


def typed_values(values: list[Any], type_: str) -> list[Any]:
    """Raw values -> float (numbers), bool, or original text; None for blanks."""
    out: list[Any] = []
    for v in values:
        if blank(v):
            out.append(None)
        elif type_ in ("int", "float"):
            out.append(float(v) if not isinstance(v, str) else float(v.strip()))
        elif type_ == "bool":
            out.append(v if isinstance(v, bool) else str(v).strip().lower() in ("yes", "true"))
        else:
            out.append(v if isinstance(v, str) else str(v))
    return out


# ---------------------------------------------------------------- features
@dataclass
class Bin:
    label: str  # "Google", "3 to 5", "missing", "any other value"
    condition: str  # .score condition text
    support: int = 0  # training leads
    converted: int = 0


@dataclass
class Feature:
    """One column (or event count) cut into disjoint bins."""

    name: str  # the column, or a label like "email_open in 30d"
    type: str  # schema type of the column; "count" for event counts
    ref: str  # how the language refers to the value: `Lead Source`, count(event x within 30d)
    kind: str  # "category", "number" or "bool"
    bins: list[Bin]
    # category: folded value -> bin; number: ascending edges
    lookup: dict[str, int] = field(default_factory=dict)
    edges: list[float] = field(default_factory=list)
    missing_bin: int | None = None
    other_bin: int | None = None
    na: frozenset[str] = frozenset()  # folded placeholders treated as missing
    reference: int = 0

    def assign(self, values: list[Any]) -> np.ndarray:
        """The bin of each value (typed as by `typed_values`); -1 for none (cannot happen
        for values of the column the feature was built from)."""
        missing = -1 if self.missing_bin is None else self.missing_bin
        if self.kind == "number":
            x = np.array([np.nan if v is None else v for v in values], dtype=float)
            out = np.searchsorted(np.array(self.edges, dtype=float), x, side="right")
            return np.where(np.isnan(x), missing, out).astype(int)
        cache: dict[Any, int] = {}
        out = np.empty(len(values), dtype=int)
        for i, v in enumerate(values):
            b = cache.get(v)
            if b is None:
                b = cache[v] = self._bin(v)
            out[i] = b
        return out

    def _bin(self, v: Any) -> int:
        if self.kind == "number":
            if v is None:
                return self.missing_bin if self.missing_bin is not None else -1
            return int(np.searchsorted(self.edges, v, side="right"))
        if self.kind == "bool":
            if v is None:
                return self.missing_bin if self.missing_bin is not None else -1
            return 0 if v else 1
        if v is None or fold(v) in self.na:
            return self.missing_bin if self.missing_bin is not None else -1
        b = self.lookup.get(fold(v))
        if b is not None:
            return b
        return self.other_bin if self.other_bin is not None else -1


def _quantile_edges(x: np.ndarray, bins: int, min_count: int) -> list[float]:
    """Distinct cut points at training quantiles, each bin holding at least min_count leads.

    A quantile that falls inside a big tie (say 80% of the leads at 0) moves to the next
    distinct value above the previous cut, so a heavily tied number still gets split.
    """
    if len(x) == 0:
        return []
    xs = np.sort(x)
    cands: list[float] = []
    for q in range(1, bins):
        v = float(xs[min(len(xs) - 1, int(math.ceil(q * len(xs) / bins)))])
        floor = cands[-1] if cands else float(xs[0])
        if v <= floor:
            above = xs[xs > floor]
            if not len(above):
                break
            v = float(above[0])
        cands.append(v)
    edges: list[float] = []
    lo = -math.inf
    for e in cands:  # drop a cut that would leave too few leads below it (since the last cut)
        below = np.count_nonzero((xs >= lo) & (xs < e))
        if below >= min_count:
            edges.append(e)
            lo = e
    while edges and np.count_nonzero(xs >= edges[-1]) < min_count:
        edges.pop()  # and too few above the last
    return edges


def number_feature(name: str, type_: str, ref: str, values: list[Any], bins: int,
                   min_count: int) -> Feature | None:
    x = np.array([v for v in values if v is not None], dtype=float)
    edges = _quantile_edges(x, bins, min_count)
    has_missing = any(v is None for v in values)
    if not edges and not has_missing:
        return None
    labels: list[Bin] = []
    if not edges:
        labels.append(Bin("present", f"{ref} is present"))
    else:
        e = [number_text(v) for v in edges]
        labels.append(Bin(f"below {e[0]}", f"{ref} < {e[0]}"))
        whole = type_ in ("int", "count")
        for (a, b), (x, z) in zip(zip(e, e[1:]), zip(edges, edges[1:])):
            if whole and z - x == 1:  # a single whole number
                labels.append(Bin(a, f"{ref} == {a}"))
            else:
                labels.append(Bin(f"{a} to {b}", f"{ref} >= {a} and {ref} < {b}"))
        labels.append(Bin(f"{e[-1]} or more", f"{ref} >= {e[-1]}"))
    f = Feature(name, type_, ref, "number", labels, edges=list(edges))
    if has_missing:
        f.missing_bin = len(f.bins)
        f.bins.append(Bin("missing", f"{ref} is missing"))
    return f


def bool_feature(name: str, ref: str, values: list[Any]) -> Feature:
    f = Feature(name, "bool", ref, "bool", [Bin("yes", ref), Bin("no", f"{ref} == false")])
    if any(v is None for v in values):
        f.missing_bin = 2
        f.bins.append(Bin("missing", f"{ref} is missing"))
    return f


def category_feature(name: str, ref: str, values: list[Any], min_count: int,
                     na: dict[str, str] | None = None) -> Feature | None:
    """Values held by at least min_count training leads get a bin each; the rest pool in
    `other`. `na`: placeholders such as "Select" that mean not answered (missing), folded ->
    as written; pass only those that occur in the column: they go into its conditions."""
    na = na or {}
    counts: dict[str, int] = {}
    spelled: dict[str, dict[str, int]] = {}
    for v in values:
        if v is None:
            continue
        k = fold(v)
        if k in na:
            continue
        counts[k] = counts.get(k, 0) + 1
        spelled.setdefault(k, {})
        spelled[k][v] = spelled[k].get(v, 0) + 1
    if not counts:
        return None
    kept = sorted((k for k, n in counts.items() if n >= min_count), key=lambda k: (-counts[k], k))

    def shown(k: str) -> str:  # the most common spelling; the language ignores case
        return max(spelled[k].items(), key=lambda kv: (kv[1], kv[0]))[0]

    f = Feature(name, "text", ref, "category", [], na=frozenset(na))
    for k in kept:
        f.lookup[k] = len(f.bins)
        f.bins.append(Bin(shown(k), f"{ref} == {quote_string(shown(k))}"))
    na_list = [na[k] for k in sorted(na)]
    if len(kept) < len(counts):
        listed = ", ".join(quote_string(x) for x in [shown(k) for k in kept] + na_list)
        f.other_bin = len(f.bins)
        f.bins.append(Bin("any other value", f"{ref} not in [{listed}]" if listed
                          else f"{ref} is present"))
    if any(v is None for v in values) or na:
        f.missing_bin = len(f.bins)
        cond = f"{ref} is missing"
        if na_list:
            cond += f" or {ref} in [{', '.join(quote_string(x) for x in na_list)}]"
        f.bins.append(Bin("missing" if not na_list else "missing or " + "/".join(na_list), cond))
    return f


def count_support(feature: Feature, assigned: np.ndarray, y: np.ndarray) -> None:
    """Fill each bin's training support and conversions; the biggest bin is the reference."""
    for i, b in enumerate(feature.bins):
        mask = assigned == i
        b.support = int(mask.sum())
        b.converted = int(y[mask].sum())
    feature.reference = max(range(len(feature.bins)), key=lambda i: feature.bins[i].support)
