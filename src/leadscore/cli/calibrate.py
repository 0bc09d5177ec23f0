"""`leadscore calibrate`: how well a model ranks real outcomes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..compiler import compile_file
from .common import _as_of, _guard, main, shown, shown_json

if TYPE_CHECKING:
    from ..compiler.ir import Model


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
@click.option("--from", "start", default=None,
              help="Back-test: score at every as_of from this instant (ISO 8601) to --to.")
@click.option("--to", "end", default=None, help="Back-test: the last as_of (included).")
@click.option("--every", default=None,
              help="Back-test: the step between as_ofs, as for `leadscore replay`: 30d, 4w, 12h.")
@click.option("--horizon", default=None,
              help="Back-test: a lead converted at an as_of if its outcome time lies within this "
                   "span after it, e.g. 90d.")
@click.option("--outcome-time", default=None,
              help="Back-test: the leads file's column with the time of a positive outcome.")
@_guard
def calibrate_cmd(model: str, leads_path: str, events_path: str | None, outcome: str,
                  accounts_path: str | None, as_of: str | None, fmt: str, html_path: str | None,
                  target_rate: float, sales_share: float, min_leads: int, engine: str, row_key: bool,
                  delimiter: str | None, start: str | None, end: str | None, every: str | None,
                  horizon: str | None, outcome_time: str | None) -> None:
    """Check a model against real outcomes: conversion per tier, segment and score band,
    ROC AUC, lift, the tier funnel, suggested thresholds, and fields that leak the outcome.

    With --accounts, the same report ranks accounts: their totals and tiers against the
    outcome of each account (won, say) from that file. With --from, --to, --every, --horizon
    and --outcome-time it back-tests instead: it scores the leads at each past as_of and
    measures conversion in the horizon after it.

    \b
    Examples:
      leadscore calibrate examples/calibration/x_education.score \\
        --leads ../shared/data/x_education/Leads.csv --outcome Converted \\
        --html calibration.html
      leadscore calibrate examples/reference.score --events examples/data/events.csv \\
        --leads examples/calibration/backtest_leads.csv --outcome won \\
        --outcome-time won_at --from 2025-12-01 --to 2026-02-01 --every 30d --horizon 60d
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
    back = {"--from": start, "--to": end, "--every": every, "--horizon": horizon,
            "--outcome-time": outcome_time}
    if any(v is not None for v in back.values()):
        absent = [name for name, v in back.items() if v is None]
        if absent:
            raise click.UsageError(f"a back-test needs {', '.join(back)}; missing {', '.join(absent)}")
        if accounts_path is not None:
            raise click.UsageError("a back-test ranks leads; --accounts calibrates at one as_of")
        if as_of is not None:
            raise click.UsageError("--as-of scores at one instant; a back-test scores at every "
                                   "as_of from --from to --to")
        _backtest(m, model, leads_path, events_path, outcome, outcome_time, start, end, every,
                  horizon, fmt, html_path, engine, delimiter, row_key, target_rate, sales_share,
                  min_leads)
        return
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


def _as_of_in(value: str, option: str) -> int:
    try:
        return _as_of(value)[0]
    except click.BadParameter as err:
        raise click.BadParameter(err.message, param_hint=option) from None


def _backtest(m: Model, model: str, leads_path: str, events_path: str | None, outcome: str,
              outcome_time: str, start: str, end: str, every: str, horizon: str, fmt: str,
              html_path: str | None, engine: str, delimiter: str | None, row_key: bool,
              target_rate: float, sales_share: float, min_leads: int) -> None:
    from ..analytics.backtest import backtest, render_text
    from ..analytics.report import render_backtest_html
    from ..runtime.output import _atomic_write
    from .replay import replay_instants, step_us

    # the as_ofs a replay of the same range writes: --from, --to and --every mean the same
    as_ofs = replay_instants(_as_of_in(start, "--from"), _as_of_in(end, "--to"), every)
    result = backtest(m, leads_path, outcome, outcome_time, as_ofs, step_us(horizon, "--horizon"),
                      events_path=events_path, engine=engine, delimiter=delimiter,
                      row_key=row_key, target_rate=target_rate, sales_share=sales_share,
                      min_leads=min_leads)
    report = result.report
    report["model_file"] = model
    if fmt == "json":
        click.echo(shown_json(json.dumps(report, indent=2, ensure_ascii=False)))
    else:
        click.echo(shown(f"back-test of {model} on {leads_path} · outcome {outcome} at "
                         f"{outcome_time} · {report['from']} to {report['to']} every {every}, "
                         f"horizon {horizon} · engine {engine}"))
        click.echo("\n".join(shown(line) for line in render_text(report).split("\n")))
    if html_path:
        page = render_backtest_html(result)

        def write(tmp: Path) -> None:
            tmp.write_text(page, encoding="utf-8")

        _atomic_write(Path(html_path), write)
        click.echo(f"wrote {shown(html_path)}", err=True)
