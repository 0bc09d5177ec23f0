"""`import "base.score"`: merge a base model's declarations into the importing file.

Imported declarations come first, in import order; a later declaration with the same
identity replaces the earlier one in its place (so a base's segment order holds), and
each replacement is recorded for the linter. Paths are relative to the importing file.

Rule files may come from an unreviewed pull request checked where secrets live, so an import
is confined: a relative path to a `.score` regular file inside the root model's directory
tree, symbolic links resolved before that is checked, opened without ever blocking, and
nothing of a file that is not a model is ever shown (docs/security.md). Imports are resolved
without recursion, within MAX_IMPORT_DEPTH and MAX_IMPORT_FILES.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import ast
from .diagnostics import CompileError, Diagnostic, Source, Span
from .parse import MAX_SOURCE_BYTES, NOT_A_MODEL, parse, text_of

MODEL_SUFFIX = ".score"
MAX_IMPORT_DEPTH = 32  # imports inside imports, the root model being depth 0
MAX_IMPORT_FILES = 256  # files read for one model (a file imported twice is read twice)


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


class _Refused(Exception):
    """An import that is not followed: the message (and hint) located at the import's path."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


@dataclass
class _Frame:
    """A file being expanded: its items so far, and where its walk through its own items is."""

    path: str
    key: str  # the resolved path, for cycles
    module: ast.Module
    items: list[ast.Node] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)
    next: int = 0


def resolve(text: str, path: str, overlay: Mapping[str, str] | None = None) -> Resolved:
    """Parse `text` and everything it imports; raise CompileError on failure.

    `overlay` holds texts that stand for files on disk, by resolved path: an editor's unsaved
    buffers. An import is confined as ever (the file must exist inside the tree); only its
    text comes from the overlay.

    The root is the directory of `path` (the working directory for a model without a file):
    every import, from any file, must resolve inside it. Resolution walks an explicit stack,
    so a chain of imports as deep as the limit allows never recurses. The merged module keeps
    the comments of `text` itself (lint's suppressions), so a caller never parses the file a
    second time for them."""
    sources: dict[str, Source] = {path: Source(path, text)}
    files: list[str] = [path]
    unnamed = path.startswith("<")
    root = Path.cwd().resolve() if unnamed else Path(path).absolute().parent.resolve()
    own = path if unnamed else str(Path(path).resolve())
    stack = [_Frame(path, own, parse(text, path))]
    total_bytes = len(text.encode("utf-8", "surrogatepass"))
    while True:
        frame = stack[-1]
        if frame.next == len(frame.module.items):  # this file is done: into its importer
            stack.pop()
            if frame.errors:
                if not stack:
                    raise CompileError(frame.errors, sources)
                stack[-1].errors.extend(frame.errors)
                continue
            if not stack:
                top = frame
                break
            stack[-1].items.extend(frame.items)
            continue
        item = frame.module.items[frame.next]
        frame.next += 1
        if not isinstance(item, ast.ImportDecl):
            frame.items.append(item)
            continue
        try:
            target = _confined(item.path, frame.path, root, unnamed)
            key = str(target)
            keys = [f.key for f in stack]
            if key in keys:
                chain = " -> ".join(Path(p).name for p in [*keys[keys.index(key):], key])
                raise _Refused(f"import cycle: {chain}")
            if len(stack) > MAX_IMPORT_DEPTH:
                raise _Refused(f"imports nested too deeply (more than {MAX_IMPORT_DEPTH} files "
                               "inside one another)", "import the shared files from one base")
            if len(files) >= MAX_IMPORT_FILES:
                raise _Refused(f"too many imported files (a model may read {MAX_IMPORT_FILES})",
                               "a file imported by several others is read once per import")
            budget = MAX_SOURCE_BYTES - total_bytes
            child_text = _read(target, budget) if overlay is None or key not in overlay \
                else _within(overlay[key], target, budget)
        except _Refused as err:
            frame.errors.append(Diagnostic(str(err), item.path_span, hint=err.hint))
            continue
        total_bytes += len(child_text.encode("utf-8", "surrogatepass"))
        shown = _shown(target)
        try:
            module = parse(child_text, shown)
        except CompileError as err:
            if any(d.code == NOT_A_MODEL for d in err.diagnostics):
                frame.errors.append(Diagnostic(f"cannot import {item.path!r}: not a model file",
                                               item.path_span, code=NOT_A_MODEL,
                                               hint="an import names a rule file"))
            else:
                frame.errors.extend(err.diagnostics)
                sources.update(err.sources)
            continue
        sources[shown] = Source(shown, child_text)
        files.append(shown)
        stack.append(_Frame(shown, key, module))
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
    module = ast.Module(items=merged, comments=top.module.comments, span=Span(path, 1, 1, 1, 2))
    return Resolved(module, sources, replacements, files)


def _confined(written: str, importer: str, root: Path, unnamed: bool) -> Path:
    """The resolved file `written` names from `importer`, or _Refused saying why not."""
    inside = f"imports stay inside the model's directory, {_shown(root)}"
    if "\0" in written:
        raise _Refused("cannot import a path holding a NUL character")
    if not written:
        raise _Refused("cannot import an empty path")
    if Path(written).is_absolute() or written.startswith(("/", "\\")) or Path(written).drive:
        raise _Refused(f"cannot import {written!r}: an absolute path", hint="write the path "
                       f"relative to the importing file; {inside}")
    if not written.endswith(MODEL_SUFFIX):
        raise _Refused(f"cannot import {written!r}: only {MODEL_SUFFIX} files can be imported")
    base = Path.cwd() if unnamed and importer.startswith("<") else Path(importer).absolute().parent
    outside = _Refused(f"cannot import {written!r}: it is outside the model's directory",
                       hint=inside + " (symbolic links are followed before this is checked)")
    # `..` out of the tree is refused before the file system is asked: whether a file exists
    # outside the tree is not told either
    if not Path(os.path.normpath(base.resolve() / written)).is_relative_to(root):
        raise outside
    try:
        target = (base.resolve() / written).resolve(strict=True)
    except FileNotFoundError:
        raise _Refused(f"cannot import {written!r}: no such file",
                       hint=f"paths are relative to {_shown(base)}") from None
    except RuntimeError:  # Python 3.11's pathlib reports a symbolic link loop so
        raise _Refused(f"cannot import {written!r}: a symbolic link loop") from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise _Refused(f"cannot import {written!r}: a symbolic link loop") from None
        raise _Refused(f"cannot import {written!r}: {err.strerror or err}") from None
    if not target.is_relative_to(root):
        raise outside
    if not target.name.endswith(MODEL_SUFFIX):
        raise _Refused(f"cannot import {written!r}: it links to a file that is not a "
                       f"{MODEL_SUFFIX} file")
    return target


def _read(target: Path, budget: int) -> str:
    """A confined file's text. Opened non-blocking and checked to be a regular file on the
    open descriptor (a FIFO or a device swapped in after the path was checked never blocks);
    at most `budget` bytes are read."""
    name = repr(_shown(target))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(target, flags)
    except OSError as err:
        if err.errno == errno.EISDIR:
            raise _Refused(f"cannot import {name}: a directory") from None
        raise _Refused(f"cannot import {name}: {err.strerror or err}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _Refused(f"cannot import {name}: " + ("a directory" if stat.S_ISDIR(mode)
                                                    else "not a regular file"))
    with os.fdopen(fd, "rb") as f:
        try:
            data = f.read(max(0, budget) + 1)
        except OSError as err:
            raise _Refused(f"cannot import {name}: {err.strerror or err}") from None
    if len(data) > budget:
        raise _Refused(f"cannot import {name}: the model would be larger than "
                       f"{MAX_SOURCE_BYTES:,} bytes of rule files")
    text = text_of(data)
    if text is None:
        raise _Refused(f"cannot import {name}: not a model file (not UTF-8 text)")
    return text


def target_of(written: str, importer: str) -> Path | None:
    """The file `import "written"` in the model file `importer` reads, confined as `resolve`
    confines it (the importer's directory being the tree), or None when it is refused."""
    unnamed = importer.startswith("<")
    root = Path.cwd().resolve() if unnamed else Path(importer).absolute().parent.resolve()
    try:
        return _confined(written, importer, root, unnamed)
    except _Refused:
        return None


def read_regular(target: Path) -> str | None:
    """A rule file's text, read as an import is (never blocking on a FIFO or a device, within
    MAX_SOURCE_BYTES), or None when it is no regular UTF-8 file: for tools that look through a
    folder's files (the language server's rename)."""
    try:
        return _read(target, MAX_SOURCE_BYTES)
    except _Refused:
        return None


def _within(text: str, target: Path, budget: int) -> str:
    """An overlay's text for `target`, held to the budget `_read` holds a file to."""
    if len(text.encode("utf-8", "surrogatepass")) > budget:
        raise _Refused(f"cannot import {_shown(target)!r}: the model would be larger than "
                       f"{MAX_SOURCE_BYTES:,} bytes of rule files")
    return text


def _shown(target: Path) -> str:
    """A path as users will recognise it in messages: relative to the working directory."""
    try:
        return str(target.relative_to(Path.cwd()))
    except ValueError:
        return str(target)
