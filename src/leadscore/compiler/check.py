"""The checker: syntax tree -> checked declarations, every error located.

It runs in stages, one module each: declarations of the schema first
(compiler/declarations.py), then resolution of names, let cycles and limits
(compiler/resolve.py), then typing of every expression (compiler/typecheck.py) and the
other declarations. The IR that expressions stand for is built by compiler/lower/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import ast, ir
from .checked import Checked, Ctx
from .declarations import Declarations
from .diagnostics import Diagnostic, Span
from .lower.exprs import Build
from .resolve import Let, Resolution
from .typecheck import Typing


class Checker(Declarations, Resolution, Typing):
    """Checks one module (a file with its imports merged in) in stages."""

    def __init__(self, module: ast.Module):
        self.module = module
        self.diagnostics: list[Diagnostic] = []
        self.build = Build()  # compiler/lower/exprs.py: what each checked expression means
        self.lets: dict[str, Let] = {}
        self.scores: dict[str, ast.ScoreDecl] = {}
        self.lead_fields: dict[str, tuple[str, ast.FieldDecl | None]] = {}
        self.event_fields: dict[str, tuple[str, ast.FieldDecl | None]] = {}
        self.schema: ir.Schema | None = None
        # names whose declaration failed: their uses are not reported again
        self.broken_names: set[str] = set()
        self.events_broken = False
        # what each name use resolved to ("let", "score", "lead field", "event field", "total"),
        # by the span of the name: the symbol index of editors (leadscore.lsp) reads it
        self.refs: dict[Span, str] = {}

    # ---------------------------------------------------------------- reporting
    def error(self, message: str, span: Span, hint: str | None = None,
              related: list[tuple[Span, str]] | None = None) -> None:
        self.diagnostics.append(Diagnostic(message, span, hint=hint, related=related or []))

    def refer(self, name: ast.Name, kind: str) -> None:
        self.refs[name.span] = kind

    # ---------------------------------------------------------------- entry point
    def check(self) -> Checked | None:
        items = self.module.items
        model = self._model(items)
        self._schema(items)
        if self.schema is None:
            return None
        self._collect_names(items)
        if not self._within_limits(items):
            return None  # checking would recurse past the limit
        for let in self.lets.values():
            self._check_let(let)
        scores = [self._score(s) for s in items if isinstance(s, ast.ScoreDecl)]
        total, clamp = self._total(items)
        disqualify = [(d.reason, self._cond(d.condition, Ctx("post", "a disqualify condition")))
                      for d in items if isinstance(d, ast.DisqualifyDecl)]
        segments = self._segments(items)
        tiers = self._tiers(items, [s for s, _ in segments])
        grade = self._grade(items)
        account = self._account(items)
        tests = self._tests(items, [s.name for s in scores], grade is not None, tiers, account)
        if any(d.severity == "error" for d in self.diagnostics):
            return None
        return Checked(
            name=model.name if model else "model", version=model.version if model else None,
            schema=self.schema, build=self.build, scores=scores, total=total, clamp=clamp,
            disqualify=disqualify, segments=segments, tiers=tiers, grade=grade, tests=tests,
            account=account)


@dataclass(frozen=True)
class Scope:
    """What the checker resolved about a model's names, for tools that read its declarations
    (lint): the schema with every field's type, and the declarations of lets and scores."""

    schema: ir.Schema
    lead_fields: dict[str, ast.FieldDecl]  # declared lead fields (not the key, nor `created`)
    event_fields: dict[str, ast.FieldDecl]  # declared event fields (not lead, time, type)
    lets: dict[str, ast.LetDecl]
    scores: dict[str, ast.ScoreDecl]
    refs: dict[Span, str] = field(default_factory=dict)  # Checker.refs
    let_types: dict[str, str] = field(default_factory=dict)  # the type of each let that checks


@dataclass
class CheckResult:
    checked: Checked | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    scope: Scope | None = None  # None when the schema did not check


def check(module: ast.Module) -> CheckResult:
    checker = Checker(module)
    checked = checker.check()
    diags = sorted(checker.diagnostics,
                   key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
    if checker.schema is None:
        return CheckResult(checked, diags)

    def declared(fields: dict[str, tuple[str, ast.FieldDecl | None]]) -> dict[str, ast.FieldDecl]:
        return {name: decl for name, (_, decl) in fields.items() if decl is not None}

    scope = Scope(checker.schema, declared(checker.lead_fields), declared(checker.event_fields),
                  {name: let.decl for name, let in checker.lets.items()}, checker.scores,
                  checker.refs, {name: let.type for name, let in checker.lets.items()
                                 if let.type is not None})
    return CheckResult(checked, diags, scope)

