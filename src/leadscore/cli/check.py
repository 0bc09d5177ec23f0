"""`leadscore check`: parse and check rule files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..compiler import CompileError, compile_file, compile_text
from .common import (
    EXIT_FINDINGS,
    STDIN,
    _color,
    _guard,
    main,
    read_stdin,
    shown,
    stdin_filename_option,
    stdin_name,
)


@main.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@stdin_filename_option
@_guard
def check(models: tuple[str, ...], stdin_filename: str | None) -> None:
    """Parse and check rule files; report every error with its location. `-` reads the model
    from standard input (an editor's unsaved buffer).

    \b
    Examples:
      leadscore check examples/reference.score
      leadscore check - --stdin-filename models/b2b.score < buffer.score
    """
    name = stdin_name(models, stdin_filename)
    failed = 0
    for path in models:
        shown_as = shown(name if path == STDIN else path)
        if path != STDIN and not Path(path).exists():
            click.echo(f"{shown_as}: error: no such file", err=True)
            failed += 1
            continue
        try:
            if path == STDIN:
                compile_text(read_stdin(name), name)
            else:
                compile_file(path)
        except CompileError as err:
            click.echo(err.render(color=_color(sys.stderr)), err=True)
            failed += 1
            continue
        click.echo(f"{shown_as}: ok")
    if failed:
        click.echo(f"{failed} of {len(models)} file{'s' if len(models) != 1 else ''} "
                   "with errors", err=True)
        sys.exit(EXIT_FINDINGS)
