"""`leadscore check`: parse and check rule files."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..compiler import CompileError, compile_file
from .common import EXIT_FINDINGS, _color, _guard, main, shown


@main.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_guard
def check(models: tuple[str, ...]) -> None:
    """Parse and check rule files; report every error with its location.

    \b
    Example:
      leadscore check examples/reference.score
    """
    failed = 0
    for path in models:
        if not Path(path).exists():
            click.echo(f"{shown(path)}: error: no such file", err=True)
            failed += 1
            continue
        try:
            compile_file(path)
        except CompileError as err:
            click.echo(err.render(color=_color(sys.stderr)), err=True)
            failed += 1
            continue
        click.echo(f"{shown(path)}: ok")
    if failed:
        click.echo(f"{failed} of {len(models)} file{'s' if len(models) != 1 else ''} "
                   "with errors", err=True)
        sys.exit(EXIT_FINDINGS)
