"""Syntax errors explained: what the parser expected, in the language's words, with a hint
for the usual slips (a typographic quote, `=` for `==`, a space after a sign, an unclosed
block). compiler/parse.py calls `syntax_error` with the grammar's parser.
"""

from __future__ import annotations

import re

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .diagnostics import Diagnostic, Source, Span, did_you_mean
from .names import ALLOWED

# How terminals are named in "expected ..." messages.
_FRIENDLY = {
    "NAME": "a name",
    "QUOTED_NAME": "a `quoted name`",
    "STRING": 'a string such as "text"',
    "SIGNED_NUMBER": "a number such as +10",
    "NUMBER": "a number",
    "INT": "a whole number",
    "DURATION": "a duration such as 30d",
    "PERCENT": "a percentage such as 25%",
    "CMP_OP": "a comparison (==, !=, <, <=, >, >=)",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "$END": "end of file",
}


def _describe_terminal(grammar: Lark, name: str) -> str:
    if name in _FRIENDLY:
        return _FRIENDLY[name]
    try:
        term = grammar.get_terminal(name)
    except KeyError:
        return name.lower()
    if term.pattern.type == "str":
        return f"`{term.pattern.value}`"
    return name.lower()


def _expected(grammar: Lark, names: set[str]) -> str:
    words = sorted({_describe_terminal(grammar, n) for n in names if not n.startswith("__")})
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    if len(words) > 8:
        return ", ".join(words[:8]) + ", ..."
    return ", ".join(words[:-1]) + " or " + words[-1]


def token_span(path: str, tok: Token) -> Span:
    """Where a token stands."""
    return Span(path, tok.line, tok.column, tok.end_line or tok.line,
                tok.end_column or tok.column + len(tok))


def point(path: str, text: str, pos: int, width: int = 1) -> Span:
    """The span of `width` characters at offset `pos` of `text`."""
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return Span(path, line, col, line, col + width)


def _unclosed_brace(text: str) -> int | None:
    """Offset of the last `{` that is never closed, ignoring strings and comments."""
    stack: list[int] = []
    for m in re.finditer(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]', text):
        if m.group() == "{":
            stack.append(m.start())
        elif m.group() == "}" and stack:
            stack.pop()
    return stack[-1] if stack else None


def syntax_error(source: Source, err: UnexpectedInput, grammar: Lark) -> Diagnostic:
    """What `err` means in the words of the language, located, often with a hint."""
    path, text = source.path, source.text
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream
        ch = text[pos]
        span = point(path, text, pos)
        if ch == '"':
            return Diagnostic("unterminated string", span,
                              hint='close the string with `"` on the same line')
        if ch == "`":
            return Diagnostic("unterminated quoted name", span,
                              hint="close the name with ` on the same line")
        expected = _expected(grammar, set(err.allowed or ()))
        msg = f"unexpected character {ch!r}"
        hint = _char_hint(ch)
        spaced = re.match(r"[+-][ \t]+([0-9.]+)", text[pos:pos + 24])
        if spaced:
            hint = f"write `{ch}{spaced.group(1)}` with no space after the sign"
        elif hint is None and pos > 0 and text[pos - 1].isalnum() and not ch.isascii():
            word = re.search(r"[\w\S]*$", text[:pos]).group() + re.match(r"\S*", text[pos:]).group()
            hint = f"{ALLOWED}; write other names in backticks: `{word}`"
        return Diagnostic(msg + (f"; expected {expected}" if expected else ""), span, hint=hint)
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        pos = len(text.rstrip())
        span = point(path, text, max(0, pos - 1) if pos else 0)
        expected = _expected(grammar, _valid_terminals(err) if isinstance(err, UnexpectedToken)
                             else set(err.expected))
        diag = Diagnostic("unexpected end of file" + (f"; expected {expected}" if expected else ""),
                          span)
        brace = _unclosed_brace(text)
        if brace is not None:
            opened = point(path, text, brace)
            diag.notes.append(f"the block opened at {opened} is not closed")
            diag.hint = "add the missing `}`"
        return diag
    assert isinstance(err, UnexpectedToken)
    tok = err.token
    span = token_span(path, tok)
    valid = _valid_terminals(err)
    expected = _expected(grammar, valid)
    shown = str(tok)
    if tok.type == "EVENTS_BODY":
        # Where no block may open, the fallback lexer reads `{...}` as a test's event block:
        # report the brace, not the whole block
        shown = "{"
        span = Span(path, tok.line, tok.column, tok.line, tok.column + 1)
    msg = f"unexpected `{shown}`" + (f"; expected {expected}" if expected else "")
    return Diagnostic(msg, span, hint=_token_hint(grammar, text, tok, valid))


def _valid_terminals(err: UnexpectedToken) -> set[str]:
    """What the parser could take here (the lexer also offers NAME everywhere; see _WholeWords)."""
    state = getattr(err, "state", None)
    try:
        table = state.parse_conf.parse_table.states[state.position]
        return {name for name in table if name.isupper() or name == "$END"}
    except (AttributeError, KeyError, TypeError):
        return set(err.expected)


_CHAR_HINTS = {
    "&": "write `and` to combine conditions",
    "|": "write `or` to combine conditions (`|` only separates event types: `event a|b`)",
    "=": "compare with `==`",
    "!": "write `not`, or `!=` to compare",
    "'": 'strings use double quotes: "text"',
}
_SMART_QUOTES = "\u201c\u201d\u2018\u2019\u00ab\u00bb"


def _char_hint(ch: str) -> str | None:
    if ch in _SMART_QUOTES:
        return 'use straight double quotes "..." (an editor replaced them with typographic ones)'
    return _CHAR_HINTS.get(ch)


def _keywords(grammar: Lark, expected: set[str]) -> list[str]:
    words = []
    for name in expected:
        try:
            term = grammar.get_terminal(name)
        except KeyError:
            continue
        if term.pattern.type == "str" and term.pattern.value.isidentifier():
            words.append(term.pattern.value)
    return words


def _token_hint(grammar: Lark, text: str, tok: Token, expected: set[str]) -> str | None:
    shown = str(tok)
    pos = tok.start_pos or 0
    trailing_event = re.search(r"(?m)^[^#\n]*\brequire[ \t]+event[ \t]*(?:#[^\n]*)?\n\s*"
                               r"([A-Za-z_]\w*)[ \t]*$", text[:pos])
    if trailing_event:  # a gate `require event` ending a tier line, the next tier read as a type
        name = trailing_event.group(1)
        return (f"`event` at the end of a line takes `{name}` on the next line as its event type: "
                f"write `(event)` for any event, or name the type")
    if pos > 0 and text[pos - 1] == '"' and tok.type in ("NAME", "NUMBER", "SIGNED_NUMBER"):
        return ('a string ends right before this word: is the closing quote `"` of an '
                'earlier string missing?')
    if shown in ("+", "-") and re.match(r"[+-][ \t]+[0-9]", text[pos:pos + 12]):
        digits = re.match(r"[+-][ \t]+([0-9.]+)", text[pos:]).group(1)
        return f"write `{shown}{digits}` with no space after the sign"
    if shown in ("=", "&&", "&", "||", "!"):
        return _char_hint(shown[0])
    if tok.type == "NAME":
        if shown.lower() in ("and", "or", "not", "in", "is", "true", "false") and shown != shown.lower():
            return f"keywords are lower case: `{shown.lower()}`"
        close = did_you_mean(shown, _keywords(grammar, expected))
        if close:
            return close
    if "DURATION" in expected and re.fullmatch(r"[0-9]+", shown):
        return "durations are written as a whole number of days, e.g. `30d`"
    if "SIGNED_NUMBER" in expected and tok.type in ("NAME", "NUMBER"):
        return "points are written as a number with a sign, e.g. `+10` or `-5`"
    return None
