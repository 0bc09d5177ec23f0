"""The portable regular-expression subset, validated once and emitted per engine.

`matches` is an unanchored, case-insensitive search (LANGUAGE.md, semantics 3).
Backends lower both the value and the pattern, so no engine's case-insensitive
flag is trusted. The subset is what Python `re`, RE2 (DuckDB, BigQuery), POSIX
ERE (PostgreSQL) and Java (Spark) read the same way: literals, `.`, classes,
`* + ? {m,n}`, `|`, groups, `^`, `$`, and backslash before punctuation only.

Every Python-side evaluator (generated code, interpreter, stream, lint, SQLite's REGEXP)
searches through `searcher`: RE2, whose time is linear in the text, so no pattern of the
subset can backtrack exponentially on an attacker's value (Python's `re` takes hours on
`(a+)+$` against 33 characters).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from .text import fold

_META = set(".^$*+?()[]{}|\\")
_SHORTHANDS = {
    "d": "[0-9]", "w": "[a-z0-9_]", "s": "[ \\t\\n]", "b": "(^|[^a-z0-9_])",
    "D": "[^0-9]", "W": "[^a-z0-9_]", "S": "[^ \\t\\n]",
}
MAX_REPEAT = 1000  # RE2's own bound, also on the product of nested counts
MAX_GROUP_DEPTH = 64  # nested groups; the parser recurses once per level
MAX_PATTERN_LENGTH = 10_000  # characters of one pattern


class RegexError(ValueError):
    """A pattern outside the portable subset; `offset` indexes the pattern text."""

    def __init__(self, message: str, offset: int, hint: str | None = None):
        super().__init__(message)
        self.offset = offset
        self.hint = hint


@dataclass(frozen=True)
class PortableRegex:
    """A validated pattern as tokens, rendered in each engine's own spelling.

    The meaning is Python's `re.search` on lower-cased text with `$` meaning the end
    of the text and `.` any character but a newline.
    """

    source: str  # the lowered pattern as written
    tokens: tuple[tuple[str, str], ...]  # (kind, text); kind: lit | dot | start | end

    def render(self, end: str = "$", dot: str = ".") -> str:
        parts = {"dot": dot, "end": end}
        return "".join(parts.get(kind, text) for kind, text in self.tokens)

    @property
    def python(self) -> str:
        # Python's `$` also matches before a final newline; `\Z` is the end of the text.
        return self.render(end="\\Z")

    @property
    def re2(self) -> str:
        # RE2 has no `\Z`; its `\z` is the end of the text, and its `.` skips only `\n`.
        return self.render(end="\\z")

    def search(self, text: str) -> bool:
        """The meaning of `matches` on a present, lower-cased text."""
        return searcher(self.re2)(text)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def fail(self, message: str, offset: int | None = None, hint: str | None = None):
        raise RegexError(message, self.pos if offset is None else offset, hint)

    def parse(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []  # (kind, text) tokens for re-emission
        self.alternation(out, depth=0)
        if self.pos < len(self.text):
            self.fail("unbalanced `)`", hint="escape a literal parenthesis as `\\)`")
        return out

    def alternation(self, out, depth: int) -> None:
        self.sequence(out, depth)
        while self.peek() == "|":
            out.append(("lit", "|"))
            self.pos += 1
            self.sequence(out, depth)

    def sequence(self, out, depth: int) -> None:
        while True:
            ch = self.peek()
            if ch is None or ch == "|" or (ch == ")" and depth > 0):
                return
            if ch == ")":
                return
            self.repeat(out, depth)

    def repeat(self, out, depth: int) -> None:
        start = self.pos
        anchor = self.atom(out, depth)
        ch = self.peek()
        if ch in ("*", "+", "?", "{"):
            if anchor:
                self.fail("a quantifier cannot follow an anchor")
            self.quantifier(out)
            nxt = self.peek()
            if nxt in ("?", "+"):
                self.fail(f"`{self.text[start:self.pos + 1]}`: lazy and possessive quantifiers are "
                          "not portable", hint="use a plain quantifier")
            if nxt in ("*", "{"):
                self.fail("a quantifier cannot follow another quantifier")

    def quantifier(self, out) -> None:
        ch = self.peek()
        if ch in ("*", "+", "?"):
            out.append(("lit", ch))
            self.pos += 1
            return
        start = self.pos
        end = self.text.find("}", start)
        body = self.text[start + 1:end] if end != -1 else ""
        parts = body.split(",")
        ok = end != -1 and 1 <= len(parts) <= 2 and parts[0].isdigit() and (
            len(parts) == 1 or parts[1] == "" or parts[1].isdigit())
        if not ok:
            self.fail("`{` must start a repetition such as {2} or {1,3}",
                      hint="escape a literal brace as `\\{`")
        low = int(parts[0])
        high = int(parts[1]) if len(parts) == 2 and parts[1] else low
        if len(parts) == 2 and parts[1] and low > high:
            self.fail(f"repetition {{{body}}} has its minimum above its maximum")
        if max(low, high) > MAX_REPEAT:
            self.fail(f"repetition count above {MAX_REPEAT} is not portable")
        out.append(("lit", "{" + body + "}"))
        self.pos = end + 1

    def atom(self, out, depth: int) -> bool:
        """Parse one atom; return True when it was an anchor."""
        ch = self.peek()
        assert ch is not None
        if ch == "(":
            if self.text.startswith("(?", self.pos):
                hint = ("matching already ignores case: remove `(?i)`"
                        if self.text.startswith("(?i)", self.pos) else "use a plain group `(...)`")
                self.fail("`(?...)` groups (flags, lookaround, named groups) are not portable",
                          hint=hint)
            if depth >= MAX_GROUP_DEPTH:
                self.fail(f"groups nested more than {MAX_GROUP_DEPTH} deep",
                          hint="remove groups that repeat or alternate nothing")
            out.append(("lit", "("))
            self.pos += 1
            self.alternation(out, depth + 1)
            if self.peek() != ")":
                self.fail("unclosed group `(`")
            out.append(("lit", ")"))
            self.pos += 1
            return False
        if ch == "[":
            self.char_class(out)
            return False
        if ch in ("*", "+", "?"):
            self.fail(f"`{ch}` has nothing to repeat", hint=f"escape a literal `{ch}` as `\\{ch}`")
        if ch == "{":
            self.fail("`{` has nothing to repeat", hint="escape a literal brace as `\\{`")
        if ch in ("}", "]"):
            self.fail(f"unbalanced `{ch}`", hint=f"escape a literal `{ch}` as `\\{ch}`")
        if ch == "^" or ch == "$":
            out.append(("start" if ch == "^" else "end", ch))
            self.pos += 1
            return True
        if ch == ".":
            out.append(("dot", "."))
            self.pos += 1
            return False
        if ch == "\\":
            out.append(("lit", self.escape()))
            return False
        out.append(("lit", ch))
        self.pos += 1
        return False

    def escape(self) -> str:
        start = self.pos
        nxt = self.text[self.pos + 1] if self.pos + 1 < len(self.text) else None
        if nxt is None:
            self.fail("pattern ends with a lone backslash")
        if nxt.isalnum():
            hint = None
            if nxt in _SHORTHANDS:
                hint = f"write `{_SHORTHANDS[nxt]}` instead of `\\{nxt}`"
            self.fail(f"`\\{nxt}` is not in the portable subset", start, hint)
        if nxt not in _META and not (nxt.isprintable() and not nxt.isspace()):
            self.fail(f"`\\{nxt}` is not in the portable subset", start)
        self.pos += 2
        # a non-ASCII character is never an operator, and RE2 rejects `\` before one
        return nxt if not nxt.isascii() else "\\" + nxt

    def char_class(self, out) -> None:
        start = self.pos
        self.pos += 1
        parts = ["["]
        if self.peek() == "^":
            parts.append("^")
            self.pos += 1
        members = 0
        while True:
            ch = self.peek()
            if ch is None:
                self.fail("unclosed character class `[`", start)
            if ch == "]":
                if members == 0:
                    self.fail("empty character class", start, hint="escape a literal `]` as `\\]`")
                self.pos += 1
                break
            if ch == "[" and self.text.startswith("[:", self.pos):
                self.fail("POSIX classes such as [:alpha:] are not portable",
                          hint="list the characters, e.g. [a-z]")
            lo = self.class_char()
            if self.peek() == "-" and self.pos + 1 < len(self.text) and self.text[self.pos + 1] != "]":
                self.pos += 1
                hi = self.class_char()
                if _unescape(hi) < _unescape(lo):
                    self.fail(f"range `{lo}-{hi}` is out of order", start)
                parts.append(f"{lo}-{hi}")
            else:
                parts.append(lo)
            members += 1
        parts.append("]")
        out.append(("lit", "".join(parts)))

    def class_char(self) -> str:
        ch = self.peek()
        assert ch is not None
        if ch == "\\":
            return self.escape()
        if ch == "[":
            self.fail("escape `[` inside a class as `\\[`")
        self.pos += 1
        return ch


def _unescape(ch: str) -> str:
    return ch[1:] if ch.startswith("\\") else ch


def compile_portable(pattern: str) -> PortableRegex:
    """Validate `pattern` (case is folded first) and return its per-engine spellings."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RegexError(f"pattern is {len(pattern)} characters long; the limit is "
                         f"{MAX_PATTERN_LENGTH}", MAX_PATTERN_LENGTH,
                         hint="split it into several `matches` joined with `or`")
    _Parser(pattern).parse()  # errors and hints refer to the pattern as written
    lowered = fold(pattern)
    tokens = _Parser(lowered).parse()
    rx = PortableRegex(source=lowered, tokens=tuple(tokens))
    refusal = _re2_refusal(rx.re2)  # RE2 engines (DuckDB, ClickHouse) would refuse it too
    if refusal is not None:
        if "repetition" in refusal:
            raise RegexError(f"nested repetition counts multiply to more than {MAX_REPEAT}", 0,
                             hint="repeat a smaller group, or use `+` / `*`")
        raise RegexError(f"pattern is too large for a linear-time matcher (RE2: {refusal})", 0,
                         hint="split it into several `matches` joined with `or`")
    return rx


def _re2_options():
    import re2

    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported by compile_portable
    return options


def _re2_refusal(pattern: str) -> str | None:
    from re2 import _re2

    compiled = _re2.RE2(pattern.encode(), _re2_options())
    return None if compiled.ok() else compiled.error().decode(errors="replace")


@lru_cache(maxsize=1024)
def searcher(pattern: str) -> Callable[[str], bool]:
    """An unanchored RE2 search for `pattern` in RE2's spelling (`PortableRegex.re2`).

    RE2's Set answers only whether there is a match, from its DFA: no match object and no
    submatches, which keeps it within about twice Python `re`'s time on short values.
    """
    import re2

    found = re2.Set.SearchSet(_re2_options())
    found.Add(pattern)
    found.Compile()
    match = found._set.Match  # the wrapper's Match re-checks the type on every call
    # surrogatepass: a lone surrogate (JSON `"\\udc80"`) matches no character instead of raising
    return lambda text: bool(match(text.encode("utf-8", "surrogatepass")))
