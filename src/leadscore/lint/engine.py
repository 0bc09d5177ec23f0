"""Lint one rule file: compile it (errors stop here), run every enabled rule, apply suppressions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..compiler import CompileError, is_ir_path, read_source
from ..compiler.check import CheckResult, check
from ..compiler.diagnostics import Diagnostic, Source, Span
from ..compiler.imports import Resolved, resolve
from . import rules as _rules  # noqa: F401 - importing registers the rules
from . import suppress
from .config import LintConfig
from .facts import Facts, LintOptions
from .registry import COMPILE_ERROR, RANK, RULES, Finding


@dataclass
class LintResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    sources: dict[str, Source] = field(default_factory=dict)
    compiled: bool = True

    def worst(self) -> str | None:
        return max((f.severity for f in self.findings), key=RANK.__getitem__, default=None)


def _compile_findings(diags: list[Diagnostic], path: str) -> list[Finding]:
    out = []
    for d in diags:
        span = d.span or Span(path, 1, 1, 1, 2)
        out.append(Finding(COMPILE_ERROR.code, COMPILE_ERROR.name, d.severity
                           if d.severity in RANK else "error", d.message, span, d.hint))
    return out


def lint_source(text: str, path: str = "<string>", config: LintConfig | None = None,
                overlay: Mapping[str, str] | None = None) -> LintResult:
    """Lint `text` as the file `path`. Imports are resolved so that names from a base model are
    known, but only findings located in this file are reported; `overlay` is as for
    `imports.resolve` (an editor's unsaved buffers)."""
    result = LintResult(path, sources={path: Source(path, text)})
    if is_ir_path(path):  # compiled: the rules, names and comments lint reads are gone
        diag = Diagnostic("a compiled IR file has no rule-file source to lint",
                          Span(path, 1, 1, 1, 2), hint="lint the .score file it was compiled from")
        result.findings = _compile_findings([diag], path)
        result.compiled = False
        return result
    try:
        resolved = resolve(text, path, overlay)
    except CompileError as err:
        result.sources = dict(err.sources)  # without this file's text if it is no model
        result.findings = _compile_findings(err.diagnostics, path)
        result.compiled = False
        return result
    return lint_checked(resolved, check(resolved.module), config)


def lint_checked(resolved: Resolved, checked: CheckResult,
                 config: LintConfig | None = None) -> LintResult:
    """Lint a model already resolved and checked (its root file is the first of
    `resolved.files`): what `lint_source` does after compiling, for a caller that keeps the
    checker's result (the language server)."""
    config = config or LintConfig()
    enabled = config.enabled()
    path = resolved.files[0]
    result = LintResult(path, sources=dict(resolved.sources))
    if any(d.severity == "error" for d in checked.diagnostics) or checked.checked is None \
            or checked.scope is None:
        result.findings = _compile_findings(checked.diagnostics, path)
        result.compiled = False
        return result
    facts = Facts(resolved.module, checked.scope, path, result.sources, resolved.replacements,
                  LintOptions(sales_tiers=config.sales_tiers))
    found: list[Finding] = _compile_findings(checked.diagnostics, path)  # checker warnings
    seen: set[tuple] = set()
    for code, severity in enabled.items():
        r = RULES[code]
        if r.check is None:
            continue
        for hit in r.check(facts):
            key = (code, hit.span, hit.message)
            if not facts.own(hit.span) or key in seen:
                continue
            seen.add(key)
            fix = hit.fix if hit.fix and all(facts.own(e.span) for e in hit.fix.edits) else None
            found.append(Finding(code, r.name, severity, hit.message, hit.span, hit.hint, fix))
    # the resolved module keeps this file's comments: the file is parsed once
    sups, malformed = suppress.collect(resolved.module.comments, result.sources[path])
    found = suppress.apply(found, sups, enabled, facts.doc) + malformed
    unused = suppress.UNUSED_SUPPRESSION.code
    result.findings = sorted(
        [_with_severity(f, enabled) for f in found if f.code != unused or unused in enabled],
        key=lambda f: (f.span.line, f.span.column, f.code))
    return result


def _with_severity(f: Finding, enabled: dict[str, str]) -> Finding:
    if f.code in enabled and f.code != COMPILE_ERROR.code:
        f.severity = enabled[f.code]
    return f


def compile_failure(err: CompileError, path: str) -> LintResult:
    """The result for a file that could not even be read as a model."""
    return LintResult(path, _compile_findings(err.diagnostics, path), err.sources, compiled=False)


def lint_file(path: str | Path, config: LintConfig | None = None) -> LintResult:
    try:
        text = read_source(path)
    except CompileError as err:
        return compile_failure(err, str(path))
    return lint_source(text, str(path), config)
