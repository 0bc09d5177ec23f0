"""The compiler pipeline: source -> AST -> checked model -> IR (or a saved IR file back in).

The checker, the lowering and the IR file reader are imported when a model is compiled, so
that `leadscore fmt` (which only parses) does not load them; a submodule not imported yet is
still reachable as an attribute (`compiler.ir`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .diagnostics import CompileError, Diagnostic, Source, Span
from .parse import begins_like_a_model, not_a_model, parse

if TYPE_CHECKING:
    from . import ir
    from .checked import Checked

__all__ = ["CompileError", "Diagnostic", "Source", "Span", "compile_checked", "compile_file",
           "compile_source", "compile_text", "decode_source", "is_ir_path", "load_ir", "parse",
           "read_source"]


def compile_source(text: str, path: str = "<string>",
                   overlay: Mapping[str, str] | None = None) -> ir.Model:
    """Parse, check and lower one rule file and its imports; raise `CompileError` with
    every diagnostic. `overlay`: texts standing for files on disk (`imports.resolve`)."""
    return compile_checked(text, path, overlay)[1]


def compile_checked(text: str, path: str = "<string>", overlay: Mapping[str, str] | None = None,
                    ) -> tuple[Checked, ir.Model]:
    """`compile_source`, with the checked declarations it lowered (diff compares them)."""
    from .check import check
    from .imports import resolve
    from .lower import lower

    resolved = resolve(text, path, overlay)
    result = check(resolved.module)
    errors = [d for d in result.diagnostics if d.severity == "error"]
    if errors or result.checked is None:
        raise CompileError(result.diagnostics, resolved.sources)
    result.checked.sources = {p: s.text for p, s in resolved.sources.items()}
    model = lower(result.checked)
    model.sources = resolved.files
    return result.checked, model


def load_ir(text: str, path: str = "<string>") -> ir.Model:
    """A model saved by `leadscore compile --ir`; a file that is not one is a located error."""
    import json

    from .ir_json import from_json

    try:
        return from_json(json.loads(text))
    except RecursionError:  # nested deeper than the JSON reader goes
        return load_ir('{"format": "nested too deeply"}', path)
    except ValueError as err:  # json.JSONDecodeError is a ValueError too
        diag = Diagnostic(f"cannot load the IR file: {err}", Span(path, 1, 1, 1, 2),
                          hint="write one with `leadscore compile MODEL --ir`")
        raise CompileError([diag], {path: Source(path, text)}) from None


def read_source(path: str | Path) -> str:
    """Read a rule file as UTF-8; undecodable bytes are a located error."""
    return decode_source(Path(path).read_bytes(), str(path))


def decode_source(data: bytes, path: str) -> str:
    """A rule file's bytes (a file, standard input) as text: UTF-8 with an optional BOM;
    undecodable bytes are a located error under `path`."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        text = data[: err.start].decode("utf-8", errors="replace")
        if not begins_like_a_model(text):  # a key or a binary file named by mistake or by a link
            raise not_a_model(str(path), "not UTF-8 text") from None
        line = text.count("\n") + 1
        col = len(text) - (text.rfind("\n") + 1) + 1  # in characters, as every other column
        diag = Diagnostic(f"the file is not valid UTF-8 (byte {err.start}: "
                          f"0x{data[err.start]:02x})", Span(str(path), line, col, line, col + 1),
                          hint="save the rule file as UTF-8")
        raise CompileError([diag], {str(path): Source(str(path), text)}) from None


def is_ir_path(path: str | Path) -> bool:
    """Whether `path` names a compiled IR file (`leadscore compile --ir` output)."""
    return str(path).lower().endswith(".json")


def compile_text(text: str, path: str) -> ir.Model:
    """The model in `text`: rule-file source, or a compiled IR file when `path` names one."""
    return load_ir(text, path) if is_ir_path(path) else compile_source(text, path)


def compile_file(path: str | Path) -> ir.Model:
    """Compile a `.score` file, or load a compiled `*.json` IR file as it was saved."""
    return compile_text(read_source(path), str(path))


def __getattr__(name: str) -> object:
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"{__name__}.{name}":  # the submodule exists; something it imports not
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
