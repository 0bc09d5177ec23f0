"""LS3xx: regular expressions that are portable (the checker saw to that) but suspicious."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...compiler import ast
from ...compiler.diagnostics import Span
from ...compiler.regex import ADJACENT_REPETITIONS, DFA_COUNT, PortableRegex, RegexError, compile_portable
from ...fmt.literals import quote_string
from ..edits import Fix
from ..facts import Facts
from ..registry import Hit, rule
from ..sites import walk

_QUANTIFIERS = "*+?{"
# texts no ordinary pattern matches all of, unless it matches everything
_PROBES = ("", "\x01", "zq9 ~\u00e9", "\n")


def _matches(facts: Facts) -> Iterator[tuple[ast.Matches, PortableRegex]]:
    """Each `matches` test of the model (not of its tests) whose pattern compiles, compiled."""
    for item in facts.items:
        if isinstance(item, ast.TestDecl):
            continue
        for n in walk(item):
            if isinstance(n, ast.Matches):
                rx = _valid(n.pattern.value)
                if rx is not None:
                    yield n, rx


def _patterns(facts: Facts) -> Iterator[tuple[ast.String, PortableRegex]]:
    for n, rx in _matches(facts):
        yield n.pattern, rx


def _rewrite(facts: Facts, p: ast.String, pattern: str, title: str) -> Fix | None:
    return facts.fix(title, p.span, lambda doc: [doc.replace(p.span, quote_string(pattern))])


def _raw_column(p: ast.String, offset: int) -> int:
    """Column of character `offset` of the pattern's value inside the literal as written."""
    raw, i, produced = p.raw, 1, 0
    while i < len(raw) - 1 and produced < offset:
        i += 2 if raw[i] == "\\" and raw[i + 1] in '"\\' else 1
        produced += 1
    return p.span.column + i


def _at(p: ast.String, offset: int, width: int = 1) -> Span:
    if not p.raw or p.span.line != p.span.end_line:
        return p.span
    col = _raw_column(p, offset)
    return Span(p.span.path, p.span.line, col, p.span.line, col + width)


def _scan(pattern: str) -> Iterator[tuple[int, str, int]]:
    """(offset, character, group depth) of each character outside classes and escapes."""
    i, depth = 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i += 1
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
            i += 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        yield i, ch, depth
        i += 1


def _valid(pattern: str) -> PortableRegex | None:
    try:
        return compile_portable(pattern)
    except RegexError:
        return None


@rule("LS301", "regex-matches-everything", "warning",
      "a pattern that matches every text, so the test only checks the value is present")
def regex_matches_everything(facts: Facts) -> Iterator[Hit]:
    for p, rx in _patterns(facts):
        if all(rx.search(probe) for probe in _PROBES):
            yield Hit(p.span, f"pattern \"{p.value}\" matches every text (it can match nothing "
                      "at all, and `matches` searches anywhere)",
                      "write `is present` if that is meant; otherwise require at least one "
                      "character (`+` instead of `*`)")


def _plain(pattern: str) -> tuple[bool, bool, str] | None:
    """(anchored at start, anchored at end, literal text) for a pattern with no operators."""
    start = pattern.startswith("^")
    body = pattern[1:] if start else pattern
    end = body.endswith("$") and not body.endswith("\\$")
    body = body[:-1] if end else body
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(body[i + 1])
            i += 2
            continue
        if ch in ".^$*+?()[]{}|":
            return None
        out.append(ch)
        i += 1
    return (start, end, "".join(out)) if out else None


@rule("LS302", "regex-is-plain-text", "info",
      "a pattern with no operators: `contains`, `starts_with`, `ends_with` or `==` says it plainly",
      fixable=True)
def regex_is_plain_text(facts: Facts) -> Iterator[Hit]:
    for n, _ in _matches(facts):
        p = n.pattern
        plain = _plain(p.value)
        if plain is None:
            continue
        start, end, text = plain
        op = {(False, False): "contains", (True, False): "starts_with",
              (False, True): "ends_with", (True, True): "=="}[(start, end)]
        quoted = quote_string(text)
        # both are case-insensitive and false on a missing value: the same test
        fix = facts.fix(f"Write `{op} {quoted}`", n.span, lambda doc, n=n, op=op, q=quoted: [
            doc.replace(n.span, f"{doc.of(n.value.span)} {op} {q}")])
        yield Hit(p.span, f"pattern \"{p.value}\" is plain text", f"write `{op} {quoted}`: "
                  "clearer, and no regular-expression rules to get wrong", fix)


@rule("LS303", "regex-unescaped-dot", "warning",
      "a `.` between letters, as in a domain name: it matches any character, not a dot",
      fixable=True)
def regex_unescaped_dot(facts: Facts) -> Iterator[Hit]:
    for p, _ in _patterns(facts):
        v = p.value
        for i, ch, _ in _scan(v):
            if ch != ".":
                continue
            # words on both sides (`gmail.com`, `acme.io`) read as a domain or file name;
            # `a.c` is more likely a deliberate wildcard
            left = re.search(r"[A-Za-z0-9_-]*$", v[:i]).group(0)  # type: ignore[union-attr]
            right = re.match(r"[A-Za-z0-9_-]*", v[i + 1:]).group(0)  # type: ignore[union-attr]
            if len(left) >= 2 and len(right) >= 2 and right[0].isalpha():
                word = f"{left}.{right}"
                escaped = word.replace(".", "\\.", 1)
                fix = _rewrite(facts, p, v[:i] + "\\" + v[i:], f"Escape the dot: \"{escaped}\"")
                yield Hit(_at(p, i), f"`.` in \"{word}\" matches any character, so "
                          f"\"{word.replace('.', 'x', 1)}\" matches too",
                          f"escape it for a literal dot: \"{escaped}\"", fix)
                break


@rule("LS304", "regex-anchor-precedence", "warning",
      "`^a|b` anchors only the first alternative: `|` binds loosest", fixable=True)
def regex_anchor_precedence(facts: Facts) -> Iterator[Hit]:
    for p, _ in _patterns(facts):
        v = p.value
        bars = [i for i, ch, depth in _scan(v) if ch == "|" and depth == 0]
        if not bars:
            continue
        cuts = [-1, *bars, len(v)]
        branches = [v[a + 1:b] for a, b in zip(cuts, cuts[1:])]
        starts = [b.startswith("^") for b in branches]
        ends = [b.endswith("$") and not b.endswith("\\$") for b in branches]
        mixed = [sym for flags, sym in ((starts, "^"), (ends, "$")) if any(flags) and not all(flags)]
        if not mixed:
            continue
        sym = mixed[0]
        flags = starts if sym == "^" else ends
        # every anchor that only some alternatives carry moves outside one group
        bare = []
        for b, st, en in zip(branches, starts, ends):
            b = b[1:] if "^" in mixed and st else b
            bare.append(b[:-1] if "$" in mixed and en else b)
        inner = "|".join(bare)
        fixed = f"{'^' if '^' in mixed else ''}({inner}){'$' if '$' in mixed else ''}"
        yield Hit(p.span, f"`{sym}` in \"{v}\" anchors only "
                  f"{'the alternatives that carry it' if sum(flags) > 1 else 'one alternative'}"
                  ": `|` binds loosest", f"group the alternatives: \"{fixed}\"",
                  _rewrite(facts, p, fixed, f"Group the alternatives: \"{fixed}\""))


@rule("LS305", "regex-backtracking", "warning",
      "a pattern that backtracking engines (MariaDB/MySQL, Spark) may need exponential or "
      "high-polynomial time for, even after leadscore's rewrite")
def regex_backtracking(facts: Facts) -> Iterator[Hit]:
    for p, rx in _patterns(facts):
        hazard = rx.backtracking_hazard
        if hazard is not None:
            yield Hit(p.span, f"pattern \"{p.value}\" has {hazard}: on MariaDB/MySQL and Spark, "
                      "whose regex matchers backtrack, a crafted value can take hours (the other "
                      "engines match in linear time)",
                      _ADJACENT_HINT if hazard == ADJACENT_REPETITIONS else
                      "repeat a single character class (`[a-z.]+` rather than `([a-z]+.)+`), "
                      "or score on an engine with a linear matcher (duckdb, python)")


_ADJACENT_HINT = ("make one class contain the other (`[a-z0-9]+[a-z]*` is rewritten to `[a-z0-9]+`) "
                  "or the two disjoint (`[a-z]+[0-9]*`), or score on an engine with a linear "
                  "matcher (duckdb, python)")


@rule("LS306", "regex-large-count", "warning",
      "a large count after a character it also matches, in a pattern a match can start anywhere "
      "in: slow on RE2 engines (python, DuckDB, ClickHouse, SQLite)")
def regex_large_count(facts: Facts) -> Iterator[Hit]:
    for p, rx in _patterns(facts):
        count = rx.dfa_hazard
        if count is not None:
            yield Hit(p.span, f"pattern \"{p.value}\" repeats {count} times a class that the "
                      "character before it also belongs to: RE2's DFA (python, DuckDB, ClickHouse, "
                      f"SQLite) needs up to 2^{count} states for it and slows to about 0.6 ms per "
                      "4 000-character value", f"anchor it with `^`, or use a count of at most "
                      f"{DFA_COUNT}, or a class the character before is not in (`a[^a]{{{count}}}b`)")
