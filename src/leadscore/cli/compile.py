"""`leadscore compile`: the SQL, IR or Python a model compiles to."""

from __future__ import annotations

import click

from ..compiler import compile_file
from .common import _as_of, _guard, main


@main.command(name="compile")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--dialect", default="duckdb", show_default=True, help="SQL dialect to print.")
@click.option("--ir", "show_ir", is_flag=True, help="Print the intermediate representation as JSON.")
@click.option("--python", "show_python", is_flag=True, help="Print the generated Python evaluator.")
@click.option("--as-of", "as_of", default=None,
              help="Bake this instant into the SQL; without it the SQL has an :as_of_us parameter.")
@_guard
def compile_cmd(model: str, dialect: str, show_ir: bool, show_python: bool,
                as_of: str | None) -> None:
    """Print the SQL (or IR, or Python) a model compiles to.

    \b
    Example:
      leadscore compile examples/reference.score --as-of 2026-03-01T00:00:00Z
    """
    from ..backends.python import compile_python
    from ..backends.sql import to_sql
    from ..engines import DIALECTS, get_dialect

    m = compile_file(model)
    if show_ir:
        click.echo(m.dumps())
        return
    if show_python:
        click.echo(compile_python(m).source, nl=False)
        return
    if dialect not in DIALECTS:
        raise click.BadParameter(f"unknown dialect {dialect!r}; known: "
                                 + ", ".join(sorted(DIALECTS)), param_hint="--dialect")
    as_of_us = _as_of(as_of)[0] if as_of else None
    click.echo(to_sql(m, get_dialect(dialect), as_of_us) + ";")
