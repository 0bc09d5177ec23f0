"""`leadscore changes`: the leads whose tier changed between two snapshots of a history."""

from __future__ import annotations

import click

from .common import _as_of, _guard, main
from .history import engine_of, history_options, show


@main.command(name="changes")
@history_options
@click.option("--since", "since", default=None, metavar="AS_OF",
              help="Only changes at snapshots after this instant (ISO 8601).")
@_guard
def changes_cmd(db: str, history: str, engine: str | None, out: str | None,
                since: str | None) -> None:
    """One row per lead whose tier changed between two of its consecutive snapshots.

    \b
    Example:
      leadscore changes --db history.duckdb --history scores --since 2026-02-22 --out changes.csv
    """
    from ..runtime.history import AS_OF, changes_sql

    since_us = None
    if since is not None:
        try:
            since_us = _as_of(since)[0]
        except click.BadParameter as err:
            raise click.BadParameter(err.message, param_hint="--since") from None
    columns, rows = changes_sql(engine_of(engine, db), db, history, since_us)
    show(columns, rows, {AS_OF}, out, f"{len(rows)} tier changes in {history}")
