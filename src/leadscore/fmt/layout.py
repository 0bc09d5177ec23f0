"""The layout fmt prints: statements (lines and blocks) placed by where they were written,
the source text addressed as spans are, where a test block's entries and comments were, and
how comments are attached to statements and rendered.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from ..compiler.diagnostics import Span
from ..compiler.names import LEX

INDENT = "  "
Pos = tuple[int, int]  # (line, column), 1-based


@dataclass
class Stmt:
    """One printed statement: a line, or a block (`text {` children `}`)."""

    start: Pos
    end: Pos  # the position of its last character (line, column)
    text: str  # a line's text, or a block's header without ` {`
    children: list[Stmt] | None = None
    leading: list[str] = field(default_factory=list)  # comments moved from inside it
    trailing: str | None = None
    header_comment: str | None = None
    free: list[tuple[Pos, str]] = field(default_factory=list)  # own-line comments inside

    @property
    def is_block(self) -> bool:
        return self.children is not None


@dataclass
class CommentAt:
    pos: Pos
    text: str
    own_line: bool


SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`\n]*`?|#[^\n]*|' + LEX + r'|\s+|.', re.S)
EVENTS_BODY = re.compile(r'\{(?:[^}"#]|"(?:[^"\\\n]|\\.)*"|#[^\n]*)*\}')
EVENT_LINE_TOKEN = re.compile(r'\s+|#[^\n]*|"(?:[^"\\\n]|\\.)*"|`[^`\n]+`|[^\s#"`]+|.')
NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


class SourceText:
    """The source text, addressed by (line, column) as spans are."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.lines = text.split("\n")

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col - 1

    def pos(self, offset: int) -> Pos:
        i = bisect.bisect_right(self.starts, offset) - 1
        return (i + 1, offset - self.starts[i] + 1)

    def slice(self, span: Span) -> str:
        return self.text[self.offset(span.line, span.column):
                         self.offset(span.end_line, span.end_column)]

    def blank(self, line: int) -> bool:
        return 1 <= line <= len(self.lines) and not self.lines[line - 1].strip()

    def blank_between(self, after: int, before: int) -> bool:
        return any(self.blank(n) for n in range(after + 1, before))

    def code_before(self, pos: Pos) -> bool:
        line = self.lines[pos[0] - 1]
        return bool(line[: pos[1] - 1].strip())


@dataclass
class TestLayout:
    """Where a `test` block's events (kept by the AST as lines, not as a block) were written."""

    events: tuple[Pos, Pos] | None = None
    comments: list[tuple[Pos, str]] = field(default_factory=list)  # inside `events { }`


def scan_test(src: SourceText, span: Span) -> TestLayout:
    out = TestLayout()
    text = src.text
    pos, end = src.offset(span.line, span.column), src.offset(span.end_line, span.end_column)
    while pos < end:
        m = SCAN.match(text, pos)
        assert m is not None
        word = m.group()
        pos = m.end()
        if word != "events":
            continue
        brace = pos
        while brace < end:  # skip blanks and comments up to the `{`
            n = SCAN.match(text, brace)
            assert n is not None
            if not (n.group().isspace() or n.group().startswith("#")):
                break
            brace = n.end()
        if not text.startswith("{", brace):
            continue
        start = src.pos(m.start())
        body = EVENTS_BODY.match(text, brace)
        if body is None:
            continue
        last = src.pos(body.end() - 1)
        out.events = (out.events[0] if out.events else start, last)
        for tok in EVENT_LINE_TOKEN.finditer(text, body.start() + 1, body.end() - 1):
            if tok.group().startswith("#"):
                out.comments.append((src.pos(tok.start()), tok.group().rstrip()))
        pos = body.end()
    return out


def start_of(span: Span) -> Pos:
    return (span.line, span.column)


def end_of(span: Span) -> Pos:
    return (span.end_line, max(1, span.end_column - 1))


def place(c: CommentAt, block: Stmt) -> None:
    """Attach a comment to the statement of `block` it belongs to (or leave it free)."""
    line = c.pos[0]
    assert block.children is not None
    inside = [ch for ch in block.children if ch.start[0] <= line <= ch.end[0]]
    if not inside:
        block.free.append((c.pos, c.text))
        return
    ch = max(inside, key=lambda s: s.start)
    if not ch.is_block:
        if line == ch.end[0] and not c.own_line and ch.trailing is None:
            ch.trailing = c.text
        else:  # inside a statement that spans lines: it moves before the statement
            ch.leading.append(c.text)
        return
    assert ch.children is not None
    if ch.start[0] < line < ch.end[0] or c.own_line:
        place(c, ch)
    elif ch.start[0] == ch.end[0] and ch.header_comment is None:
        # a block written on one line: its line comment goes where findings on the block
        # start (lint suppressions cover the line they end), the header
        ch.header_comment = c.text
    elif any(g.start[0] <= line <= g.end[0] for g in ch.children):
        place(c, ch)
    elif line == ch.start[0] and ch.header_comment is None:
        ch.header_comment = c.text
    elif line == ch.end[0] and ch.trailing is None:
        ch.trailing = c.text
    else:
        ch.leading.append(c.text)


def render_body(src: SourceText, block: Stmt, depth: int, out: list[str], top: bool = False) -> None:
    """The lines of a block's body, blank lines kept where the source had them."""
    assert block.children is not None
    elems: list[tuple[Pos, Stmt | str]] = [(s.start, s) for s in block.children]
    elems += [(pos, text) for pos, text in block.free]
    elems.sort(key=lambda e: e[0])
    # top level: a block is set off by a blank line even where the source had none
    force_after: set[int] = set()
    if top:
        stmts = [e for _, e in elems if isinstance(e, Stmt)]
        for a, b in zip(stmts, stmts[1:]):
            if (a.is_block or b.is_block) and not src.blank_between(a.end[0], b.start[0]):
                force_after.add(id(a))
    prev_end: int | None = None
    forced = False
    for pos, e in elems:
        if prev_end is not None and (forced or src.blank_between(prev_end, pos[0])):
            out.append("")
        if isinstance(e, str):
            out.append(INDENT * depth + e)
            prev_end, forced = pos[0], False
        else:
            _render(src, e, depth, out)
            prev_end, forced = e.end[0], id(e) in force_after

def _render(src: SourceText, s: Stmt, depth: int, out: list[str]) -> None:
    pad = INDENT * depth
    out.extend(pad + c for c in s.leading)
    trailing = f"  {s.trailing}" if s.trailing else ""
    if s.children is None:
        out.append(pad + s.text + trailing)
    elif not s.children and not s.free and s.header_comment is None:
        out.append(pad + s.text + " {}" + trailing)
    else:
        header = f"  {s.header_comment}" if s.header_comment else ""
        out.append(pad + s.text + " {" + header)
        render_body(src, s, depth + 1, out)
        out.append(pad + "}" + trailing)
