"""SQL dialects, one module per engine; `get_dialect(name)` looks one up."""

from __future__ import annotations

from .base import Dialect, Unsupported
from .duckdb import DUCKDB

DIALECTS: dict[str, Dialect] = {d.name: d for d in (DUCKDB,)}

__all__ = ["DIALECTS", "DUCKDB", "Dialect", "Unsupported", "get_dialect"]


def get_dialect(name: str) -> Dialect:
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}; known: {', '.join(sorted(DIALECTS))}") from None
