"""`leadscore funnel`: leads per tier, the share reaching the next and the days it takes."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .calibrate import need_numpy, writable_file
from .common import IN_DATABASE, _guard, main, shown, shown_json


@main.command(name="funnel")
@click.option("--db", required=True,
              help="The database holding the history: a file for duckdb and sqlite, a URL for "
                   "postgres and mysql.")
@click.option("--history", "history", required=True,
              help="The history table (`leadscore run --history`): TABLE or SCHEMA.TABLE.")
@click.option("--engine", type=click.Choice(list(IN_DATABASE)), default="duckdb",
              show_default=True, help="The database's engine.")
@click.option("--leads", "leads_path", type=click.Path(),
              help="With --outcome: a leads file (CSV or Parquet) with the history's key column.")
@click.option("--outcome", default=None,
              help="The leads file's outcome column (0/1, true/false, yes/no): a last stage.")
@click.option("--outcome-time", default=None,
              help="The leads file's column with the time of a positive outcome: days to it.")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected from the header).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="The report's format.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False),
              help="Write the report here instead of standard output.")
@_guard
def funnel_cmd(db: str, history: str, engine: str, leads_path: str | None, outcome: str | None,
               outcome_time: str | None, delimiter: str | None, fmt: str,
               out_path: str | None) -> None:
    """Funnel velocity from a history table: per tier the leads that reached it, the share
    that reached the next, and the median and p90 days between them, per cohort month.

    \b
    Example:
      leadscore funnel --db scores.duckdb --history main.scores \\
        --leads examples/calibration/backtest_leads.csv --outcome won --outcome-time won_at
    """
    from ..analytics.funnel import funnel, read_outcome, render_text
    from ..runtime.history import history_sql
    from ..runtime.output import _atomic_write

    if (leads_path is None) != (outcome is None):
        raise click.UsageError("--outcome and --leads go together: the outcome is a column of "
                               "the leads file")
    if outcome_time is not None and outcome is None:
        raise click.UsageError("--outcome-time needs --outcome")
    if delimiter is not None and len(delimiter) != 1:
        raise click.BadParameter("the delimiter is one character", param_hint="--delimiter")
    if engine in ("duckdb", "sqlite") and not Path(db).is_file():
        raise click.BadParameter(f"{shown(db)} is not a database file", param_hint="--db")
    if out_path:
        writable_file(out_path, "--out")
    if fmt == "html":
        need_numpy()
    columns, rows = history_sql(engine, db, history)
    got = None
    if outcome is not None and leads_path is not None:
        got = read_outcome(leads_path, columns[0], outcome, outcome_time, delimiter)
    report = funnel(columns, rows, got, history=history)
    if fmt == "json":
        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "html":
        from ..analytics.report import render_funnel_html

        text = render_funnel_html(report)
    else:
        text = f"funnel of {history} ({engine} {db})\n{render_text(report)}\n"
    if out_path is None:
        click.echo(shown_json(text) if fmt == "json" else
                   "\n".join(shown(line) for line in text.split("\n")), nl=False)
        return

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    _atomic_write(Path(out_path), write)
    click.echo(f"wrote {shown(out_path)}", err=True)
