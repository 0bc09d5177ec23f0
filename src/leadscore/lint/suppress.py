"""In-file suppressions: `# leadscore: ignore[LS103]` (codes or rule names, comma-separated).

A suppression at the end of a line covers findings that start on that line; a comment alone
on its line covers the next line that is not a comment. Each code that suppressed nothing is
itself a finding (LS001), so stale suppressions do not pile up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..compiler import ast
from ..compiler.diagnostics import Source, Span
from .edits import Fix, Text
from .registry import RULES, UNUSED_SUPPRESSION, Finding, lookup

_PATTERN = re.compile(r"#\s*leadscore\s*:\s*ignore\b(\s*\[([^\]]*)\])?")


@dataclass
class Suppression:
    words: list[tuple[str, Span]]  # each code or name, with where it is written
    lines: set[int]
    span: Span  # the comment
    at: Span  # the `leadscore: ignore[...]` part of it, from its `#`
    used: set[str] = field(default_factory=set)  # words that suppressed something

    def covers(self, f: Finding) -> str | None:
        if f.span.line not in self.lines:
            return None
        for word, _ in self.words:
            if any(r.code == f.code for r in lookup(word)):
                return word
        return None


def collect(comments: list[ast.Comment], source: Source) -> tuple[list[Suppression], list[Finding]]:
    """The file's suppressions, and findings for malformed ones."""
    lines = source.text.splitlines()
    out: list[Suppression] = []
    bad: list[Finding] = []
    for c in comments:
        m = _PATTERN.search(c.text)
        if m is None:
            continue
        s = c.span
        if m.group(1) is None:
            bad.append(_unused(s, "`# leadscore: ignore` needs the codes it suppresses, e.g. "
                                  "`# leadscore: ignore[LS103]`"))
            continue
        words: list[tuple[str, Span]] = []
        base = s.column + m.start(2)
        for w in re.finditer(r"[^,\s]+", m.group(2)):
            col = base + w.start()
            words.append((w.group(0), Span(s.path, s.line, col, s.line, col + len(w.group(0)))))
        if not words:
            bad.append(_unused(s, "`# leadscore: ignore[]` names no rule"))
            continue
        covered = {s.line}
        before = lines[s.line - 1][:s.column - 1] if s.line <= len(lines) else ""
        if not before.strip():  # alone on its line: it speaks about the next statement
            nxt = s.line + 1
            while nxt <= len(lines) and (not lines[nxt - 1].strip()
                                         or lines[nxt - 1].lstrip().startswith("#")):
                nxt += 1
            covered.add(nxt)
        at = Span(s.path, s.line, s.column + m.start(), s.line, s.column + m.end())
        out.append(Suppression(words, covered, s, at))
    return out, bad


def _unused(span: Span, message: str, hint: str | None = None, fix: Fix | None = None) -> Finding:
    r = UNUSED_SUPPRESSION
    return Finding(r.code, r.name, r.severity, message, span, hint, fix)


def _removal(doc: Text, s: Suppression, i: int, everything: bool) -> Fix | None:
    """Remove word `i` of `s`, or the whole suppression when none of its words is kept."""
    if not everything:
        edit = doc.remove_item([span for _, span in s.words], i)
        return Fix(f"Remove `{s.words[i][0]}` from the suppression", (edit,)) if edit else None
    if s.at.column == s.span.column:  # the comment is the suppression: it goes
        return Fix("Remove the unused suppression", (doc.remove_comment(s.span),))
    return Fix("Remove the unused suppression", (doc.remove_inline(s.at),))


def apply(findings: list[Finding], suppressions: list[Suppression],
          enabled: dict[str, str], doc: Text | None = None) -> list[Finding]:
    """Drop suppressed findings; add one for each suppression code that matched nothing,
    with its removal as the fix when `doc` (the file's text) is given."""
    kept: list[Finding] = []
    for f in findings:
        if f.code == "LS000":
            kept.append(f)
            continue
        for s in suppressions:
            word = s.covers(f)
            if word is not None:
                s.used.add(word)
                break
        else:
            kept.append(f)
    for s in suppressions:
        # a word naming no rule, or rules that are enabled, and that suppressed nothing
        stale = [i for i, (word, _) in enumerate(s.words) if word not in s.used
                 and (not lookup(word) or any(r.code in enabled for r in lookup(word)))]
        for i in stale:
            word, span = s.words[i]
            fix = _removal(doc, s, i, len(stale) == len(s.words)) if doc else None
            rules = lookup(word)
            if not rules:
                kept.append(_unused(span, f"unknown lint rule `{word}` in a suppression",
                                    "codes look like LS103; `leadscore lint --list-rules` lists "
                                    "them", fix))
            else:
                what = rules[0].code if len(rules) == 1 else word
                name = f" {RULES[what].name}" if what in RULES else ""
                kept.append(_unused(span, f"unused suppression: no {what}{name} finding here",
                                    "remove it from the comment", fix))
    return kept
