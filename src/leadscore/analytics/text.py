"""Plain aligned tables and number formats for terminal reports (stable, pipe-friendly)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def num(x: float | None, digits: int = 2) -> str:
    if x is None:
        return "-"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:.{digits}f}"


def ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], left: int = 1,
          indent: str = "  ") -> str:
    """Columns after the first `left` are right-aligned."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for r in cells:
        parts = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append(indent + "  ".join(parts).rstrip())
    return "\n".join(lines)
