"""Findings as text (source line and caret), JSON, GitHub workflow commands, or SARIF 2.1.0."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from .. import __version__
from ..compiler.diagnostics import Source
from .registry import RULES, Finding

FORMATS = ("text", "json", "github", "sarif")
DOCS = "docs/lint.md"


def anchor(code: str) -> str:
    """The docs/lint.md section of a rule (GitHub's heading anchors)."""
    r = RULES[code]
    return f"{DOCS}#{code.lower()}-{r.name}"


def _count(findings: list[Finding]) -> str:
    c = Counter(f.severity for f in findings)
    parts = [f"{c[s]} {s}{'s' if c[s] != 1 else ''}" for s in ("error", "warning", "info") if c[s]]
    return ", ".join(parts)


def text(findings: list[Finding], sources: dict[str, Source], files: int,
         color: bool = False) -> str:
    out = [f.to_diagnostic().render(sources, color) for f in findings]
    n = len(findings)
    where = f"{files} file{'s' if files != 1 else ''}"
    if n:
        touched = len({f.span.path for f in findings})
        out.append(f"{n} finding{'s' if n != 1 else ''} in {touched} of {where} "
                   f"({_count(findings)})")
    else:
        out.append(f"{where} linted: no findings")
    return "\n".join(out)


def as_json(findings: list[Finding], files: int) -> str:
    c = Counter(f.severity for f in findings)
    return json.dumps({
        "version": 1,
        "files": files,
        "summary": {"error": c["error"], "warning": c["warning"], "info": c["info"]},
        "findings": [f.to_json() for f in findings],
    }, indent=2, ensure_ascii=False)


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def github(findings: list[Finding]) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the pull request."""
    level = {"error": "error", "warning": "warning", "info": "notice"}
    lines = []
    for f in findings:
        s = f.span
        props = (f"file={_escape_property(s.path)},line={s.line},col={s.column},"
                 f"endLine={s.end_line},endColumn={s.end_column},"
                 f"title={_escape_property(f'{f.code} {f.name}')}")
        message = f.message + (f" (hint: {f.hint})" if f.hint else "")
        lines.append(f"::{level[f.severity]} {props}::{_escape_data(message)}")
    return "\n".join(lines)


def _uri(path: str) -> str:
    p = Path(path)
    if p.is_absolute():
        try:
            return p.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return p.as_uri()
    return p.as_posix()


def sarif(findings: list[Finding]) -> str:
    """SARIF 2.1.0, as GitHub code scanning and other tools read it. Columns count characters."""
    level = {"error": "error", "warning": "warning", "info": "note"}
    codes = sorted(RULES)
    index = {c: i for i, c in enumerate(codes)}
    rules = [{
        "id": c,
        "name": RULES[c].name,
        "shortDescription": {"text": RULES[c].summary},
        "help": {"text": f"See {anchor(c)}"},
        "defaultConfiguration": {"level": level[RULES[c].severity]},
    } for c in codes]
    results = []
    for f in findings:
        s = f.span
        message = f.message + (f" Hint: {f.hint}." if f.hint else "")
        results.append({
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": level[f.severity],
            "message": {"text": message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": _uri(s.path)},
                "region": {"startLine": s.line, "startColumn": s.column,
                           "endLine": s.end_line, "endColumn": max(s.end_column, 1)},
            }}],
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "leadscore", "version": __version__,
                                "semanticVersion": __version__, "rules": rules}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)
