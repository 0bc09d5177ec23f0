"""Diagnostics: one error type, rendered in exactly one place.

Every problem the compiler or the loaders find is a `Diagnostic` with a span;
`render` prints `file:line:col: severity: message`, the source line and a caret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

SHOWN_LINE = 160  # longest source line shown in full under a diagnostic
SHOWN_DIAGNOSTICS = 100  # a file with more errors shows the first ones and a count

# What must never reach a terminal raw: C0 and C1 controls (ESC starts CSI and OSC sequences,
# OSC 8 links), DEL, line and paragraph separators, lone surrogates and the bidirectional
# controls of Trojan Source (CVE-2021-42574).
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escaped(m: re.Match) -> str:
    ch = m.group()
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def _json_escaped(m: re.Match) -> str:
    # a newline is JSON's own layout (json.dumps escapes every C0 control inside a string)
    return "\n" if m.group() == "\n" else f"\\u{ord(m.group()):04x}"


def terminal_safe(text: str, json: bool = False) -> str:
    """`text` (data, a name, a path) fit to print on a terminal: each control character shown
    as its escape, repr-style (`\\x1b`, `\\n`, `\\u202e`); everything else as it is. The one
    function every command uses where text it did not write reaches the terminal. With
    `json`, `text` is JSON and each becomes its JSON escape (`\\u001b`): the same JSON value."""
    if not _UNSAFE.search(text):
        return text
    return _UNSAFE.sub(_json_escaped if json else _escaped, text)


@dataclass(frozen=True)
class Source:
    """A rule file's text and the name it is reported under."""

    path: str
    text: str

    def line(self, lineno: int) -> str:
        # Lines end at \n only, as the parser counts them: str.splitlines() also splits at a
        # form feed, \u2028, a lone \r and more, which would show the wrong line.
        lines = self.text.split("\n")
        if 1 <= lineno <= len(lines):
            return lines[lineno - 1].removesuffix("\r")
        return ""


@dataclass(frozen=True)
class Span:
    """A 1-based, end-exclusive range in one source file."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"

    def to_json(self) -> dict:
        return {"path": self.path, "line": self.line, "column": self.column,
                "end_line": self.end_line, "end_column": self.end_column}


@dataclass
class Diagnostic:
    message: str
    span: Span | None
    severity: str = "error"
    hint: str | None = None
    code: str | None = None
    notes: list[str] = field(default_factory=list)
    # other places the problem involves (the first of two definitions), for editors (LSP)
    related: list[tuple[Span, str]] = field(default_factory=list)

    def render(self, sources: dict[str, Source] | None = None, color: bool = False) -> str:
        # a path or a message may quote a file name or a value: escaped, the colours our own
        where = terminal_safe(str(self.span)) if self.span else "leadscore"
        message = terminal_safe(self.message)
        head = f"{where}: {self.severity}: {message}"
        if color:
            tint = "\x1b[1;31m" if self.severity == "error" else "\x1b[1;33m"
            head = f"\x1b[1m{where}:\x1b[0m {tint}{self.severity}:\x1b[0m {message}"
        out = [head]
        src = sources.get(self.span.path) if (sources and self.span) else None
        if src is not None and self.span is not None:
            # control characters (a tab, a form feed, \u2028) shown as one space each keep the
            # caret under the right column and the terminal intact
            text = "".join(c if c.isprintable() else " " for c in src.line(self.span.line))
            col = self.span.column
            width = 1
            if self.span.end_line == self.span.line:
                width = max(1, self.span.end_column - self.span.column)
            width = min(width, max(1, len(text) - col + 1), SHOWN_LINE)
            if len(text) > SHOWN_LINE:  # show a window of a very long line around the caret
                start = max(0, min(col - 1 - SHOWN_LINE // 3, len(text) - SHOWN_LINE))
                text = ("…" if start else "") + text[start:start + SHOWN_LINE] + (
                    "…" if start + SHOWN_LINE < len(text) else "")
                col = col - start + (1 if start else 0)
            gutter = f"{self.span.line:>4} | "
            out.append(gutter + text)
            out.append(" " * (len(gutter) + col - 1) + "^" * width)
        for note in self.notes:
            out.append(f"  note: {terminal_safe(note)}")
        if self.hint:
            out.append(f"  hint: {terminal_safe(self.hint)}")
        return "\n".join(out)

    def to_json(self) -> dict:
        return {"severity": self.severity, "message": self.message, "code": self.code,
                "hint": self.hint, "span": self.span.to_json() if self.span else None}


class CompileError(Exception):
    """Raised when a rule file has errors; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, Source]):
        self.diagnostics = diagnostics
        self.sources = sources
        super().__init__(self.render())

    def render(self, color: bool = False) -> str:
        shown = [d.render(self.sources, color) for d in self.diagnostics[:SHOWN_DIAGNOSTICS]]
        hidden = len(self.diagnostics) - SHOWN_DIAGNOSTICS
        if hidden > 0:
            shown.append(f"... and {hidden} more diagnostics")
        return "\n".join(shown)


@lru_cache(maxsize=8)
def _by_case(candidates: tuple[str, ...]) -> dict[str, str]:
    """Candidates by their lower case, built once for the many errors of one scope."""
    return {c.lower(): c for c in candidates}


def did_you_mean(name: str, candidates: list[str], fuzzy: bool = True) -> str | None:
    """A 'did you mean' hint for a misspelled name, or None; without `fuzzy`, only a name
    that differs in case is offered."""
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6) if fuzzy else []
    if not close:
        lowered = _by_case(tuple(candidates))
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f"did you mean `{close[0]}`?" if close else None
