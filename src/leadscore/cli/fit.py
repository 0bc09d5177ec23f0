"""`leadscore fit`: learn an integer-points scorecard from leads with known outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..compiler import compile_file
from .calibrate import need_numpy, writable_file
from .common import _as_of, _guard, main


@main.command(name="fit")
@click.option("--leads", "leads_path", required=True, type=click.Path(),
              help="Lead rows with their outcome: CSV or Parquet.")
@click.option("--outcome", required=True,
              help="The outcome column: 0/1, true/false or yes/no.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Write the fitted model here (a .score file).")
@click.option("--exclude", multiple=True, metavar="COLUMN",
              help="Leave this column (or event type) out; repeat for several.")
@click.option("--na", multiple=True, metavar="VALUE",
              help='A text value that means "not answered", e.g. Select; repeat for several.')
@click.option("--key", default=None,
              help="The lead key column (default: the first column unique on every row).")
@click.option("--row-key", is_flag=True,
              help="The file has no key column: use each row's number (column `row`).")
@click.option("--events", "events_path", type=click.Path(),
              help="Event rows, for event counts in 7/30/90-day windows (needs --schema, --as-of).")
@click.option("--schema", "schema_path", type=click.Path(exists=True, dir_okay=False),
              help="A .score file whose schema describes the events file.")
@click.option("--as-of", "as_of", default=None,
              help="With --events: the instant the windows count back from (ISO 8601).")
@click.option("--seed", default=7, show_default=True, help="Seed of the train/test split.")
@click.option("--test-share", default=0.3, show_default=True, type=click.FloatRange(0, 0.9),
              help="Share of leads held out for the test AUC (0: fit on all, no test).")
@click.option("--l2", default=1.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="L2 penalty of the logistic regression.")
@click.option("--bins", default=5, show_default=True, type=click.IntRange(2, 20),
              help="Quantile bins per number.")
@click.option("--min-support", default=0.01, show_default=True, type=click.FloatRange(0, 0.5),
              help="A bin (or category) needs this share of training leads (and at least 20).")
@click.option("--pdo", default=20.0, show_default=True, type=click.FloatRange(0, min_open=True),
              help="Points to double the odds.")
@click.option("--base-score", default=100.0, show_default=True,
              help="The total at which the odds are --base-odds.")
@click.option("--base-odds", default=1.0, show_default=True,
              type=click.FloatRange(0, min_open=True), help="Odds (converted : not) at --base-score.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="The summary on standard output.")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected from the header).")
@_guard
def fit_cmd(leads_path: str, outcome: str, out: str, exclude: tuple[str, ...], na: tuple[str, ...],
            key: str | None, row_key: bool, events_path: str | None, schema_path: str | None,
            as_of: str | None, seed: int, test_share: float, l2: float, bins: int,
            min_support: float, pdo: float, base_score: float, base_odds: float, fmt: str,
            delimiter: str | None) -> None:
    """Learn a scorecard: binned fields, an L2 logistic regression, integer points.

    Writes a readable .score file (a comment per rule with its weight and support) and prints
    the train and held-out AUC of the regression and of the integer scorecard.

    \b
    Example:
      leadscore fit --leads ../shared/data/x_education/Leads.csv --outcome Converted \\
        --na Select --exclude Tags --exclude "Lead Quality" --out fitted.score
    """
    need_numpy()
    from ..analytics.fit import FitOptions, fit
    from ..analytics.scorecard import Scaling
    from ..runtime.output import _atomic_write

    writable_file(out, "--out")
    if key and row_key:
        raise click.UsageError("pass --key or --row-key, not both")
    if delimiter is not None and len(delimiter) != 1:
        raise click.BadParameter("the delimiter is one character", param_hint="--delimiter")
    if events_path and not schema_path:
        raise click.UsageError("--events needs --schema MODEL.score to describe the event columns")
    schema = compile_file(schema_path) if schema_path else None
    as_of_us = _as_of(as_of)[0] if (as_of or events_path) else None
    name = Path(out).stem.replace("_", "-") or "fitted"
    opts = FitOptions(outcome=outcome, key=key, row_key=row_key, exclude=exclude, na=na,
                      seed=seed, test_share=test_share, l2=l2, bins=bins, min_support=min_support,
                      scaling=Scaling(pdo, base_score, base_odds), delimiter=delimiter,
                      events=events_path, schema=schema, as_of_us=as_of_us, name=name)
    result = fit(leads_path, opts)

    def write(tmp: Path) -> None:
        tmp.write_text(result.source, encoding="utf-8")

    _atomic_write(Path(out), write)
    if fmt == "json":
        click.echo(json.dumps({**result.to_json(), "out": out}, indent=2, ensure_ascii=False))
        return
    c = result.counts
    click.echo(f"leads: {c['rows_read']} read, {c['with_outcome']} with an outcome "
               f"({c['outcome_missing']} missing, {c['outcome_invalid']} invalid); key {c['key']!r}")
    if c["test"]:
        click.echo(f"split: {c['train']} train ({c['train_converted']} converted), {c['test']} "
                   f"test ({c['test_converted']} converted); seed {c['seed']}")
    click.echo(f"features: {c['features']} -> {c['bins']} bins with at least "
               f"{c['min_leads_per_bin']} training leads each; l2 {c['l2']:g}")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    for leak in result.leaks:
        click.echo(f"warning: {leak.message}", err=True)
    if result.leaks:
        flags = " ".join(f"--exclude {_quote(f)}" for f in result.exclusions())
        click.echo(f"  to leave them out: {flags}", err=True)
    a = result.auc
    rows = [("regression (unrounded)", a["train"]["regression"], a["test"]["regression"]),
            ("scorecard (integer points)", a["train"]["scorecard"], a["test"]["scorecard"])]
    click.echo("")
    click.echo(f"  {'ROC AUC':<28}{'train':>8}{'test':>8}")
    for label, tr, te in rows:
        click.echo(f"  {label:<28}{_auc(tr):>8}{_auc(te):>8}")
    click.echo("")
    click.echo(f"wrote {out}: {result.rules} rules, total = points {result.constant:+d}")


def _auc(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def _quote(text: str) -> str:
    return text if text.replace("_", "").replace(".", "").isalnum() else f'"{text}"'
