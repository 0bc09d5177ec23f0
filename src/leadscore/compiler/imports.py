"""`import "base.score"`: merge a base model's declarations into the importing file.

Imported declarations come first, in import order; a later declaration with the same
identity replaces the earlier one in its place (so a base's segment order holds), and
each replacement is recorded for the linter. Paths are relative to the importing file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import ast
from .diagnostics import CompileError, Diagnostic, Source, Span
from .parse import parse


@dataclass
class Replacement:
    identity: str  # e.g. "score fit"
    old: Span
    new: Span


@dataclass
class Resolved:
    module: ast.Module
    sources: dict[str, Source]
    replacements: list[Replacement] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def identity(item: ast.Node) -> str | None:
    """What a later declaration replaces; None for items that simply add up (tests too)."""
    if isinstance(item, ast.LetDecl):
        return f"let {item.name.text}"
    if isinstance(item, ast.ScoreDecl):
        return f"score {item.name.text}"
    if isinstance(item, ast.SegmentDecl):
        return f"segment {item.name.text}"
    if isinstance(item, ast.TiersDecl):
        return f"tiers for {item.segment.text}" if item.segment else "tiers"
    if isinstance(item, ast.DisqualifyDecl):
        return f'disqualify "{item.reason}"'
    if isinstance(item, ast.TestDecl):
        return f'test "{item.name}"'
    for cls, name in ((ast.SchemaDecl, "schema"), (ast.ModelDecl, "model"),
                      (ast.TotalDecl, "total"), (ast.ClampDecl, "clamp"),
                      (ast.GradeDecl, "grade"), (ast.AccountDecl, "account")):
        if isinstance(item, cls):
            return name
    return None


def resolve(text: str, path: str, read) -> Resolved:
    """Parse `text` and everything it imports (recursively); raise CompileError on failure.

    The merged module keeps the comments of `text` itself (lint's suppressions), so a caller
    never parses the file a second time for them."""
    sources: dict[str, Source] = {}
    files: list[str] = []

    def load(file_text: str, file_path: str, stack: list[str]) -> ast.Module:
        sources[file_path] = Source(file_path, file_text)
        files.append(file_path)
        module = parse(file_text, file_path)
        items: list[ast.Node] = []
        errors: list[Diagnostic] = []
        base = Path(file_path).parent if not file_path.startswith("<") else Path.cwd()
        for item in module.items:
            if not isinstance(item, ast.ImportDecl):
                items.append(item)
                continue
            target = (base / item.path).resolve()
            key = str(target)
            if key in stack:
                chain = " -> ".join(Path(p).name for p in [*stack[stack.index(key):], key])
                errors.append(Diagnostic(f"import cycle: {chain}", item.path_span))
                continue
            if not target.is_file():
                errors.append(Diagnostic(f"cannot import {item.path!r}: no such file", item.path_span,
                                         hint=f"paths are relative to {base}"))
                continue
            try:
                child_text = read(target)
                items.extend(load(child_text, _shown(target), [*stack, key]).items)
            except CompileError as err:
                errors.extend(err.diagnostics)
                sources.update(err.sources)
        if errors:
            raise CompileError(errors, sources)
        return ast.Module(items=items, comments=module.comments, span=module.span)

    own = str(Path(path).resolve()) if not path.startswith("<") else path
    top = load(text, path, [own])
    merged: list[ast.Node] = []
    where: dict[str, int] = {}
    replacements: list[Replacement] = []
    for item in top.items:
        ident = identity(item)
        # only a later *file* replaces: two definitions in one file stay an error for the checker
        if ident is not None and ident in where and merged[where[ident]].span.path != item.span.path:
            i = where[ident]
            replacements.append(Replacement(ident, merged[i].span, item.span))
            merged[i] = item
            continue
        if ident is not None:
            where[ident] = len(merged)
        merged.append(item)
    module = ast.Module(items=merged, comments=top.comments, span=Span(path, 1, 1, 1, 2))
    return Resolved(module, sources, replacements, files)


def _shown(target: Path) -> str:
    """A path as users will recognise it in messages: relative to the working directory."""
    try:
        return str(target.relative_to(Path.cwd()))
    except ValueError:
        return str(target)
