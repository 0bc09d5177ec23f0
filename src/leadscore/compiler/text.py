"""Case-insensitive text: the one lower-casing every backend implements.

Python's `str.lower` applies context rules (a final capital sigma becomes `ς`) and
length-changing mappings (`İ` becomes `i̇`, two code points) that SQL engines do
not. leadscore lowers each character on its own (Unicode simple case mapping), as
DuckDB's LOWER does, so the same text compares the same on every backend.
"""

from __future__ import annotations

_SPECIAL = {"İ": "i"}  # the one simple mapping that differs from a lone char's str.lower()


def fold(text: str) -> str:
    """Lower-case `text` character by character."""
    if text.isascii():
        return text.lower()
    return "".join(_SPECIAL.get(ch) or ch.lower() for ch in text)
