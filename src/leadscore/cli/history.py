"""`leadscore history`: per lead, when it first reached each tier and since when it holds its own."""

from __future__ import annotations

from pathlib import Path

import click

from .common import IN_DATABASE, _guard, cell, main, shown

# Rows the terminal table shows without --out; the rest are counted.
TERMINAL_ROWS = 50


def engine_of(engine: str | None, db: str) -> str:
    """The engine the history is read with: --engine, or the one --db's form names (a
    postgresql:// or mysql:// URL, a .sqlite file; any other file is DuckDB's)."""
    if engine is not None:
        return engine
    scheme = db.partition("://")[0].lower() if "://" in db else ""
    if scheme in ("postgres", "postgresql"):
        return "postgres"
    if scheme in ("mysql", "mariadb"):
        return "mysql"
    if scheme:
        raise click.BadParameter(f"{shown(scheme)}:// is no database URL leadscore reads: "
                                 "postgresql:// or mysql://, or a database file", param_hint="--db")
    return "sqlite" if Path(db).suffix.lower() in (".sqlite", ".sqlite3") else "duckdb"


def history_options(fn):
    for option in reversed([
        click.option("--db", required=True,
                     help="The database: a duckdb or sqlite (.sqlite) file, or a postgresql:// "
                          "or mysql:// URL."),
        click.option("--history", "history", required=True, metavar="TABLE",
                     help="The history table (written by run --history or replay)."),
        click.option("--engine", type=click.Choice(IN_DATABASE), default=None,
                     help="The database's engine  [default: from --db]"),
        click.option("--out", "out", type=click.Path(dir_okay=False),
                     help="Write the rows here (.csv, .parquet or .json); otherwise a table."),
    ]):
        fn = option(fn)
    return fn


def _short(when: str | None) -> str:
    """An as_of on the terminal: the date alone when it is midnight UTC."""
    if when is None:
        return ""
    return when.removesuffix("T00:00:00Z")


def show(columns: list[str], rows: list[tuple], times: set[str], out: str | None,
         title: str) -> None:
    """`rows` to `out` (as_of columns in `times` as ISO text), or as a table on the terminal."""
    from ..runtime.history import iso
    from ..runtime.output import FORMATS, format_value, write_rows

    idx = {i for i, c in enumerate(columns) if c in times}
    rows = [tuple(iso(v) if i in idx else v for i, v in enumerate(r)) for r in rows]
    if out is not None:
        if Path(out).suffix.lower() not in FORMATS + (".pq",):
            raise click.BadParameter(f"unknown output format for {out!r}; use "
                                     + ", ".join(FORMATS), param_hint="--out")
        write_rows(out, columns, rows)
        click.echo(f"wrote {len(rows)} rows to {shown(out)}", err=True)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for i, c in enumerate(columns):  # a date is never broken; a long name may be
        table.add_column(cell(c), overflow="fold", min_width=10 if i in idx else None)
    for r in rows[:TERMINAL_ROWS]:  # values are data: escaped, never read as markup
        table.add_row(*[cell(_short(v) if i in idx else format_value(v)) for i, v in enumerate(r)])
    Console().print(table)
    if len(rows) > TERMINAL_ROWS:
        click.echo(f"... and {len(rows) - TERMINAL_ROWS} more (write them all with --out FILE)",
                   err=True)


@main.command(name="history")
@history_options
@_guard
def history_cmd(db: str, history: str, engine: str | None, out: str | None) -> None:
    """Per lead: when it first reached each tier, its current tier and since when.

    \b
    Example:
      leadscore history --db history.duckdb --history scores --out reached.csv
    """
    from ..runtime.history import history_sql

    columns, rows = history_sql(engine_of(engine, db), db, history)
    show(columns, rows, {c for c in columns if c.startswith("reached_")} | {"tier_since"}, out,
         f"{len(rows)} leads in {history}")
