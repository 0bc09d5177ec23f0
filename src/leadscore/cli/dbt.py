"""`leadscore dbt`: a model as dbt models (scores, accounts, explain) and their schema.yml."""

from __future__ import annotations

from pathlib import Path

import click

from ..compiler import compile_file
from .common import EXIT_USAGE, _fail, _guard, main


@main.command(name="dbt")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--out-dir", "out_dir", required=True, type=click.Path(),
              help="The dbt models folder to write to (created if missing), e.g. models/leadscore.")
@click.option("--dialect", default="duckdb", show_default=True,
              help="The SQL dialect of the dbt adapter (duckdb, postgres, snowflake, ...).")
@click.option("--materialized", type=click.Choice(["table", "view", "incremental"]),
              default="table", show_default=True,
              help="table or view: the current scores; incremental: one snapshot per as_of, "
                   "keyed (as_of, lead key).")
@click.option("--source", "source", default=None, metavar="NAME",
              help="Read one-part table names as {{ source('NAME', 'table') }} instead of ref().")
@click.option("--name", "stem", default=None, metavar="STEM",
              help="Model name prefix: STEM_scores, ...  [default: the model file's name]")
@_guard
def dbt_cmd(model: str, out_dir: str, dialect: str, materialized: str, source: str | None,
            stem: str | None) -> None:
    """Write the model as dbt models: scores, accounts and explain SQL, and a schema.yml.

    \b
    Example:
      leadscore dbt examples/reference.score --out-dir models/leadscore
      dbt run --vars '{as_of: "2026-03-01T00:00:00Z"}'
    """
    from ..backends.dbt import DbtError, dbt_files
    from ..engines import get_dialect

    try:
        d = get_dialect(dialect)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--dialect") from None
    m = compile_file(model)
    try:
        files = dbt_files(m, d, stem or Path(model).stem, materialized, source)
    except DbtError as err:
        _fail(str(err), EXIT_USAGE)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        _fail(f"--out-dir {out_dir}: not a folder", EXIT_USAGE)
    out.mkdir(parents=True, exist_ok=True)
    from ..runtime.output import _atomic_write

    for f in files:  # each written beside its place and renamed in: no half-written model for dbt
        _atomic_write(out / f.name, lambda tmp, text=f.text: tmp.write_text(text, encoding="utf-8"))
        click.echo(f"wrote {out / f.name}")
