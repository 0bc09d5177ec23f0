"""Fixes as span edits: what a lint rule proposes, and how edits are applied to a text.

A rule that has one mechanical fix for a finding attaches a `Fix` to its `Hit`; the rule
knows the nodes, this module knows the text around them (whole lines, separators, the
spaces before a modifier). `leadscore lint --fix` (lint/fix.py) and the language server's
code actions apply the same edits.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..compiler.diagnostics import Source, Span

_LOOK_BACK = 200  # characters searched before a value for its keyword (`cap`, `floor`)


@dataclass(frozen=True)
class Edit:
    """Replace `span` (1-based, end-exclusive, columns in characters) by `text`; an insertion
    when the span is empty."""

    span: Span
    text: str

    def to_json(self) -> dict:
        return {**self.span.to_json(), "text": self.text}


@dataclass(frozen=True)
class Fix:
    """One finding's fix: a title for an editor's code action, and non-overlapping edits in
    the linted file."""

    title: str
    edits: tuple[Edit, ...]

    def to_json(self) -> dict:
        return {"title": self.title, "edits": [e.to_json() for e in self.edits]}


class Text:
    """A source text addressed by spans: lines end at `\\n` only, as the parser counts them."""

    def __init__(self, source: Source):
        self.path = source.path
        self.text = source.text
        self.starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def offset(self, line: int, column: int) -> int:
        if not 1 <= line <= len(self.starts):
            raise ValueError(f"line {line} is not in {self.path}")
        return min(self.starts[line - 1] + column - 1, len(self.text))

    def range(self, span: Span) -> tuple[int, int]:
        return self.offset(span.line, span.column), self.offset(span.end_line, span.end_column)

    def span(self, start: int, end: int) -> Span:
        return Span(self.path, *self._position(start), *self._position(end))

    def _position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1

    def of(self, span: Span) -> str:
        a, b = self.range(span)
        return self.text[a:b]

    def with_keyword(self, span: Span, word: str) -> Span | None:
        """The span of `word` and the value after it (`cap 50` from the span of `50`), or
        None when something else comes before the value."""
        a, b = self.range(span)
        start = max(0, a - _LOOK_BACK)
        m = re.search(rf"(?<![A-Za-z0-9_`]){re.escape(word)}\s+\Z", self.text[start:a])
        return self.span(start + m.start(), b) if m else None

    # ------------------------------------------------------------ edits
    def replace(self, span: Span, text: str) -> Edit:
        return Edit(span, text)

    def remove_inline(self, span: Span) -> Edit:
        """Remove a part of a line (a rule's ` cap 50`) with the spaces before it."""
        a, b = self.range(span)
        while a > 0 and self.text[a - 1] in " \t":
            a -= 1
        return Edit(self.span(a, b), "")

    def remove_statement(self, span: Span) -> Edit:
        """Remove a statement: its whole lines when it is alone on them (a comment after it
        goes with it, and a blank line when one is left on both sides), else the statement
        and the `;` that separates it from its neighbour."""
        a, b = self.range(span)
        line_start = self.text.rfind("\n", 0, a) + 1
        rest = _LINE_REST.match(self.text, b)
        if not self.text[line_start:a].strip() and rest is not None:
            end = rest.end()
            blank = _BLANK_LINE.match(self.text, end)
            if blank is not None and (line_start == 0 or _ends_blank(self.text[:line_start])):
                end = blank.end()
            return Edit(self.span(line_start, end), "")
        after = _SEMICOLON.match(self.text, b)
        if after is not None:
            return Edit(self.span(a, after.end()), "")
        before = re.search(r";[ \t]*\Z", self.text[line_start:a])
        if before is not None:
            return Edit(self.span(line_start + before.start(), b), "")
        return self.remove_inline(span)

    def remove_comment(self, span: Span) -> Edit:
        """Remove a comment: its line when it is alone on it, else it and the spaces before."""
        a, b = self.range(span)
        line_start = self.text.rfind("\n", 0, a) + 1
        if not self.text[line_start:a].strip():
            end = self.text.find("\n", b)
            return Edit(self.span(line_start, len(self.text) if end < 0 else end + 1), "")
        return self.remove_inline(span)

    def remove_item(self, items: Sequence[Span], i: int) -> Edit | None:
        """Remove item `i` of a comma-separated list with one comma; None when it is the only
        item or a comment sits between it and its neighbour."""
        if len(items) < 2:
            return None
        if i > 0:
            a, b = self.range(items[i - 1])[1], self.range(items[i])[1]
            gap = self.text[a:self.range(items[i])[0]]
        else:
            a, b = self.range(items[0])[0], self.range(items[1])[0]
            gap = self.text[self.range(items[0])[1]:b]
        return None if "#" in gap else Edit(self.span(a, b), "")


_LINE_REST = re.compile(r"[ \t\r]*(#[^\n]*)?(\n|\Z)")  # spaces, a comment, the line's end
_BLANK_LINE = re.compile(r"[ \t\r]*(\n|\Z)")
_SEMICOLON = re.compile(r"[ \t]*;[ \t]*")


def _ends_blank(before: str) -> bool:
    """Whether the line before a line (`before` ends with its newline) is blank."""
    return not before[:-1].rsplit("\n", 1)[-1].strip()


def overlaps(a: Span, b: Span) -> bool:
    """Whether two edits' spans conflict: they share characters, or insert at one point."""
    sa, ea = (a.line, a.column), (a.end_line, a.end_column)
    sb, eb = (b.line, b.column), (b.end_line, b.end_column)
    return sa == sb or (sa < eb and sb < ea)


def apply_edits(text: str, edits: Iterable[Edit], path: str | None = None) -> str:
    """`text` with non-overlapping `edits` applied; ValueError when two overlap."""
    doc = Text(Source(path or "<string>", text))
    ordered = sorted(edits, key=lambda e: (e.span.line, e.span.column, e.span.end_line,
                                           e.span.end_column))
    for x, y in zip(ordered, ordered[1:]):
        if overlaps(x.span, y.span):
            raise ValueError(f"overlapping edits at {x.span} and {y.span}")
    out, at = [], 0
    for e in ordered:
        a, b = doc.range(e.span)
        out.append(text[at:a])
        out.append(e.text)
        at = b
    out.append(text[at:])
    return "".join(out)
