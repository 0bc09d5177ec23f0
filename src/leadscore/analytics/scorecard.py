"""Turning regression weights into integer points and writing them as a `.score` file.

Standard scorecard scaling: total = offset + factor * log-odds, with factor = PDO / ln 2 (PDO:
the points that double the odds) and offset = base_score - factor * ln(base_odds) (the total
at which the odds are base_odds). A bin's points are round(factor * weight) and the rounded
offset plus intercept goes into `total = points + C`, so the file's totals are the
regression's scaled log-odds up to rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .features import Feature, number_text, quote_name, quote_string


@dataclass
class Scaling:
    pdo: float = 20.0
    base_score: float = 100.0
    base_odds: float = 1.0

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)

    def points(self, weight: float) -> int:
        return int(round(self.factor * weight))

    def total_at(self, probability: float) -> float:
        """The total whose scaled odds equal probability / (1 - probability)."""
        return self.offset + self.factor * math.log(probability / (1 - probability))


@dataclass
class RuleLine:
    label: str
    points: int
    condition: str
    weight: float
    support: int
    converted: int


@dataclass
class FieldBlock:
    feature: Feature
    rules: list[RuleLine] = field(default_factory=list)
    zero: list[str] = field(default_factory=list)  # bins whose points rounded to 0
    pooled: list[str] = field(default_factory=list)  # bins too small for their own weight

    @property
    def spread(self) -> int:
        pts = [r.points for r in self.rules] + [0]
        return max(pts) - min(pts)


ALIGN_UP_TO = 64  # a longer condition gets its comment on the line above


def _comment_rule(r: RuleLine, train: int) -> str:
    share = r.support / train if train else 0
    rate = r.converted / r.support if r.support else 0
    return (f"weight {r.weight:+.3f}; {r.support} leads ({share:.1%}), "
            f"{rate:.1%} converted")


def render(name: str, header: list[str], schema_lines: list[str], blocks: list[FieldBlock],
           constant: int, train: int, scaling: Scaling, score_name: str = "points",
           tiers: list[tuple[str, int | None, str]] | None = None) -> str:
    """The model text, in the layout `leadscore fmt` prints (docs/language.md, Formatting):
    rule labels padded so the points form one right-aligned column, comments two spaces after
    their statement, and a rule whose condition is long gets its comment on the line above."""
    out = [f"# {h}" if h else "#" for h in header]
    out.append(f"model {quote_string(name)}")
    out.append("")
    out += schema_lines
    out.append("")
    out.append(f"score {score_name} {{")
    labels = [quote_string(r.label) for b in blocks for r in b.rules]
    label_width = max(map(len, labels), default=0)
    points_width = max((len(f"{r.points:+d}") for b in blocks for r in b.rules), default=0)
    for i, block in enumerate(blocks):
        f = block.feature
        ref = f.bins[f.reference]
        if i:
            out.append("")
        rate = ref.converted / ref.support if ref.support else 0
        out.append(f"  # {f.name}: reference {quote_string(ref.label)} (0 points; {ref.support} "
                   f"leads, {rate:.1%} converted)")
        if block.zero:
            out.append(f"  #   also 0 points (the weight rounds to 0): "
                       f"{', '.join(quote_string(z) for z in block.zero)}")
        if block.pooled:
            out.append(f"  #   scored like the reference (too few leads): "
                       f"{', '.join(quote_string(p) for p in block.pooled)}")
        for r in block.rules:
            rule = (f"  rule {quote_string(r.label).ljust(label_width)}  "
                    f"{f'{r.points:+d}'.rjust(points_width)} when {r.condition}")
            comment = _comment_rule(r, train)
            if len(r.condition) <= ALIGN_UP_TO:
                out.append(f"{rule}  # {comment}")
            else:
                out.append(f"  # {comment}")
                out.append(rule)
    out.append("}")
    out.append("")
    out.append(f"# a lead with every field at its reference value: {constant} "
               f"(P(convert) = {_probability(constant, scaling):.1%})")
    out.append(f"total = {score_name} {'+' if constant >= 0 else '-'} {abs(constant)}")
    if tiers:
        out.append("")
        out.append("tiers {")
        for tier, at, note in tiers:
            text = tier if at is None else f"{tier} at {at}"
            out.append(f"  {text}  # {note}" if note else f"  {text}")
        out.append("}")
    return "\n".join(out) + "\n"


def _probability(total: float, scaling: Scaling) -> float:
    z = (total - scaling.offset) / scaling.factor
    return 1 / (1 + math.exp(-z))


def probability_formula(scaling: Scaling) -> str:
    s = number_text(round(scaling.offset, 2))
    return f"P(convert) = 1 / (1 + 2 ^ (({s} - total) / {number_text(scaling.pdo)}))"


def schema_text(key: str, fields: list[tuple[str, str]], event_block: list[str] | None = None,
                lead_table: str | None = None) -> list[str]:
    lines = ["schema {", "  lead {", f"    key {quote_name(key)}"]
    for name, type_ in fields:
        lines.append(f"    field {quote_name(name)}: {type_}")
    if lead_table:
        lines.append(f"    table {quote_string(lead_table)}")
    lines.append("  }")
    if event_block:
        lines += event_block
    lines.append("}")
    return lines
