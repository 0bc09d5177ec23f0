"""`leadscore compile`: the SQL, IR or Python a model compiles to."""

from __future__ import annotations

from pathlib import Path

import click

from ..compiler import compile_file, compile_text
from .common import (
    EXIT_USAGE,
    STDIN,
    _as_of,
    _fail,
    _guard,
    main,
    read_stdin,
    shown,
    stdin_filename_option,
    stdin_name,
)


@main.command(name="compile")
@click.argument("model", type=click.Path(dir_okay=False, allow_dash=True))
@stdin_filename_option
@click.option("--dialect", default="duckdb", show_default=True, help="SQL dialect to print.")
@click.option("--ir", "show_ir", is_flag=True, help="Print the intermediate representation as JSON.")
@click.option("--python", "show_python", is_flag=True, help="Print the generated Python evaluator.")
@click.option("--accounts", "query", flag_value="accounts",
              help="Print the account roll-up query (the model's `account by` block).")
@click.option("--explain", "query", flag_value="explain",
              help="Print the explain query: one row per lead and explain step.")
@click.option("--as-of", "as_of", default=None,
              help="Bake this instant into the SQL; without it the SQL has the dialect's as_of_us "
                   "parameter ($as_of_us, :as_of_us, %(as_of_us)s, @as_of_us, {as_of_us: Int64}: "
                   "docs/cli.md).")
@click.option("--previous-tier", "previous_tier", is_flag=True,
              help="The leads table has the leadscore_previous_tier column that sticky tiers "
                   "read (without: the SQL reads null there).")
@_guard
def compile_cmd(model: str, dialect: str, show_ir: bool, show_python: bool,
                query: str | None, as_of: str | None, previous_tier: bool,
                stdin_filename: str | None) -> None:
    """Print the SQL (or IR, or Python) a model compiles to. `-` reads the model from
    standard input.

    \b
    Example:
      leadscore compile examples/reference.score --as-of 2026-03-01T00:00:00Z
      leadscore compile examples/reference.score --accounts --dialect postgres
      leadscore compile - --stdin-filename models/b2b.score --dialect sqlite < buffer.score
    """
    from ..backends.python import compile_python
    from ..engines import DIALECTS, Unsupported, get_dialect
    from ..runtime.warehouses import QUERIES

    name = stdin_name((model,), stdin_filename)
    if model == STDIN:
        m = compile_text(read_stdin(name), name)
    elif not Path(model).exists():
        raise click.BadParameter(f"{shown(model)}: no such file", param_hint="MODEL")
    else:
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
    if query == "accounts" and m.account is None:
        _fail("--accounts: the model has no `account by` block", EXIT_USAGE)
    if query == "explain" and not m.rules:
        _fail("--explain: the model has no rules", EXIT_USAGE)
    as_of_us = _as_of(as_of)[0] if as_of else None
    d = get_dialect(dialect)
    try:
        tree = QUERIES[query or "leads"](m, d, as_of_us, previous_tier=previous_tier)
    except Unsupported as err:  # a dialect without a parameter this SQL can use
        _fail(f"--dialect {d.name}: {err}", EXIT_USAGE)
    # a statement, ended as SQL clients and scripts expect (`leadscore dbt` writes none)
    click.echo(d.render(tree, pretty=True) + ";")
