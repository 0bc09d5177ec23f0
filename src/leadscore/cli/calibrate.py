"""`leadscore calibrate`: how well a model ranks real outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..compiler import compile_file
from .common import _as_of, _guard, main


def _share(value: float, name: str) -> float:
    if not 0 < value <= 1:
        raise click.BadParameter("must be a share between 0 and 1, e.g. 0.2", param_hint=name)
    return value


def writable_file(path: str, option: str) -> None:
    """Output is written beside `path` and renamed over it: refuse devices and directories."""
    p = Path(path)
    if p.exists() and not p.is_file():
        raise click.BadParameter(f"{path} exists and is not a regular file", param_hint=option)


def need_numpy() -> None:
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise click.ClickException("calibrate and fit need numpy: pip install 'leadscore[analytics]'") \
            from None


@main.command(name="calibrate")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--leads", "leads_path", required=True, type=click.Path(),
              help="Lead rows with their outcome: CSV or Parquet.")
@click.option("--events", "events_path", type=click.Path(), help="Event rows: CSV or Parquet.")
@click.option("--outcome", required=True,
              help="The outcome column: 0/1, true/false or yes/no; in the leads file, or in the "
                   "--accounts file.")
@click.option("--accounts", "accounts_path", type=click.Path(), default=None,
              help="Calibrate the account roll-up instead: a CSV or Parquet file with one row "
                   "per account, keyed by the model's `account by` column, holding --outcome.")
@click.option("--as-of", "as_of", default=None,
              help="The instant to score at (ISO 8601; no offset means UTC). Default: now.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="The report on standard output.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Also write a self-contained HTML report with plots here.")
@click.option("--target-rate", default=0.5, show_default=True, type=float,
              help="Suggest the lowest threshold whose leads convert at least this often.")
@click.option("--sales-share", default=0.2, show_default=True, type=float,
              help="Suggest the threshold that sends at most this share of leads to sales.")
@click.option("--min-leads", default=10, show_default=True, type=click.IntRange(1),
              help="A suggested threshold keeps at least this many leads above it.")
@click.option("--engine", type=click.Choice(["duckdb", "python"]), default="duckdb",
              show_default=True, help="Where to score (identical results).")
@click.option("--row-key", is_flag=True,
              help="The file has no key column: use each row's number as the schema's key.")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected from the header).")
@_guard
def calibrate_cmd(model: str, leads_path: str, events_path: str | None, outcome: str,
                  accounts_path: str | None, as_of: str | None, fmt: str, html_path: str | None,
                  target_rate: float, sales_share: float, min_leads: int, engine: str, row_key: bool,
                  delimiter: str | None) -> None:
    """Check a model against real outcomes: conversion per tier, segment and score band,
    ROC AUC, lift, the tier funnel, suggested thresholds, and fields that leak the outcome.

    With --accounts, the same report ranks accounts: their totals and tiers against the
    outcome of each account (won, say) from that file.

    \b
    Examples:
      leadscore calibrate examples/calibration/x_education.score \\
        --leads ../shared/data/x_education/Leads.csv --outcome Converted \\
        --html calibration.html
      leadscore calibrate examples/es/modelo.score --leads examples/es/leads.csv \\
        --events examples/es/eventos.csv --accounts examples/es/cuentas.csv --outcome ganada
    """
    need_numpy()
    from ..analytics.calibrate import calibrate, calibrate_accounts, render_text
    from ..analytics.report import render_html
    from ..runtime.output import _atomic_write

    _share(target_rate, "--target-rate")
    if html_path:
        writable_file(html_path, "--html")
    _share(sales_share, "--sales-share")
    if delimiter is not None and len(delimiter) != 1:
        raise click.BadParameter("the delimiter is one character", param_hint="--delimiter")
    m = compile_file(model)
    if m.schema.has_events and events_path is None:
        raise click.UsageError("this model scores events; pass --events PATH")
    as_of_us, as_of_text = _as_of(as_of)
    options = {"events_path": events_path, "engine": engine, "delimiter": delimiter,
               "row_key": row_key, "target_rate": target_rate, "sales_share": sales_share,
               "min_leads": min_leads, "as_of_text": as_of_text}
    if accounts_path is not None:
        if m.account is None:
            raise click.UsageError("--accounts calibrates the account roll-up, and this model "
                                   "has no `account by` block")
        result = calibrate_accounts(m, leads_path, accounts_path, outcome, as_of_us, **options)
    else:
        result = calibrate(m, leads_path, outcome, as_of_us, **options)
    report = result.report
    report["model_file"] = model
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        on = f"{leads_path}, accounts {accounts_path}" if accounts_path else leads_path
        click.echo(f"calibrate {model} on {on} · outcome {outcome} · as_of {as_of_text}"
                   f" · engine {engine}")
        click.echo(render_text(report))
    if html_path:
        html = render_html(result)

        def write(tmp: Path) -> None:
            tmp.write_text(html, encoding="utf-8")

        _atomic_write(Path(html_path), write)
        click.echo(f"wrote {html_path}", err=True)
