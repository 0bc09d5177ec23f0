"""Literals as fmt writes them: strings with as few escapes as read back the same, numbers
with the digits written, points with their sign rules.
"""

from __future__ import annotations

from decimal import Decimal

from ..compiler import ast


def quote_string(value: str) -> str:
    """A string literal for `value`, with as few escapes as read back the same.

    A backslash before a character that is not an escape is kept as written (the parser
    keeps it too), so a pattern reads `"acme\\.com"` -> `"acme\\.com"` rather than `\\\\.`.
    """
    out = ['"']
    for i, ch in enumerate(value):
        if ch == "\\":
            nxt = value[i + 1] if i + 1 < len(value) else ""
            out.append("\\\\" if nxt in ("", "\\", '"', "n", "t", "r", "\n", "\t", "\r") else "\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def signed(s: ast.Signed) -> str:
    """Rule and decay points always carry their sign."""
    return s.text if s.text[:1] in ("+", "-") else "+" + s.text


def bound(s: ast.Signed) -> str:
    """Caps, floors, clamps and thresholds: a sign only when negative."""
    return s.text[1:] if s.text.startswith("+") else s.text


def number_text(value: float, is_int: bool) -> str:
    if is_int and value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")
