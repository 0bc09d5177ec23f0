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
from functools import cached_property, lru_cache

from .text import fold

_META = set(".^$*+?()[]{}|\\")
_PLAIN = set("<>")  # written unescaped: an escape would be an operator in some engine
_CLASS_OPERATORS = set("&-~")  # written escaped inside a class
_SHORTHANDS = {
    "d": "[0-9]", "w": "[a-z0-9_]", "s": "[ \\t\\n]", "b": "(^|[^a-z0-9_])",
    "D": "[^0-9]", "W": "[^a-z0-9_]", "S": "[^ \\t\\n]",
}
MAX_REPEAT = 255  # one count: PostgreSQL's RE_DUP_MAX ("invalid repetition count(s)" above)
# RE2's DFA (the Python evaluators, DuckDB, ClickHouse) needs up to 2^n states for `a.{n}b`
# searched anywhere: above this count they no longer fit its memory (max_mem does not help) and
# each character rebuilds states: `a.{255}b` costs 0.6 ms per 4 000 characters; lint LS306
DFA_COUNT = 16
MAX_REPEAT_PRODUCT = 1000  # RE2's bound on the product of nested counts
MAX_GROUP_DEPTH = 64  # nested groups; the parser recurses once per level
MAX_PATTERN_LENGTH = 10_000  # characters of one pattern
# `searcher` remembers the answers for up to MEMO_ENTRIES texts of at most MEMO_TEXT_LENGTH
# characters per pattern (a bound on memory: 4096 x 256 characters)
MEMO_ENTRIES = 4096
MEMO_TEXT_LENGTH = 256


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

    @cached_property  # read for every value the interpreter and lint test
    def re2(self) -> str:
        # RE2 has no `\Z`; its `\z` is the end of the text, and its `.` skips only `\n`.
        return self.render(end="\\z")

    def search(self, text: str) -> bool:
        """The meaning of `matches` on a present, lower-cased text."""
        return searcher(self.re2)(text)

    def backtracking_safe(self, end: str, dot: str) -> str:
        """The pattern rewritten for a backtracking matcher (rules below `_Set`); the same
        search result on every text."""
        return _render_tree(_rewritten(self.tokens), end, dot)

    @property
    def dfa_hazard(self) -> int | None:
        """The count that makes RE2's DFA slow, when there is one (`_dfa_hazard`)."""
        return _dfa_hazard(_tree(self.tokens))

    @property
    def backtracking_hazard(self) -> str | None:
        """What a backtracking matcher may still take exponential time on after the rewrite."""
        return _hazard(_rewritten(self.tokens), under=False)


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
            self.fail(f"repetition count above {MAX_REPEAT} is not portable (PostgreSQL refuses it)",
                      hint="use `+` / `*`, or repeat a group: `(x{100}){3}`")
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
        # a non-ASCII character is never an operator, and RE2 rejects `\` before one; Rust's
        # regex (DataFusion) reads `\<` `\>` as word boundaries and refuses them in a class
        return nxt if not nxt.isascii() or nxt in _PLAIN else "\\" + nxt

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
        # Rust's regex (DataFusion) reads `&&` `--` `~~` in a class as set operations and Java
        # `&&`: escaped, they are the characters everywhere
        return "\\" + ch if ch in _CLASS_OPERATORS else ch


def _unescape(ch: str) -> str:
    return ch[1:] if ch.startswith("\\") else ch


@lru_cache(maxsize=4096)  # each lint rule, the checker and the IR reader compile the same text
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
            raise RegexError(f"nested repetition counts multiply to more than {MAX_REPEAT_PRODUCT}", 0,
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

    RE2's Set answers only whether there is a match, from its DFA (no match object, no
    submatches). A call still costs about 1.5 µs against Python re's 0.4 µs, mostly the
    binding, so answers for short texts are remembered: text fields repeat (titles,
    industries, pages), and a repeated value then costs a dictionary look-up.
    """
    import re2

    found = re2.Set.SearchSet(_re2_options())
    found.Add(pattern)
    found.Compile()
    match = found._set.Match  # the wrapper's Match re-checks the type on every call
    memo: dict[str, bool] = {}

    def search(text: str) -> bool:
        hit = memo.get(text)
        if hit is None:
            # surrogatepass: a lone surrogate (JSON `"\\udc80"`) is searched as Python's re
            # would, not raised
            hit = bool(match(text.encode("utf-8", "surrogatepass")))
            if len(text) <= MEMO_TEXT_LENGTH:
                if len(memo) >= MEMO_ENTRIES:
                    memo.clear()
                memo[text] = hit
        return hit

    return search


# ---------------------------------------------------------------- backtracking engines
# MariaDB's PCRE2, MySQL 8's ICU and Spark's java.util.regex backtrack: `(a+)+$` takes
# exponential time there, and an unanchored `a+$` quadratic time (every start position
# rescans the run). `backtracking_safe` rewrites a pattern into one with the same search
# result whose quantifiers cannot be split two ways where the rewrite rules apply:
#   1. a repetition or alternation whose language is "any string over one character set C
#      with a length in [lo, hi]" becomes the single quantifier C{lo,hi}: `(a+)+` -> `a+`,
#      `(a|aa)+` -> `a+`, `(x+x+)+` -> `x{2,}`, `([a-z0-9]|[0-9a])+` -> `[a-z0-9]+`;
#   2. at an unanchored end of a search, X{m,n} finds a match exactly when X{m} does
#      (drop the extra copies of X the match would begin or end with): `a+$` -> `a$`,
#      `[a-z]*@` -> `@`.
# `backtracking_hazard` names what is left that such an engine may still backtrack on.

ADJACENT_REPETITIONS = "adjacent repetitions over overlapping characters"  # polynomial time
_MAX_CODE = 0x10FFFF
_Ranges = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Set:
    """A one-character matcher: `ranges` of code points, or all but them when `neg`."""

    neg: bool
    ranges: _Ranges

    def union(self, other: _Set) -> _Set:
        if not self.neg and not other.neg:
            return _Set(False, _merge(self.ranges + other.ranges))
        if self.neg and other.neg:
            return _Set(True, _intersect(self.ranges, other.ranges))
        pos, neg = (self, other) if other.neg else (other, self)
        return _Set(True, _subtract(neg.ranges, pos.ranges))

    def render(self) -> str:
        if self.neg and not self.ranges:
            return "[\\s\\S]"  # every character, `\n` too (`[^]` means nothing portable)
        body = "".join(_class_char(lo) if lo == hi else f"{_class_char(lo)}-{_class_char(hi)}"
                       for lo, hi in self.ranges)
        if not self.neg and len(self.ranges) == 1 and self.ranges[0][0] == self.ranges[0][1]:
            ch = chr(self.ranges[0][0])
            return "\\" + ch if ch in _META else body
        return ("[^" if self.neg else "[") + body + "]"


def _class_char(code: int) -> str:
    ch = chr(code)
    if ch == "\n":
        return "\\n"
    escape = ch.isascii() and not ch.isalnum() and ch.isprintable() and ch not in _PLAIN and ch != " "
    return "\\" + ch if escape else ch


def _merge(ranges: _Ranges) -> _Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _complement(ranges: _Ranges) -> _Ranges:
    out, nxt = [], 0
    for lo, hi in _merge(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX_CODE:
        out.append((nxt, _MAX_CODE))
    return tuple(out)


def _intersect(a: _Ranges, b: _Ranges) -> _Ranges:
    return _complement(_complement(a) + _complement(b))


def _subtract(a: _Ranges, b: _Ranges) -> _Ranges:
    return _intersect(a, _complement(b))


_DOT = _Set(True, ((ord("\n"), ord("\n")),))


def _class_set(text: str) -> _Set:
    """The set a class token (`[a-z_\\.]`, `[^@]`) or a one-character token (`a`, `\\.`) means."""
    if not text.startswith("["):
        return _Set(False, ((ord(text[-1]), ord(text[-1])),))
    neg = text.startswith("[^")
    i, ranges, body = 0, [], text[2 if neg else 1:-1]

    def char() -> int:
        nonlocal i
        if body[i] == "\\":
            i += 2
            return ord(body[i - 1])
        i += 1
        return ord(body[i - 1])

    while i < len(body):
        lo = char()
        if i + 1 < len(body) and body[i] == "-":
            i += 1
            ranges.append((lo, char()))
        else:
            ranges.append((lo, lo))
    return _Set(neg, _merge(tuple(ranges)))


# tree nodes: ("set", _Set), ("cat", items), ("alt", branches), ("rep", node, lo, hi|None),
# ("group", node), ("start",), ("end",)
def _tree(tokens: tuple[tuple[str, str], ...]) -> tuple:
    """The tokens as a tree, built with an explicit stack (no recursion on nesting)."""
    stack: list[list[list[tuple]]] = [[[]]]
    for kind, text in tokens:
        seq = stack[-1][-1]
        if kind in ("start", "end"):
            seq.append((kind,))
        elif kind == "dot":
            seq.append(("set", _DOT))
        elif text == "(":
            stack.append([[]])
        elif text == ")":
            seq = stack.pop()  # type: ignore[assignment]
            stack[-1][-1].append(("group", _alt(seq)))  # type: ignore[arg-type]
        elif text == "|":
            stack[-1].append([])
        elif text in ("*", "+", "?") or text.startswith("{"):
            lo, hi = _bounds(text)
            seq.append(("rep", seq.pop(), lo, hi))
        else:
            seq.append(("set", _class_set(text)))
    return _alt(stack[0])


def _alt(branches: list[list[tuple]]) -> tuple:
    cats = [("cat", tuple(b)) for b in branches]
    return cats[0] if len(cats) == 1 else ("alt", tuple(cats))


def _bounds(text: str) -> tuple[int, int | None]:
    if text in ("*", "+", "?"):
        return {"*": (0, None), "+": (1, None), "?": (0, 1)}[text]
    low, _, high = text[1:-1].partition(",")
    if "," not in text:
        return int(low), int(low)
    return int(low), int(high) if high else None


def _power(node: tuple) -> tuple[_Set | None, int, int | None] | None:
    """(C, lo, hi) when `node` matches exactly the strings over C of length lo..hi
    (C None: only the empty string), else None."""
    kind = node[0]
    if kind == "set":
        return node[1], 1, 1
    if kind == "group":
        return _power(node[1])
    if kind == "cat":
        acc: tuple[_Set | None, int, int | None] = (None, 0, 0)
        for item in node[1]:
            p = _power(item)
            if p is None or (p[0] is not None and acc[0] is not None and p[0] != acc[0]):
                return None
            hi = None if acc[2] is None or p[2] is None else acc[2] + p[2]
            acc = (acc[0] or p[0], acc[1] + p[1], hi)
        return acc
    if kind == "alt":
        parts = [_power(b) for b in node[1]]
        if any(p is None for p in parts):
            return None
        sets = {p[0] for p in parts if p is not None and p[0] is not None}
        if all(p is not None and p[1:] == (1, 1) for p in parts):  # a choice of characters
            merged = None
            for s in sets:
                merged = s if merged is None else merged.union(s)
            return merged, 1, 1
        if len(sets) > 1:
            return None
        spans = sorted(((p[1], p[2]) for p in parts if p is not None),
                       key=lambda span: (span[0], span[1] is None, span[1] or 0))
        lo, hi = spans[0]
        for a, b in spans[1:]:
            if hi is not None and a > hi + 1:
                return None  # a gap: `(a|aaa)`
            hi = None if hi is None or b is None else max(hi, b)
        return (sets.pop() if sets else None), lo, hi
    if kind == "rep":
        p = _power(node[1])
        if p is None:
            return None
        cs, a, b = p
        m, n = node[2], node[3]
        if b == 0 or n == 0:
            return None, 0, 0
        first = max(m, 1)
        # the lengths are the union over k = m..n of [k*a, k*b]: one interval when no gap
        if m == 0 and a > 1:
            return None
        if b is not None and (n is None or n > first) and first * (b - a) < a - 1:
            return None
        hi = None if b is None or n is None else n * b
        return cs, m * a, hi
    return None


def _render_tree(node: tuple, end: str, dot: str) -> str:
    kind = node[0]
    if kind == "set":
        return dot if node[1] == _DOT else node[1].render()
    if kind == "start":
        return "^"
    if kind == "end":
        return end
    if kind == "group":
        return "(" + _render_tree(node[1], end, dot) + ")"
    if kind == "cat":
        return "".join(_render_tree(i, end, dot) for i in node[1])
    if kind == "alt":
        return "|".join(_render_tree(b, end, dot) for b in node[1])
    inner = node[1]
    if (node[2], node[3]) == (1, 1):  # one copy: the group only if it holds an alternation
        while inner[0] == "group" and inner[1][0] != "alt":
            inner = inner[1]
        return _render_tree(inner if inner[0] != "alt" else ("group", inner), end, dot)
    if inner[0] not in ("set", "group"):
        inner = ("group", inner)
    return _render_tree(inner, end, dot) + _quantifier(node[2], node[3])


def _quantifier(lo: int, hi: int | None) -> str:
    return {(0, None): "*", (1, None): "+", (0, 1): "?", (1, 1): ""}.get(
        (lo, hi), f"{{{lo}}}" if lo == hi else f"{{{lo},{'' if hi is None else hi}}}")


def _collapse(node: tuple) -> tuple:
    """Rule 1, bottom-up: each repetition or alternation that is a power becomes C{lo,hi}."""
    kind = node[0]
    if kind in ("rep", "alt", "group"):
        p = _power(node)
        if p is not None and (p[1] <= MAX_REPEAT and (p[2] is None or p[2] <= MAX_REPEAT)):
            cs, lo, hi = p
            if cs is None:
                return ("cat", ())
            return ("set", cs) if (lo, hi) == (1, 1) else ("rep", ("set", cs), lo, hi)
    if kind == "group":
        return ("group", _collapse(node[1]))
    if kind == "rep":
        return ("rep", _collapse(node[1]), node[2], node[3])
    if kind == "cat":
        return ("cat", _merge_adjacent([_collapse(i) for i in node[1]]))
    if kind == "alt":
        return ("alt", tuple(_collapse(i) for i in node[1]))
    return node


def _repeated(node: tuple) -> tuple[_Set, int, int | None] | None:
    """(C, lo, hi) when `node` is one character set C repeated lo..hi times."""
    if node[0] == "set":
        return node[1], 1, 1
    if node[0] == "rep" and node[1][0] == "set":
        return node[1][1], node[2], node[3]
    return None


def _counted(cs: _Set, lo: int, hi: int | None) -> list[tuple]:
    if hi == 0:
        return []
    return [("set", cs)] if (lo, hi) == (1, 1) else [("rep", ("set", cs), lo, hi)]


def _merge_adjacent(items: list[tuple]) -> tuple:
    """Rule 1 across a sequence: adjacent repetitions that a match could split a run between
    become one, in the same language. C{a,b}C{c,d} is C{a+c,b+d} (`a*a*a*` -> `a*`,
    `a+a*` -> `a+`); X{a,} Y{c,d} with Y within X is X{a,}Y{c} (`[a-z0-9]+[a-z]*` ->
    `[a-z0-9]+`), and X{a,b} Y{c,} with X within Y is X{a}Y{c,}."""
    out: list[tuple] = []
    pending = list(items)[::-1]
    while pending:
        item = pending.pop()
        joined = _joined(out[-1], item) if out else None
        if joined is None:
            out.append(item)
        else:  # the result may join what came before in turn
            out.pop()
            pending.extend(joined[::-1])
    return tuple(out)


def _joined(left: tuple, right: tuple) -> list[tuple] | None:
    prev, cur = _repeated(left), _repeated(right)
    if prev is None or cur is None:
        return None
    (x, m, n), (y, p, q) = prev, cur
    if x == y and (m, n, p, q) != (1, 1, 1, 1):
        lo, hi = m + p, None if n is None or q is None else n + q
        if lo > MAX_REPEAT or (hi is not None and hi > MAX_REPEAT):
            return None
        return _counted(x, lo, hi)
    if n is None and q != p and x.union(y) == x:
        return _counted(x, m, None) + _counted(y, p, p)
    if q is None and n != m and x.union(y) == y:
        return _counted(x, m, m) + _counted(y, p, None)
    return None


def _trim(items: list[tuple], anchor: str, back: bool) -> list[tuple]:
    """Rule 2 at the front of `items` (`back`: they are reversed, and this is the back):
    unless they start with the anchor, a leading X{m,n} becomes X{m}, and a leading group
    or sequence opens up so that its own first item is trimmed in turn."""
    out = list(items)
    while out and out[0][0] != anchor:
        head = out[0]
        if head[0] == "rep":
            inner, m = head[1], head[2]
            out[0:1] = ([inner] + ([("rep", inner, m - 1, m - 1)] if m > 1 else [])) if m else []
        elif head[0] == "group" and head[1][0] == "cat":
            out[0:1] = list(head[1][1][::-1] if back else head[1][1])
        elif head[0] == "cat":
            out[0:1] = list(head[1][::-1] if back else head[1])
        else:
            break
    return out


def _search_form(node: tuple) -> tuple:
    branches = node[1] if node[0] == "alt" else (node,)
    out = []
    for b in branches:
        items = list(b[1]) if b[0] == "cat" else [b]
        items = _trim(items, "start", back=False)
        items = _trim(items[::-1], "end", back=True)[::-1]
        out.append(("cat", tuple(items)) if items else ("cat", (("start",),)))  # `^`: always
    return out[0] if len(out) == 1 else ("alt", tuple(out))


def _first(node: tuple) -> _Set | None:
    """The characters a match of `node` can begin with, when known and it cannot be empty."""
    kind = node[0]
    if kind == "set":
        return node[1]
    if kind == "group":
        return _first(node[1])
    if kind == "rep":
        return _first(node[1]) if node[2] >= 1 else None
    if kind == "cat":
        return _first(node[1][0]) if node[1] else None
    return None


def _overlap(a: _Set, b: _Set) -> bool:
    if a.neg or b.neg:
        return True  # a negated class shares characters with almost anything
    return bool(_intersect(a.ranges, b.ranges))


def _hazard(node: tuple, under: bool) -> str | None:
    """What a backtracking matcher can split two ways under a repetition (`under`)."""
    kind = node[0]
    if kind == "rep":
        repeats = node[3] is None or node[3] > 1
        if under and (node[3] is None or node[3] != node[2]):
            return "a repetition inside a repetition"
        return _hazard(node[1], under or (repeats and node[1][0] != "set"))
    if kind == "alt":
        if under:
            firsts = [_first(b) for b in node[1]]
            for i, a in enumerate(firsts):
                for b in firsts[i + 1:]:
                    if a is None or b is None or _overlap(a, b):
                        return "alternatives that can begin alike inside a repetition"
        for b in node[1]:
            found = _hazard(b, under)
            if found:
                return found
        return None
    if kind == "group":
        return _hazard(node[1], under)
    if kind == "cat":
        spans = [_repeated(i) for i in node[1]]
        for a, b in zip(spans, spans[1:]):
            if a and b and a[2] != a[1] and b[2] != b[1] and _overlap(a[0], b[0]):
                return ADJACENT_REPETITIONS
        for i in node[1]:
            found = _hazard(i, under)
            if found:
                return found
    return None


@lru_cache(maxsize=1024)
def _rewritten(tokens: tuple[tuple[str, str], ...]) -> tuple:
    return _search_form(_collapse(_tree(tokens)))


def _shares(a: _Set, b: _Set) -> bool:
    """Whether some character is in both sets."""
    if a.neg and b.neg:
        return True  # each misses finitely many ranges of a huge space
    if a.neg or b.neg:
        pos, neg = (b, a) if a.neg else (a, b)
        return bool(_subtract(pos.ranges, neg.ranges))
    return bool(_intersect(a.ranges, b.ranges))


def _dfa_hazard(node: tuple) -> int | None:
    """The largest count above DFA_COUNT of a set C, right after an item that can end with a
    character of C, in a sequence a match can start anywhere in (not pinned by a leading `^`
    and fixed items): the DFA must track every start position within the last count characters."""
    kind = node[0]
    if kind in ("group", "rep"):
        return _dfa_hazard(node[1])
    if kind == "alt":
        return max((h for b in node[1] if (h := _dfa_hazard(b)) is not None), default=None)
    if kind != "cat":
        return None
    found, pinned = None, bool(node[1]) and node[1][0][0] == "start"
    for prev, item in zip(node[1], node[1][1:]):
        a, b = _repeated(prev), _repeated(item)
        if a is None or a[2] != a[1]:
            pinned = pinned and prev[0] == "start"
        if a and b and not pinned and a[0] != b[0] and _shares(a[0], b[0]):
            count = b[1] if b[2] is None else b[2]
            if count > DFA_COUNT and (found is None or count > found):
                found = count
    for i in node[1]:
        inner = _dfa_hazard(i) if i[0] != "cat" else None
        if inner is not None and (found is None or inner > found):
            found = inner
    return found
