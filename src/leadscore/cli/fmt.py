"""`leadscore fmt`: rewrite rule files in the canonical layout."""

from __future__ import annotations

import difflib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import click

from ..compiler import CompileError, read_source
from ..fmt import format_source
from .common import EXIT_FINDINGS, STDIN, _color, _guard, main, read_stdin, stdin_filename_option, stdin_name
from .common import shown as safe


def _write_atomic(path: Path, text: str) -> None:
    """Write beside `path` and rename over it, keeping its permissions: all or nothing."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: str, name: str) -> str:
    return read_stdin(name) if path == STDIN else read_source(path)


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--check", is_flag=True,
              help="Change nothing; list the files that would change and exit 1 if there are any.")
@click.option("--diff", "show_diff", is_flag=True,
              help="Change nothing; print a unified diff of what would change.")
@stdin_filename_option
@_guard
def fmt(files: tuple[str, ...], check: bool, show_diff: bool, stdin_filename: str | None) -> None:
    """Rewrite rule files in the one canonical layout (docs/language.md, "Formatting").

    Files are rewritten in place, atomically; `-` reads standard input and writes the result
    to standard output. Comments are kept; a file with a syntax error is reported and left
    alone (exit 1).

    \b
    Examples:
      leadscore fmt examples/*.score
      leadscore fmt --check examples/*.score     # in CI: exit 1 if a file is not formatted
      leadscore fmt --diff model.score
      cat model.score | leadscore fmt - > formatted.score
    """
    name = stdin_name(files, stdin_filename)
    failed = changed = 0
    for path in files:
        shown = safe(name if path == STDIN else path)  # a name may hold terminal escapes
        if path != STDIN and not Path(path).exists():
            click.echo(f"{shown}: error: no such file", err=True)
            failed += 1
            continue
        try:
            before = _read(path, name)
            after = format_source(before, name if path == STDIN else path)
        except CompileError as err:
            click.echo(err.render(color=_color(sys.stderr)), err=True)
            failed += 1
            continue
        if after != before:
            changed += 1
        if show_diff and after != before:
            click.echo("".join(difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True),
                fromfile=shown, tofile=f"{shown} (formatted)")), nl=False)
        if check:
            if after != before:
                click.echo(f"would reformat {shown}")
        elif show_diff:
            pass
        elif path == STDIN:
            click.echo(after, nl=False)
        elif after != before:
            _write_atomic(Path(path), after)
            click.echo(f"reformatted {shown}")
    if failed:
        click.echo(f"{failed} of {len(files)} file{'s' if len(files) != 1 else ''} "
                   "with errors", err=True)
    if failed or (check and changed):
        sys.exit(EXIT_FINDINGS)
