"""Lowering: checked declarations -> IR. The only place that builds IR.

`exprs.Build` gives each checked expression its IR (called by compiler/typecheck.py as it
types them) and keeps the aggregates; `model.lower` turns rules, scores, decay, tiers,
gates, grades and accounts into the IR model.
"""

from __future__ import annotations

from .exprs import Build, Filter
from .model import lower

__all__ = ["Build", "Filter", "lower"]
