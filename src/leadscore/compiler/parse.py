"""Source text -> syntax tree (`ast.Module`), or located diagnostics.

Lark parses (LALR, contextual lexer, positions propagated); a Transformer builds
the dataclass AST. Syntax errors become `Diagnostic`s naming what was expected
(compiler/syntax_errors.py).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sys
from functools import lru_cache
from pathlib import Path

import lark
from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedInput

from . import ast, names
from .diagnostics import BIDI_CONTROLS, CompileError, Diagnostic, Source, Span, did_you_mean
from .syntax_errors import point, syntax_error, token_span

# Levels of an expression (check.py also counts the lets it uses, written out). The tightest
# engine parsers, SQLite's and DataFusion's, fail at 18 to 24 levels, by the expression.
MAX_NESTING = 16
MAX_CHAIN = MAX_NESTING - 2  # operators in one chain (`a + b + c`): each nests a level
# The size of a model's rule files, its imports included (UTF-8 bytes): a 2 000-rule model is
# about 0.25 MB; parsing runs at about 2 s a megabyte. And per file: lines, and the length of
# one string or quoted name (a label, a pattern, a path) in characters.
MAX_SOURCE_BYTES = 2_000_000
MAX_LINES = 100_000
MAX_STRING = 10_000
SHOWN_PER_FILE = 20  # control characters reported in one file before a count
NOT_A_MODEL = "not-a-model"  # the code of the diagnostic that shows nothing of the file

# Characters a rule file may not hold anywhere, strings and comments included: controls other
# than tab, newline, carriage return and form feed (an ESC in a label reaches the terminal of
# whoever prints it), line separators, and the bidirectional controls that make a line show
# in another order than it is read (Trojan Source). The language has no escape for them.
_FORBIDDEN = re.compile(f"[\x01-\x08\x0b\x0e-\x1f\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}]")


class _TooLong(Exception):
    def __init__(self, span: Span):
        self.span = span


class _WholeWords:
    """Post-lexer that keeps names lexable everywhere.

    With the contextual lexer, a state that expects only the keyword `rule` would lex
    `rules` as `rule` + `s`. Accepting NAME in every state makes the longest match
    win, so `rules` is one (unexpected) word.
    """

    always_accept = ("NAME",)

    def process(self, stream):
        return stream


# Comments of the file being parsed (the lexer skips them; fmt and lint suppressions need them).
_COMMENTS: list[Token] = []


def _comment(tok: Token) -> None:
    """The lexer's COMMENT callback: a module-level function, so that a cached parser names
    it (pickle) and, loaded back, still appends to this module's `_COMMENTS`."""
    _COMMENTS.append(tok)


_GRAMMAR = Path(__file__).parent.parent / "grammar" / "score.lark"
_OPTIONS = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True,
            "maybe_placeholders": True}
_MAGIC = b"leadscore-parser 1 "


@lru_cache(maxsize=1)
def _parser() -> Lark:
    """The grammar's parser, built once per machine and cached: building the LALR tables
    takes about 0.4 s, loading them about 0.04 s."""
    grammar = _GRAMMAR.read_text("utf-8")
    # everything the tables depend on; the postlexer's always_accept shapes them too
    key = hashlib.sha256("\0".join([grammar, lark.__version__, repr(sys.version_info[:2]),
                                     repr(sorted(_OPTIONS.items())),
                                     repr(_WholeWords.always_accept)]).encode()).hexdigest()
    base = _cache_dir()
    path = base / f"parser-{key[:32]}.pickle" if base is not None else None
    if path is not None and (parser := _load_cached(path, key)) is not None:
        return parser
    parser = Lark(grammar, **_OPTIONS, postlex=_WholeWords(), lexer_callbacks={"COMMENT": _comment})
    if path is not None:
        _save_cached(path, key, parser)
    return parser


def _cache_dir() -> Path | None:
    """leadscore's directory in the user's cache (XDG_CACHE_HOME, LOCALAPPDATA on Windows,
    else ~/.cache), or None when there is no home to put it in."""
    base = os.environ.get("XDG_CACHE_HOME") or (os.environ.get("LOCALAPPDATA")
                                                if sys.platform == "win32" else None)
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no HOME and no passwd entry
            return None
    return Path(base) / "leadscore"


def _header(key: str, body: bytes) -> bytes:
    return _MAGIC + key.encode() + b" " + hashlib.sha256(body).hexdigest().encode() + b"\n"


def _load_cached(path: Path, key: str) -> Lark | None:
    """The parser saved under `key`, or None when the file is missing, stale, truncated or
    corrupt: its header holds the key and a digest of the pickle, checked before loading.
    A pickle runs code when loaded, so (on POSIX) only a file of this user's that no one
    else may write is read: a cache directory set to a shared place is then merely slow."""
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
                return None
            data = f.read()
        end = data.find(b"\n") + 1
        if end == 0 or data[:end] != _header(key, data[end:]):
            return None
        return Lark.load(io.BytesIO(data[end:]))
    except Exception:  # any failure means: build it instead
        return None


def _save_cached(path: Path, key: str, parser: Lark) -> None:
    """Write beside the final name and rename over it, so a reader sees the whole file or
    none. An unwritable cache is left alone: the next process builds the parser again."""
    import tempfile  # only when building, which is rare

    tmp = None
    try:
        buf = io.BytesIO()
        parser.save(buf)
        body = buf.getvalue()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(_header(key, body) + body)
        os.replace(tmp, path)
    except Exception:  # not cached, this time: the parser in hand is all the caller needs
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _span_of(path: str, meta) -> Span:
    if getattr(meta, "empty", True) or not hasattr(meta, "line"):
        return Span(path, 1, 1, 1, 2)  # an empty file or rule: point at the start
    return Span(path, meta.line, meta.column, meta.end_line, meta.end_column)


def _unescape(literal: str) -> str:
    body = literal[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in '"\\':
                out.append(nxt)
            elif nxt in "ntr":
                out.append({"n": "\n", "t": "\t", "r": "\r"}[nxt])
            else:  # unknown escapes keep their backslash: "acme\.com" is the regex acme\.com
                out.append("\\" + nxt)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _name_text(tok: Token, span: Span) -> str:
    """A back-quoted name as written; a bare word as the name it stands for (compiler/names.py)."""
    if tok.type == "QUOTED_NAME":
        return tok[1:-1]
    return _bare(str(tok), span)


def _bare(word: str, span: Span) -> str:
    if not names.is_name(word):
        raise EventLineError(f"`{word}` is not a name: {names.ALLOWED}", span,
                             hint=f"write other names in backticks: `{word}`")
    return names.normal(word)


_DURATION_RE = re.compile(r"([0-9]+)([^\W\d]+)")  # a unit in any alphabet: `30días`


class _Builder(Transformer):
    """Lark tree -> dataclass AST. Positions come from each subtree's meta."""

    def __init__(self, path: str):
        super().__init__(visit_tokens=False)
        self.path = path

    def __default__(self, data, children, meta):  # pragma: no cover - grammar/builder mismatch
        raise NotImplementedError(f"no AST builder for grammar rule {data!r}")

    def _transform_tree(self, tree: Tree):
        children = list(self._transform_children(tree.children))
        fn = getattr(self, tree.data, None)
        span = _span_of(self.path, tree.meta)
        if fn is None:
            return self.__default__(tree.data, children, tree.meta)
        return fn(children, span)

    def _tok(self, tok: Token) -> Span:
        return token_span(self.path, tok)

    # ---- leaves
    def name(self, c, span):
        return ast.Name(text=_name_text(c[0], span), span=span)

    def signed(self, c, span):
        return ast.Signed(value=float(c[0]), text=str(c[0]), span=span)

    def _duration(self, tok: Token) -> ast.Duration:
        m = _DURATION_RE.fullmatch(str(tok))
        assert m is not None
        return ast.Duration(amount=int(m.group(1)), unit=m.group(2), text=str(tok),
                            span=self._tok(tok))

    def within(self, c, span):
        return self._duration(c[0])

    # ---- module and declarations
    def start(self, c, span):
        return ast.Module(items=[x for x in c if isinstance(x, ast.Node)], span=span)

    def model_decl(self, c, span):
        version = int(c[1]) if c[1] is not None else None
        return ast.ModelDecl(name=_unescape(c[0]), version=version, span=span)

    def schema_decl(self, c, span):
        lead = next((x for x in c if isinstance(x, ast.LeadSchema)), None)
        event = next((x for x in c if isinstance(x, ast.EventSchema)), None)
        node = ast.SchemaDecl(lead=lead, event=event, span=span)
        node.extra = [x for x in c if isinstance(x, (ast.LeadSchema, ast.EventSchema))]
        return node

    def key_entry(self, c, span):
        return ("key", c[0], span)

    def created_entry(self, c, span):
        return ("created", c[0], span)

    def field_entry(self, c, span):
        return ("field", ast.FieldDecl(name=c[0], type=c[1], span=span), span)

    def table_entry(self, c, span):
        return ("table", _unescape(c[0]), span)

    def lead_entry(self, c, span):
        return ("lead", c[0], span)

    def time_entry(self, c, span):
        return ("time", c[0], span)

    def type_entry(self, c, span):
        return ("type", c[0], span)

    def types_entry(self, c, span):
        return ("types", list(c), span)

    def _entries(self, node, entries):
        node.duplicates = []
        for kind, value, span in entries:
            if kind == "field":
                node.fields.append(value)
            elif kind == "types":
                node.types.extend(value)
            else:
                if getattr(node, kind) is not None:
                    node.duplicates.append((kind, span))
                setattr(node, kind, value)
        return node

    def lead_schema(self, c, span):
        return self._entries(ast.LeadSchema(span=span), [x for x in c if isinstance(x, tuple)])

    def event_schema(self, c, span):
        return self._entries(ast.EventSchema(span=span), [x for x in c if isinstance(x, tuple)])

    def let_decl(self, c, span):
        return ast.LetDecl(name=c[0], value=c[1], span=span)

    def score_cap(self, c, span):
        return ("cap", c[0])

    def score_floor(self, c, span):
        return ("floor", c[0])

    def score_decl(self, c, span):
        opts = [x for x in c[1:] if isinstance(x, tuple)]
        node = ast.ScoreDecl(
            name=c[0],
            cap=next((v for k, v in opts if k == "cap"), None),
            floor=next((v for k, v in opts if k == "floor"), None),
            rules=[x for x in c if isinstance(x, ast.RuleDecl)],
            decays=[x for x in c if isinstance(x, ast.DecayDecl)],
            span=span,
        )
        node.options = opts
        node.body = [x for x in c if isinstance(x, (ast.RuleDecl, ast.DecayDecl))]
        return node

    def rule_decl(self, c, span):
        label_tok: Token = c[0]
        kind, points, repeat, cond, flt, mods = c[1]
        return ast.RuleDecl(label=_unescape(label_tok), label_span=self._tok(label_tok),
                            kind=kind, points=points, repeat_points=repeat, condition=cond,
                            filter=flt, mods=mods, span=span)

    def when_rule(self, c, span):
        return ("when", c[0], None, c[1], None, [])

    def per_rule(self, c, span):
        return ("per", c[0], None, None, c[1], list(c[2:]))

    def once_rule(self, c, span):
        return ("once", c[0], None, None, c[1], list(c[2:]))

    def first_repeat_rule(self, c, span):
        return ("first_repeat", c[0], c[1], None, c[2], list(c[3:]))

    def mod_cap(self, c, span):
        return ast.RuleMod(kind="cap", value=c[0], span=span)

    def mod_half_life(self, c, span):
        return ast.RuleMod(kind="half_life", value=self._duration(c[0]), span=span)

    def mod_lifespan(self, c, span):
        return ast.RuleMod(kind="lifespan", value=self._duration(c[0]), span=span)

    def mod_throttle(self, c, span):
        return ast.RuleMod(kind="throttle", value=self._duration(c[0]), span=span)

    def decay_decl(self, c, span):
        amount, every, flt = c
        if isinstance(amount, Token):  # PERCENT
            return ast.DecayDecl(amount=None, percent=float(str(amount)[:-1]),
                                 amount_span=self._tok(amount), every=self._duration(every),
                                 filter=flt, span=span)
        return ast.DecayDecl(amount=amount, percent=None, amount_span=amount.span,
                             every=self._duration(every), filter=flt, span=span)

    def total_decl(self, c, span):
        return ast.TotalDecl(value=c[0], span=span)

    def clamp_decl(self, c, span):
        return ast.ClampDecl(low=c[0], high=c[1], span=span)

    def disqualify_decl(self, c, span):
        return ast.DisqualifyDecl(reason=_unescape(c[0]), condition=c[1], span=span)

    def segment_decl(self, c, span):
        return ast.SegmentDecl(name=c[0], condition=c[1], span=span)

    def tiers_decl(self, c, span):
        return ast.TiersDecl(segment=c[0], entries=[x for x in c[1:] if isinstance(x, ast.TierEntry)],
                             span=span)

    def tier_entry(self, c, span):
        sticky = self._tok(c[2]) if c[2] is not None else None
        return ast.TierEntry(name=c[0], threshold=c[1], requires=list(c[3:]), sticky=sticky,
                             span=span)

    def tier_require(self, c, span):
        return c[0]

    def grade_decl(self, c, span):
        return ast.GradeDecl(score=c[0], entries=[x for x in c[1:] if isinstance(x, ast.GradeEntry)],
                             span=span)

    def grade_entry(self, c, span):
        return ast.GradeEntry(name=c[0], threshold=c[1], span=span)

    # ---- filters
    def event_filter(self, c, span):
        _, types, where, within = c
        return ast.EventFilter(types=types, where=where, within=within, span=span)

    def type_set(self, c, span):
        return list(c)

    def filter_ref(self, c, span):
        return ast.NameRef(name=c[0], within=c[1], span=span)

    # ---- expressions
    def or_expr(self, c, span):
        return ast.BoolOp(op="or", items=list(c), span=span)

    def and_expr(self, c, span):
        return ast.BoolOp(op="and", items=list(c), span=span)

    def not_(self, c, span):
        return ast.Not(operand=c[1], span=span)

    def compare(self, c, span):
        return ast.Compare(op=str(c[1]), left=c[0], right=c[2], span=span)

    def in_(self, c, span):
        return ast.In(value=c[0], items=c[1], negated=False, span=span)

    def not_in(self, c, span):
        return ast.In(value=c[0], items=c[1], negated=True, span=span)

    def str_test(self, c, span):
        return ast.StrTest(op=str(c[1]), left=c[0], right=c[2], span=span)

    def matches(self, c, span):
        tok: Token = c[1]
        pattern = ast.String(value=_unescape(tok), raw=str(tok), span=self._tok(tok))
        return ast.Matches(value=c[0], pattern=pattern, span=span)

    def is_missing(self, c, span):
        return ast.IsMissing(value=c[0], negated=False, span=span)

    def is_present(self, c, span):
        return ast.IsMissing(value=c[0], negated=True, span=span)

    def _fold(self, c, span):
        if len(c) > 2 * MAX_CHAIN + 1:
            raise _TooLong(token_span(self.path, c[2 * MAX_CHAIN + 1]))
        left = c[0]
        for i in range(1, len(c), 2):
            right = c[i + 1]
            s = Span(self.path, left.span.line, left.span.column, right.span.end_line,
                     right.span.end_column)
            left = ast.BinOp(op=str(c[i]), left=left, right=right, span=s)
        return left

    sum = _fold
    product = _fold

    def neg(self, c, span):
        return ast.Neg(operand=c[1], span=span)

    def number(self, c, span):
        text = str(c[0])
        return ast.Number(value=float(text), is_int="." not in text, span=span)

    def neg_number(self, c, span):
        text = str(c[1])
        return ast.Number(value=-float(text), is_int="." not in text, span=span)

    def string(self, c, span):
        return ast.String(value=_unescape(c[0]), span=span)

    def true(self, c, span):
        return ast.Bool(value=True, span=span)

    def false(self, c, span):
        return ast.Bool(value=False, span=span)

    def name_ref(self, c, span):
        return ast.NameRef(name=c[0], within=c[1], span=span)

    def list(self, c, span):
        return [x for x in c if x is not None]

    def count_agg(self, c, span):
        return ast.Aggregate(kind="count", filter=c[1], span=span)

    def count_distinct_agg(self, c, span):
        return ast.Aggregate(kind="count_distinct", field=c[1], filter=c[2], span=span)

    def sum_agg(self, c, span):
        return ast.Aggregate(kind="sum", field=c[1], filter=c[2], span=span)

    def exists_agg(self, c, span):
        return ast.Aggregate(kind="exists", filter=c[1], span=span)

    def days_since_last(self, c, span):
        return ast.Aggregate(kind="days_since_last", filter=c[1], span=span)

    def days_since_field(self, c, span):
        return ast.Aggregate(kind="days_since_field", field=c[1], filter=None, span=span)

    # ---- accounts
    def count_leads(self, c, span):
        return ast.Aggregate(kind="count_leads", filter=c[2], span=span)

    def _roll(kind):
        def build(self, c, span):
            return ast.Aggregate(kind=kind, filter=None, value=c[1], span=span)
        return build

    roll_sum = _roll("roll_sum")
    roll_max = _roll("roll_max")
    roll_min = _roll("roll_min")
    roll_avg = _roll("roll_avg")

    def import_decl(self, c, span):
        return ast.ImportDecl(path=_unescape(c[0]), path_span=self._tok(c[0]), span=span)

    def account_score(self, c, span):
        return ("score", c[0])

    def account_rule(self, c, span):
        return ast.AccountRule(label=_unescape(c[0]), label_span=self._tok(c[0]), points=c[1],
                               condition=c[2], span=span)

    def account_decl(self, c, span):
        scores = [x[1] for x in c[1:] if isinstance(x, tuple)]
        tiers = [x for x in c[1:] if isinstance(x, ast.TiersDecl)]
        return ast.AccountDecl(field=c[0], score=scores[0] if scores else None,
                               rules=[x for x in c[1:] if isinstance(x, ast.AccountRule)],
                               tiers=tiers[0] if tiers else None, extra_scores=scores[1:],
                               extra_tiers=tiers[1:], span=span)

    # ---- tests
    def _value(self, kind, tok, value=None):
        return ast.TestValue(kind=kind, value=value if value is not None else str(tok),
                             text=str(tok), span=self._tok(tok))

    def timestamp(self, c, span):
        return self._value("timestamp", c[0])

    def missing(self, c, span):
        return ast.TestValue(kind="missing", value=None, text="missing", span=self._tok(c[0]))

    def bare_name(self, c, span):
        name: ast.Name = c[0]
        return ast.TestValue(kind="name", value=name.text, text=name.text, span=name.span)

    def test_as_of(self, c, span):
        return ("as_of", self._value("timestamp", c[0]), span)

    def test_field(self, c, span):
        return ast.TestField(name=c[0], value=_test_value(c[1]), span=span)

    def test_previous_tier(self, c, span):
        return ("previous_tier", c[0], span)

    def test_lead(self, c, span):
        return ("lead", ast.TestLead(fields=[x for x in c if isinstance(x, ast.TestField)],
                                     span=span), span)

    def test_events(self, c, span):
        return ("events", _event_lines(self.path, c[0]), span)

    def expect_lead(self, c, span):
        return ("lead", self._value("string", c[1], _unescape(c[1])))

    def expect_account(self, c, span):
        return ("account", self._value("string", c[0], _unescape(c[0])))

    def test_expect(self, c, span):
        of, key = c[0] if c[0] is not None else (None, None)
        return ("expect", ast.TestExpect(name=c[1], op=str(c[2]), value=_test_value(c[3]),
                                         of=of, key=key, span=span), span)

    def test_decl(self, c, span):
        tok: Token = c[0]
        node = ast.TestDecl(name=_unescape(tok), name_span=self._tok(tok), as_of=None, leads=[],
                            previous_tier=None, events=[], expects=[], span=span)
        for kind, value, where in (x for x in c[1:] if isinstance(x, tuple)):
            if kind == "expect":
                node.expects.append(value)
            elif kind == "lead":
                node.leads.append(value)
            elif kind == "events":
                node.events.extend(value)
            elif getattr(node, kind) is not None:
                node.duplicates.append((kind, where))
            else:
                setattr(node, kind, value)
        return node


def _test_value(v) -> ast.TestValue:
    """Plain literals (number/string/bool nodes) as test values."""
    if isinstance(v, ast.TestValue):
        return v
    if isinstance(v, ast.Number):
        return ast.TestValue(kind="number", value=v.value, text=f"{v.value:g}", span=v.span)
    if isinstance(v, ast.String):
        return ast.TestValue(kind="string", value=v.value, text=v.value, span=v.span)
    if isinstance(v, ast.Bool):
        return ast.TestValue(kind="bool", value=v.value, text=str(v.value).lower(), span=v.span)
    raise AssertionError(v)


_EVENT_TOKEN = re.compile(r'\s+|#[^\n]*|(?P<string>"(?:[^"\\\n]|\\.)*")'
                          r"|(?P<ts>[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9:.]+(?:Z|[+-][0-9:]+)?)?)"
                          r"|(?P<num>[+-]?[0-9]+(?:\.[0-9]+)?)|(?P<name>`[^`\n]+`|" + names.LEX + ")"
                          r"|(?P<bad>.)")


class EventLineError(Exception):
    """A located error found while building the tree (an event line, a word that is no name)."""

    def __init__(self, message: str, span: Span, hint: str | None = None):
        super().__init__(message)
        self.span = span
        self.hint = hint


def _word(text: str, span: Span) -> str:
    """A name of an event line: back-quoted or bare."""
    return text[1:-1] if text.startswith("`") else _bare(text, span)


def _event_lines(path: str, body: Token) -> list[ast.TestEvent]:
    """Read `events { TYPE at TIME [FIELD VALUE]... }`, one event per line."""
    text = str(body)[1:-1]
    events: list[ast.TestEvent] = []
    for i, line in enumerate(text.split("\n")):
        lineno = body.line + i
        base = body.column + 1 if i == 0 else 1
        toks = []
        for m in _EVENT_TOKEN.finditer(line):
            kind = m.lastgroup
            if kind is None:
                continue
            span = Span(path, lineno, base + m.start(), lineno, base + m.end())
            if kind == "bad":
                raise EventLineError(f"unexpected character {m.group()!r} in an event line", span)
            toks.append((kind, m.group(), span))
        if not toks:
            continue
        if len(toks) < 3 or toks[0][0] != "name" or toks[1][1] != "at" or toks[2][0] != "ts":
            raise EventLineError("an event line is `TYPE at TIME`, then `FIELD VALUE` pairs, e.g. "
                                 'page_view at 2026-02-27T10:00:00Z page "/pricing"', toks[0][2])
        ev_type = ast.Name(text=_word(toks[0][1], toks[0][2]), span=toks[0][2])
        time = ast.TestValue(kind="timestamp", value=toks[2][1], text=toks[2][1], span=toks[2][2])
        fields = []
        rest = toks[3:]
        if len(rest) % 2:
            raise EventLineError("event fields come in pairs: `FIELD VALUE`", rest[-1][2])
        for (fk, ft, fs), (vk, vt, vs) in zip(rest[0::2], rest[1::2]):
            if fk != "name":
                raise EventLineError(f"expected a field name, found `{ft}`", fs)
            if vk == "string":
                value = ast.TestValue(kind="string", value=_unescape(vt), text=vt, span=vs)
            elif vk == "num":
                value = ast.TestValue(kind="number", value=float(vt), text=vt, span=vs)
            elif vk == "ts":
                value = ast.TestValue(kind="timestamp", value=vt, text=vt, span=vs)
            elif vt in ("true", "false"):
                value = ast.TestValue(kind="bool", value=vt == "true", text=vt, span=vs)
            elif vt == "missing":
                value = ast.TestValue(kind="missing", value=None, text=vt, span=vs)
            else:
                raise EventLineError(f"expected a value (a string, number, true/false or a "
                                     f"timestamp), found `{vt}`", vs)
            fields.append(ast.TestField(name=ast.Name(text=_word(ft, fs), span=fs), value=value,
                                        span=fs))
        events.append(ast.TestEvent(type=ev_type, time=time, fields=fields,
                                    span=Span(path, lineno, toks[0][2].column, lineno,
                                              toks[-1][2].end_column)))
    return events


# Tokens that open a nesting level, for the depth guard below.
_NEST_RE = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|`[^`\n]*`|[(\[]|[)\]]|\bnot\b|-|\w+|\S')


def _nesting_guard(source: Source) -> Diagnostic | None:
    """Reject absurd nesting before the parser builds a tree too deep to walk."""
    depth = 0
    prefix_run = 0
    for m in _NEST_RE.finditer(source.text):
        tok = m.group()
        if len(tok) > MAX_STRING + 2 and tok[0] in '"`':
            what = "string" if tok[0] == '"' else "quoted name"
            return Diagnostic(f"{what} too long "
                              f"({len(tok) - 2:,} characters; at most {MAX_STRING:,})",
                              point(source.path, source.text, m.start()))
        if tok in ("(", "["):
            depth += 1
        elif tok in (")", "]"):
            depth = max(0, depth - 1)
        prefix_run = prefix_run + 1 if tok in ("not", "-") else 0
        if depth + prefix_run > MAX_NESTING:
            return Diagnostic(
                f"expression nested too deeply (more than {MAX_NESTING} levels)",
                point(source.path, source.text, m.start(), len(tok)),
                hint="split the expression into rules or simpler conditions",
            )
    return None


def text_of(data: bytes) -> str | None:
    """A rule file's bytes as text (UTF-8, a byte order mark dropped), None if not UTF-8."""
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        return None


def not_a_model(path: str, why: str) -> CompileError:
    """The error for a file that is no rule file: located at its start, showing none of it
    (it may be a secret a hostile import or a symbolic link named)."""
    return CompileError([Diagnostic(f"not a model file ({why})", Span(path, 1, 1, 1, 2),
                                    code=NOT_A_MODEL, hint="a rule file begins with a "
                                    "declaration such as `schema`, `score` or `import`")], {})


def _limits(source: Source) -> list[Diagnostic]:
    """The file's size, its line count and the characters it may not hold."""
    text, path = source.text, source.path
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        return [Diagnostic(f"rule file too large ({size:,} bytes; at most {MAX_SOURCE_BYTES:,})",
                           Span(path, 1, 1, 1, 2), hint="split the model: every limit is in "
                           "docs/language.md, \"Limits\"")]
    lines = text.count("\n") + 1
    if lines > MAX_LINES:
        return [Diagnostic(f"rule file too long ({lines:,} lines; at most {MAX_LINES:,})",
                           Span(path, 1, 1, 1, 2), hint="split the model into imported files")]
    found = []
    for m in _FORBIDDEN.finditer(text):
        found.append(m)
        if len(found) > SHOWN_PER_FILE:
            break
    out = []
    for m in found[:SHOWN_PER_FILE]:
        code = ord(m.group())
        where = point(path, text, m.start())
        if m.group() in BIDI_CONTROLS:
            out.append(Diagnostic(f"bidirectional control character U+{code:04X} in a rule file",
                                  where, hint="remove it: it makes the line display in another "
                                  "order than it is read (Trojan Source)"))
        else:
            out.append(Diagnostic(f"control character U+{code:04X} in a rule file", where,
                                  hint="remove it (rule files hold text: in a string, write "
                                  "\\t or \\n for a tab or a newline)"))
    if len(found) > SHOWN_PER_FILE:
        out.append(Diagnostic("more control characters follow", out[-1].span))
    return out



@lru_cache(maxsize=1)
def _openings() -> frozenset[str]:
    """The keywords a rule file may begin with (`schema`, `score`, `import`, ...)."""
    grammar = _parser()
    words = set()
    for name in grammar.parse_interactive("").accepts():
        if name != "$END" and grammar.get_terminal(name).pattern.type == "str":
            words.add(grammar.get_terminal(name).pattern.value)
    return frozenset(words)


def begins_like_a_model(text: str) -> bool:
    """Whether `text` reads as a rule file: its first word (past blank space and comments), or
    the first word of one of its lines followed by a space, opens a declaration. How much of
    a file that fails to load may be shown: a key, a .env file or /proc/self/environ never
    qualify, a model whose first line is broken does."""
    word = re.match(r"[A-Za-z_]+", text[_first_token(text):])
    if word is not None and word.group() in _openings():
        return True
    return any(m.group(1) in _openings() for m in _LINE_WORD.finditer(text))


_LINE_WORD = re.compile(r"^[ \t]*([a-z]+)[ \t]", re.M)


def _reads_as_a_model(text: str) -> bool:
    """`begins_like_a_model`, or nothing but blank space and comments, or a first word that is
    a misspelled keyword (`scor fit {`: its syntax error hints the keyword)."""
    start = _first_token(text)
    if start == len(text) or begins_like_a_model(text):
        return True
    word = re.match(r"([A-Za-z_]+)[ \t]", text[start:])  # a word, as `scor fit`: not `tests=`
    return word is not None and did_you_mean(word.group(1), sorted(_openings())) is not None


def _first_token(text: str) -> int:
    """The offset of the file's first token (past blank space and comments)."""
    return re.match(r"(?:\s+|#[^\n]*)*", text).end()


def parse(text: str, path: str = "<string>") -> ast.Module:
    """Parse one rule file; raise `CompileError` with located diagnostics on failure.

    A file holding a NUL, or that does not read as a rule file (`begins_like_a_model`; its
    first word a misspelled keyword aside), is "not a model file" and none of it is shown:
    that is the file a hostile import or symbolic link names (/proc/self/environ, a key, a
    .env file). This is decided before any other check quotes a line of it."""
    if "\0" in text:
        raise not_a_model(path, "it holds NUL bytes")
    if not _reads_as_a_model(text):
        raise not_a_model(path, "it does not begin with a declaration")
    source = Source(path, text)
    limits = _limits(source)
    if limits:
        raise CompileError(limits, {path: source})
    guard = _nesting_guard(source)
    if guard is not None:
        raise CompileError([guard], {path: source})
    _COMMENTS.clear()
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as err:
        raise CompileError([syntax_error(source, err, _parser())], {path: source}) from None
    comments = [ast.Comment(text=str(t).rstrip(), span=token_span(path, t)) for t in _COMMENTS]
    _COMMENTS.clear()
    try:
        module = _Builder(path).transform(tree)
        module.comments = comments
        return module
    except _TooLong as err:
        diag = Diagnostic(f"arithmetic expression too long (more than {MAX_CHAIN} operators)",
                          err.span, hint="add up many numbers in separate rules instead")
        raise CompileError([diag], {path: source}) from None
    except EventLineError as err:
        raise CompileError([Diagnostic(str(err), err.span, hint=err.hint)],
                           {path: source}) from None
