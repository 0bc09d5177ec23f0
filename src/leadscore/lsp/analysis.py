"""What the language server knows about one open rule file, editor-independent.

`analyze` compiles a buffer as `leadscore check` does (imports resolved, open buffers standing
for their files) and builds a symbol index from the syntax tree's spans and the checker's
resolved names (`Scope.refs`): every declaration and use of a let, score, segment, tier, field
and event type. `lint` adds lint's findings to it. The queries (hover, definition,
references, completion) read an `Analysis` and never compile anything; only `completion`
parses (the tail of the file before the cursor).

Completion asks the grammar's LALR parser which terminals it accepts at the cursor, parsing
from the last declaration that starts a line outside braces (exact when that is where a
declaration starts); which of the model's names fit is judged from the words before the
cursor (after `event`: event types; in a `where`: event fields; ...), an approximation.

Positions here are the compiler's: 1-based lines, 1-based columns in code points.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..compiler import CompileError, ast
from ..compiler.check import CheckResult, Scope, check
from ..compiler.checked import TYPE_WORDS
from ..compiler.diagnostics import Diagnostic, Span
from ..compiler.imports import Resolved, resolve, target_of
from ..compiler.text import fold
from ..lint.config import LintConfig
from ..lint.engine import lint_checked
from ..lint.facts import Facts
from ..lint.registry import COMPILE_ERROR, RULES, Finding
from ..lint.sites import walk

LET, SCORE, SEGMENT, TIER = "let", "score", "segment", "tier"
LEAD_FIELD, EVENT_FIELD, EVENT_TYPE, TOTAL = "lead field", "event field", "event type", "total"
RENAMEABLE = (LET, SCORE)
FIELD_TYPES = ("text", "int", "float", "bool", "timestamp")  # what `field NAME:` takes

Key = tuple[str, str]  # (kind, name); event types by their folded name


@dataclass(frozen=True)
class Occurrence:
    span: Span
    key: Key
    declaration: bool


@dataclass
class Problem:
    """A diagnostic or a lint finding, as an editor shows it."""

    span: Span
    message: str
    severity: str  # error | warning | info
    code: str | None = None  # a lint rule's code, or the compiler's (`not-a-model`)
    related: list[tuple[Span, str]] = field(default_factory=list)
    finding: Finding | None = None  # the lint finding, for its fix


@dataclass
class Analysis:
    path: str
    text: str
    version: int | None
    parsed: bool  # False: the file has a syntax error (the index is empty)
    problems: list[Problem] = field(default_factory=list)
    occurrences: list[Occurrence] = field(default_factory=list)
    module: ast.Module | None = None
    scope: Scope | None = None
    result: CheckResult | None = None
    resolved: Resolved | None = None
    files: list[str] = field(default_factory=list)  # the files the model read, the root first
    linted: bool = False
    _by_line: dict[str, dict[int, list[Occurrence]]] = field(default_factory=dict, repr=False)
    _facts: Facts | None = field(default=None, repr=False)
    _lines: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def lines(self, path: str) -> list[str]:
        """The lines of a file of the model (split once): the root's from this text, an
        import's as it was read."""
        if path not in self._lines:
            src = self.resolved.sources.get(path) if self.resolved and path != self.path else None
            text = src.text if src is not None else (self.text if path == self.path else "")
            self._lines[path] = text.split("\n")
        return self._lines[path]

    # ---------------------------------------------------------------- the index
    def at(self, path: str, line: int, column: int) -> Occurrence | None:
        """The occurrence of a name under (line, column) of `path`, ends included (a cursor
        just after a name is on it)."""
        if not self._by_line:
            for o in self.occurrences:
                self._by_line.setdefault(o.span.path, {}).setdefault(o.span.line, []).append(o)
        for o in self._by_line.get(path, {}).get(line, []):
            if o.span.column <= column <= o.span.end_column:
                return o
        return None

    def declarations(self, key: Key) -> list[Occurrence]:
        return [o for o in self.occurrences if o.key == key and o.declaration]

    def references(self, key: Key, declarations: bool = True) -> list[Occurrence]:
        return [o for o in self.occurrences if o.key == key and (declarations or not o.declaration)]

    def names(self, kind: str) -> list[str]:
        return list(dict.fromkeys(o.key[1] for o in self.occurrences
                                  if o.declaration and o.key[0] == kind))

    @property
    def facts(self) -> Facts | None:
        """lint's Facts of the model (bounds of scores and rules), once it checks; the
        server's own instance, not lint's (its caches are not shared between threads)."""
        if self._facts is None and self.scope is not None and self.result is not None \
                and self.result.checked is not None:
            self._facts = Facts(self.module, self.scope, self.path, self.resolved.sources,
                                self.resolved.replacements)
        return self._facts


    def keep_index(self, previous: Analysis | None) -> None:
        """Of a text that does not parse: navigate and complete with the names of the last
        text that did (while typing, most of a file is as it was)."""
        if self.parsed or previous is None or not previous.parsed:
            return
        self.occurrences, self.module, self.scope = previous.occurrences, previous.module, previous.scope
        self.result, self.resolved, self.files = previous.result, previous.resolved, previous.files


def analyze(text: str, path: str, version: int | None = None,
            overlay: Mapping[str, str] | None = None) -> Analysis:
    """Parse and check `text` as the file `path` (its imports from `overlay` or disk)."""
    a = Analysis(path, text, version, parsed=False)
    try:
        resolved = resolve(text, path, overlay)
    except CompileError as err:
        a.problems = [_problem(d, path) for d in err.diagnostics]
        return a
    result = check(resolved.module)
    a.parsed, a.module, a.result, a.resolved = True, resolved.module, result, resolved
    a.scope, a.files = result.scope, list(resolved.files)
    a.problems = [_problem(d, path) for d in result.diagnostics]
    a.occurrences = list(_index(resolved.module, result.scope))
    return a


def lint(a: Analysis, config: LintConfig | None = None) -> None:
    """Add lint's findings to a checked analysis (the checker's own stay as they are)."""
    if a.resolved is None or a.result is None or a.result.checked is None:
        return
    findings = lint_checked(a.resolved, a.result, config).findings
    checker = [p for p in a.problems if p.finding is None]
    a.problems = checker + [
        Problem(f.span, f.message + (f"\nhint: {f.hint}" if f.hint else ""), f.severity, f.code,
                finding=f)
        for f in findings if f.code != COMPILE_ERROR.code]
    a.linted = True


def _problem(d: Diagnostic, path: str) -> Problem:
    span = d.span or Span(path, 1, 1, 1, 2)
    message = d.message + "".join(f"\nnote: {n}" for n in d.notes) + (
        f"\nhint: {d.hint}" if d.hint else "")
    return Problem(span, message, d.severity if d.severity in ("error", "warning", "info")
                   else "error", d.code, list(d.related))


def rule_doc_url(base: str | None, code: str | None) -> str | None:
    """Where lint rule `code` is documented: the docs/lint.md heading `## CODE name` under
    `base` (a URL ending in `/`, or None when the documentation is nowhere to be linked).
    The one place that knows how the documentation's anchors are made."""
    rule = RULES.get(code or "")
    if base is None or rule is None:
        return None
    return f"{base}lint.md#{rule.code.lower()}-{rule.name}"


def local_docs() -> str | None:
    """The docs folder of a source checkout, as a file URL, when there is one."""
    docs = Path(__file__).resolve().parents[3] / "docs"
    return docs.as_uri() + "/" if (docs / "lint.md").is_file() else None


# ---------------------------------------------------------------- building the index
def _index(module: ast.Module, scope: Scope | None) -> Iterator[Occurrence]:
    refs = scope.refs if scope is not None else {}
    tiers = set()
    for item in module.items:
        yield from _declared(item)
        if isinstance(item, ast.TiersDecl):
            tiers.update(e.name.text for e in item.entries)
    for item in module.items:
        for n in walk(item):
            if isinstance(n, ast.Name) and n.span in refs:
                yield Occurrence(n.span, (refs[n.span], n.text), False)
            elif isinstance(n, ast.EventFilter) and n.types:
                for t in n.types:
                    yield Occurrence(t.span, (EVENT_TYPE, fold(t.text)), False)
            elif isinstance(n, ast.TiersDecl) and n.segment is not None:
                yield Occurrence(n.segment.span, (SEGMENT, n.segment.text), False)
            elif isinstance(n, ast.GradeDecl):
                yield Occurrence(n.score.span, (SCORE, n.score.text), False)
            elif isinstance(n, ast.AccountDecl):
                yield Occurrence(n.field.span, (LEAD_FIELD, n.field.text), False)
            elif isinstance(n, ast.TestDecl):
                yield from _test_uses(n, scope, tiers)


def _declared(item: ast.Node) -> Iterator[Occurrence]:
    def decl(name: ast.Name, kind: str, text: str | None = None) -> Occurrence:
        return Occurrence(name.span, (kind, text or name.text), True)

    if isinstance(item, ast.SchemaDecl):
        if item.lead is not None:
            for fd in item.lead.fields:
                yield decl(fd.name, LEAD_FIELD)
            if item.lead.created is not None and all(
                    fd.name.text != item.lead.created.text for fd in item.lead.fields):
                yield decl(item.lead.created, LEAD_FIELD)
        if item.event is not None:
            for fd in item.event.fields:
                yield decl(fd.name, EVENT_FIELD)
            for t in item.event.types:
                yield decl(t, EVENT_TYPE, fold(t.text))
    elif isinstance(item, ast.LetDecl):
        yield decl(item.name, LET)
    elif isinstance(item, ast.ScoreDecl):
        yield decl(item.name, SCORE)
    elif isinstance(item, ast.SegmentDecl):
        yield decl(item.name, SEGMENT)
    elif isinstance(item, ast.TiersDecl):
        for e in item.entries:
            yield decl(e.name, TIER)


def _test_uses(t: ast.TestDecl, scope: Scope | None, tiers: set[str]) -> Iterator[Occurrence]:
    for lead in t.leads:
        for f in lead.fields:
            yield Occurrence(f.name.span, (LEAD_FIELD, f.name.text), False)
    for e in t.events:
        yield Occurrence(e.type.span, (EVENT_TYPE, fold(e.type.text)), False)
        for f in e.fields:
            yield Occurrence(f.name.span, (EVENT_FIELD, f.name.text), False)
    for x in t.expects:
        if x.of == "account":  # the account's own columns, not the lead's names
            continue
        if scope is not None and x.name.text in scope.scores:
            yield Occurrence(x.name.span, (SCORE, x.name.text), False)
        elif x.value.kind == "name" and x.name.text in (TIER, "held_from", SEGMENT):
            kind = SEGMENT if x.name.text == SEGMENT else TIER
            if kind == SEGMENT or x.value.value in tiers:
                yield Occurrence(x.value.span, (kind, str(x.value.value)), False)


# ---------------------------------------------------------------- imports
IMPORT_LINE = re.compile(r'\s*import\s+"([^"\\\n]*)"')  # a line that imports, and its path


def import_at(a: Analysis, line: int, column: int) -> Path | None:
    """The file an `import "..."` under the cursor reads (its path written without escapes)."""
    lines = a.lines(a.path)
    m = IMPORT_LINE.match(lines[line - 1]) if 0 < line <= len(lines) else None
    if m is None or not m.start(1) <= column <= m.end(1) + 1:
        return None
    return target_of(m.group(1), a.path)


# ---------------------------------------------------------------- hover
def hover(a: Analysis, path: str, line: int, column: int) -> tuple[str, Span] | None:
    """Markdown about the name or rule label under the cursor, and the span it covers."""
    o = a.at(path, line, column)
    if o is not None:
        text = _describe(a, o.key)
        return (text, o.span) if text else None
    r = _rule_at(a, path, line, column)
    if r is not None:
        return _describe_rule(a, r), r.label_span
    return None


def _describe(a: Analysis, key: Key) -> str | None:
    kind, name = key
    decls = a.declarations(key)
    schema = a.scope.schema if a.scope is not None else None
    if kind in (LEAD_FIELD, EVENT_FIELD):
        types = schema.lead_fields if kind == LEAD_FIELD and schema else \
            schema.event_fields if schema else {}
        table = _table(a, kind)
        return f"**{kind}** `{name}`: {types.get(name, 'unknown type')}" + (
            f"\n\ntable `{table}`" if table else f"\n\nthe {kind.split()[0]}s table")
    if kind == EVENT_TYPE:
        return f"**event type** `{name}`"
    facts = a.facts
    if kind == LET and a.scope is not None and name in a.scope.lets:
        decl = a.scope.lets[name]
        type_ = _let_type(a, name)
        return f"**let** `{name}`" + (f": {type_}" if type_ else "") + \
            f"\n\n```score\nlet {name} = {_source(a, decl.value.span)}\n```"
    if kind == SCORE and a.scope is not None and name in a.scope.scores:
        s = a.scope.scores[name]
        out = f"**score** `{name}`: {len(s.rules)} rule{'s' if len(s.rules) != 1 else ''}"
        if facts is not None and name in facts.score_bounds:
            iv = facts.score_bounds[name]
            out += f"\n\nmin {_num(iv.lo)}, max {_num(iv.hi)}"
        return out
    if kind == TOTAL:
        decl = next((i for i in a.module.items if isinstance(i, ast.TotalDecl)), None)
        out = "**total**: " + (f"`{_source(a, decl.value.span)}`" if decl else "the sum of the scores")
        if facts is not None:
            iv = facts.total_bounds
            out += f"\n\nmin {_num(iv.lo)}, max {_num(iv.hi)}"
        return out
    if kind == SEGMENT and decls:
        seg = next((i for i in a.module.items if isinstance(i, ast.SegmentDecl)
                    and i.name.span == decls[0].span), None)
        return f"**segment** `{name}`" + (
            f"\n\n```score\nsegment {name} when {_source(a, seg.condition.span)}\n```" if seg else "")
    if kind == TIER:
        lines = [f"**tier** `{name}`"]
        for td in (i for i in a.module.items if isinstance(i, ast.TiersDecl)):
            for e in td.entries:
                if e.name.text != name:
                    continue
                where = f"segment `{td.segment.text}`" if td.segment else "the default tiers"
                at = f"at {e.threshold.text}" if e.threshold else "the lowest tier (no threshold)"
                gates = "".join(f"\n  - requires `{_source(a, g.span)}`" for g in e.requires)
                lines.append(f"- {where}: {at}{gates}")
        return "\n".join(lines)
    return None


def _describe_rule(a: Analysis, r: ast.RuleDecl) -> str:
    out = f"**rule** \"{r.label}\": {r.points.text} points"
    facts = a.facts
    if facts is not None:
        iv = facts.rule_bounds(r)
        out += f"\n\nreachable points: {_num(iv.lo)} to {_num(iv.hi)}"
    return out


def _rule_at(a: Analysis, path: str, line: int, column: int) -> ast.RuleDecl | None:
    if a.scope is None:
        return None
    for s in a.scope.scores.values():
        for r in s.rules:
            sp = r.label_span
            if sp.path == path and sp.line == line and sp.column <= column <= sp.end_column:
                return r
    return None


def _table(a: Analysis, kind: str) -> str | None:
    schema = next((i for i in a.module.items if isinstance(i, ast.SchemaDecl)), None)
    part = (schema.lead if kind == LEAD_FIELD else schema.event) if schema else None
    return part.table if part is not None else None


def _source(a: Analysis, span: Span) -> str:
    """The text under `span`, its whitespace collapsed."""
    src = a.resolved.sources.get(span.path) if a.resolved else None
    if src is None:
        return "…"
    lines = src.text.split("\n")[span.line - 1:span.end_line]
    if not lines:
        return "…"
    lines[-1] = lines[-1][:span.end_column - 1]
    lines[0] = lines[0][span.column - 1:] if len(lines) > 1 else \
        lines[0][span.column - 1:span.end_column - 1]
    return " ".join(" ".join(lines).split())


def _num(x: float) -> str:
    if x in (float("inf"), float("-inf")):
        return "unbounded" if x > 0 else "-unbounded"
    return f"{x:g}"


# ---------------------------------------------------------------- completion
# Declarations that begin at the start of a line outside braces: where the parser can start
# afresh, so completion parses only from the last one before the cursor.
_TOP = re.compile(r"^(model|import|test|account|schema|let|score|total|clamp|disqualify|segment|"
                  r"tiers|grade)\b", re.M)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_STRINGS = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`\n]*`')  # strings and quoted names of one line
_QUIET = re.compile(r'["`#]')  # what is left open before the cursor: a string, a name, a comment
MAX_COMPLETION_TAIL = 200_000  # characters parsed for one completion, at most


@dataclass(frozen=True)
class Completion:
    label: str
    kind: str  # keyword | let | score | segment | tier | lead field | event field | event type | type
    detail: str | None = None


def completion(a: Analysis, text: str, line: int, column: int,
               overlay: Mapping[str, str] | None = None) -> list[Completion]:
    """What may be written at (line, column) of `text`: the keywords the grammar's LALR
    state accepts there, and the model's names that fit the position (`a`'s, or, when `a`
    does not parse, those of `text` without the cursor's line; imports from `overlay`)."""
    if a.resolved is None:  # no names known yet: those of the text without the line being written
        lines = text.split("\n")
        if 0 < line <= len(lines):
            a = analyze("\n".join(lines[:line - 1] + [""] + lines[line:]), a.path, None, overlay)
    offset = _offset(text, line, column)
    before = text[:offset]
    if _QUIET.search(_STRINGS.sub("", before[before.rfind("\n") + 1:])):
        return []  # in a comment or a string: nothing to complete
    word = _WORD.search(before)
    start = offset - (len(word.group()) if word else 0)
    accepted, previous = _accepted(text, start)
    out: list[Completion] = []
    if accepted is None:  # the text before the cursor does not parse: offer every name
        names = True
        previous = []
    else:
        from ..compiler.parse import _parser

        terminals = {t.name: t for t in _parser().terminals}
        for name in sorted(accepted):
            t = terminals.get(name)
            if t is not None and t.pattern.type == "str" and t.pattern.value.isidentifier():
                out.append(Completion(t.pattern.value, "keyword"))
        names = "NAME" in accepted
    if names:
        out.extend(_names(a, previous))
    return out


def _names(a: Analysis, previous: list[str]) -> list[Completion]:
    """The model's names for a name position, narrowed by the words before it."""
    schema = a.scope.schema if a.scope is not None else None
    last = previous[-1] if previous else ""

    def named(kind: str, types: dict[str, str] | None = None) -> list[Completion]:
        return [Completion(n, kind, (types or {}).get(n)) for n in a.names(kind)]

    if last in ("event", "|"):
        return named(EVENT_TYPE)
    if previous[-2:] in (["tiers", "for"], ["segment", "=="]):
        return named(SEGMENT)
    if previous[-2:] in (["tier", "=="], ["held_from", "=="]):
        return named(TIER)
    if last == ":" and "field" in previous[-3:]:
        return [Completion(t, "type") for t in FIELD_TYPES]
    if last in ("let", "score", "segment", "field", "model"):
        return []  # a new name is being declared
    lead = named(LEAD_FIELD, schema.lead_fields if schema else None)
    event = named(EVENT_FIELD, schema.event_fields if schema else None)
    lets = [Completion(n, LET, _let_type(a, n)) for n in a.names(LET)]
    scores = named(SCORE)
    in_where = _in_where(previous)
    return (event + lets if in_where else lead + lets + scores + event)


def _let_type(a: Analysis, name: str) -> str | None:
    """The let's type as the checker typed it, in the words of its messages."""
    t = a.scope.let_types.get(name) if a.scope is not None else None
    return TYPE_WORDS.get(t) if t is not None else None


def _in_where(previous: list[str]) -> bool:
    """Whether the words before the cursor leave it in the `where` of an event filter: a
    `where` after the last word that ends a filter's condition."""
    for w in reversed(previous):
        if w == "where":
            return True
        if w in ("when", "require", "rule", "within", ")", "=", "per", "once", "cap", "{"):
            return False
    return False


def _accepted(text: str, offset: int) -> tuple[set[str] | None, list[str]]:
    """The terminals the parser accepts at `offset` of `text`, and the words (tokens) of the
    declaration before it; None when the text before `offset` does not parse."""
    from lark.exceptions import LarkError

    from ..compiler.parse import _COMMENTS, _parser

    begin = _top_level(text, offset)
    if offset - begin > MAX_COMPLETION_TAIL:
        return None, []
    tail = text[begin:offset]
    try:
        ip = _parser().parse_interactive(tail)
        tokens = []
        for tok in ip.iter_parse():
            tokens.append(str(tok))
        state = ip.parser_state
        table = state.parse_conf.parse_table.states[state.position]
        return {n for n in table if n.isupper()}, tokens
    except LarkError:
        return None, []
    finally:
        _COMMENTS.clear()  # the lexer's comment callback collected the tail's


def _top_level(text: str, offset: int) -> int:
    """Where the last declaration that begins a line outside braces starts before `offset`
    (strings and comments skipped when counting braces), or 0."""
    depth, begin = 0, 0
    marks = re.finditer(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[{}]', text[:offset])
    tops = iter(m.start() for m in _TOP.finditer(text, 0, offset))
    top = next(tops, None)
    for m in marks:
        while top is not None and top < m.start():
            if depth == 0:
                begin = top
            top = next(tops, None)
        if m.group() in "{}":
            depth = max(0, depth + (1 if m.group() == "{" else -1))
    while top is not None:
        if depth == 0:
            begin = top
        top = next(tops, None)
    return begin


def _offset(text: str, line: int, column: int) -> int:
    """The offset of (line, column) in `text`, clamped to the text."""
    pos = 0
    for _ in range(line - 1):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    end = text.find("\n", pos)
    end = len(text) if end < 0 else end
    return min(pos + max(column - 1, 0), end)
