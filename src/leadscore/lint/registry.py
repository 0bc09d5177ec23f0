"""Lint rules and findings: each rule has a stable code, a kebab-case name and a default severity.

A rule is a function over the model's `Facts` that yields `Hit`s (span, message, hint); the
engine turns hits into `Finding`s with the rule's code and the configured severity. Codes never
change meaning once released: a retired rule keeps its code unused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..compiler.diagnostics import Diagnostic, Span
from .edits import Fix

if TYPE_CHECKING:
    from .facts import Facts

SEVERITIES = ("info", "warning", "error")  # lowest first: `--fail-on` compares ranks
RANK = {name: i for i, name in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class Hit:
    """What a rule found, before the engine gives it a code and a severity."""

    span: Span
    message: str
    hint: str | None = None
    fix: Fix | None = None  # the one mechanical fix, when there is one


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: str
    summary: str  # one line, shown by `--list-rules` and in SARIF
    check: Callable[[Facts], Iterable[Hit]] | None = None  # None: produced by the engine
    fixable: bool = False  # its findings can carry a fix (docs/lint.md says which)


@dataclass
class Finding:
    code: str
    name: str
    severity: str
    message: str
    span: Span
    hint: str | None = None
    fix: Fix | None = None

    def to_diagnostic(self) -> Diagnostic:
        return Diagnostic(f"{self.message} [{self.code} {self.name}]", self.span, self.severity,
                          self.hint, self.code)

    def to_json(self) -> dict:
        s = self.span
        return {"code": self.code, "name": self.name, "severity": self.severity,
                "message": self.message, "hint": self.hint, "path": s.path, "line": s.line,
                "column": s.column, "end_line": s.end_line, "end_column": s.end_column,
                "fix": self.fix.to_json() if self.fix else None}


RULES: dict[str, Rule] = {}


def register(rule_: Rule) -> Rule:
    if rule_.code in RULES or any(r.name == rule_.name for r in RULES.values()):
        raise ValueError(f"lint rule {rule_.code} {rule_.name} is registered twice")
    if rule_.severity not in RANK:
        raise ValueError(f"lint rule {rule_.code}: unknown severity {rule_.severity}")
    RULES[rule_.code] = rule_
    return rule_


def rule(code: str, name: str, severity: str, summary: str, fixable: bool = False):
    """Register the decorated function as the check of a lint rule; a `fixable` one may
    attach a `Fix` to its hits."""

    def wrap(fn: Callable[[Facts], Iterable[Hit]]) -> Callable[[Facts], Iterable[Hit]]:
        register(Rule(code, name, severity, summary, fn, fixable))
        return fn

    return wrap


# Findings the engine makes itself rather than a rule over the model.
COMPILE_ERROR = register(Rule("LS000", "compile-error", "error",
                              "the model does not compile; no other rule runs on it"))
UNUSED_SUPPRESSION = register(Rule("LS001", "unused-suppression", "warning",
                                   "a `# leadscore: ignore[...]` comment that suppresses nothing",
                                   fixable=True))


def lookup(word: str) -> list[Rule]:
    """Rules named by a code, a code prefix (`LS1`), a rule name, or `ALL`."""
    w = word.strip()
    if w.upper() == "ALL":
        return list(RULES.values())
    by_name = [r for r in RULES.values() if r.name == w.lower()]
    if by_name:
        return by_name
    return [r for r in RULES.values() if r.code.startswith(w.upper())] if w.upper().startswith(
        "LS") else []
