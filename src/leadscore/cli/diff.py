"""`leadscore diff`: how a model change moves leads between tiers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..compiler import read_source
from ..runtime.engines import ENGINES
from .common import _as_of, _guard, cell, main, shown, shown_json


@main.command(name="diff")
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--rev", default=None,
              help="Compare OLD as committed at this git revision with OLD in the working tree.")
@click.option("--leads", "leads_path", required=True, type=click.Path(),
              help="Lead rows: CSV or Parquet.")
@click.option("--events", "events_path", type=click.Path(), help="Event rows: CSV or Parquet.")
@click.option("--as-of", "as_of", default=None, help="The instant to score at (default: now).")
@click.option("--engine", type=click.Choice(list(ENGINES)), default="duckdb", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="markdown is ready to paste as a pull-request comment.")
@click.option("--top", default=10, show_default=True,
              help="How many model changes, changed rules and moved leads to list.")
@click.option("--moved-out", "moved_out", type=click.Path(dir_okay=False),
              help="Write every lead that changes tier (key, old and new tier and total) here: "
                   ".csv, .parquet or .json.")
@click.option("--outcome", default=None,
              help="The leads file's outcome column (0/1, as calibrate takes it): compare both "
                   "models' AUC, lift and conversion per tier.")
@_guard
def diff_cmd(old: str, new: str | None, rev: str | None, leads_path: str, events_path: str | None,
             as_of: str | None, engine: str, fmt: str, top: int, moved_out: str | None,
             outcome: str | None) -> None:
    """Score the same leads with two models and show what moves.

    \b
    Examples:
      leadscore diff old.score new.score --leads leads.csv --events events.csv
      leadscore diff model.score --rev main --leads leads.csv --format markdown
    """
    from ..runtime.diff import diff_models, model_at_revision, render_markdown, write_moved
    from ..runtime.output import FORMATS

    if moved_out is not None and Path(moved_out).suffix.lower() not in FORMATS + (".pq",):
        raise click.BadParameter(f"unknown output format for {moved_out!r}; use "
                                 + ", ".join(FORMATS), param_hint="--moved-out")
    if top < 1:
        raise click.BadParameter("at least 1", param_hint="--top")
    if (new is None) == (rev is None):
        raise click.UsageError("give OLD and NEW files, or one file and --rev REVISION")
    if rev is not None:
        old_text, old_name = model_at_revision(old, rev)
        new_text, new_name = read_source(old), old
    else:
        old_text, old_name = read_source(old), old
        new_text, new_name = read_source(new), new
    as_of_us, as_of_text = _as_of(as_of)
    d = diff_models(old_text, old_name, new_text, new_name, leads_path, events_path, as_of_us,
                    engine, outcome)
    if moved_out is not None:
        write_moved(moved_out, d)
        click.echo(f"wrote {d.moved} moved leads to {shown(moved_out)}", err=True)
    if fmt == "json":
        click.echo(shown_json(json.dumps({"as_of": as_of_text, **d.to_json()}, indent=2,
                                         ensure_ascii=False)))
    elif fmt == "markdown":  # escaped line by line: names and labels, never the layout
        click.echo("\n".join(shown(line) for line in render_markdown(d, top).split("\n")),
                   nl=False)
    else:
        _render_text(d, top, as_of_text)


def _render_text(d, top: int, as_of_text: str) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    # names, tiers and labels are printed as cells: escaped, never read as rich markup
    console.print(Text(f"{shown(d.old_name)} -> {shown(d.new_name)} at {shown(as_of_text)}: ")
                  + Text(f"{d.moved} of {d.leads} leads change tier", style="bold"))
    if d.changes:
        changes = Table(title=f"model changes ({min(top, len(d.changes))} of {len(d.changes)})")
        for col in ("what", "where", "name", "change", "old", "new"):
            changes.add_column(col)
        for c in d.changes[:top]:
            changes.add_row(*[cell(c[k]) for k in ("kind", "where", "name", "change", "old",
                                                   "new")])
        console.print(changes)
    present = [t for t in d.tiers if any(t in pair for pair in d.matrix)]
    matrix = Table(title="tier migration (rows: old tier, columns: new tier)")
    matrix.add_column("from \\ to")
    for t in present:
        matrix.add_column(cell(t), justify="right")
    for a in present:
        matrix.add_row(cell(a), *[str(d.matrix.get((a, b), 0) or "·") for b in present])
    console.print(matrix)
    flow = Table(title="per tier")
    for col in ("tier", "entering", "leaving", "net"):
        flow.add_column(col, justify="left" if col == "tier" else "right")
    for t in present:
        e, lv = d.entering.get(t, 0), d.leaving.get(t, 0)
        flow.add_row(cell(t), str(e), str(lv), f"{e - lv:+d}")
    console.print(flow)
    shift = Table(title="score distribution")
    for col in ("", "old", "new", "change"):
        shift.add_column(col, justify="right" if col else "left")
    o, n = d.totals["old"], d.totals["new"]
    for k in ("mean", "median", "p90"):
        shift.add_row(f"total {k}", f"{o[k]:.1f}", f"{n[k]:.1f}", f"{n[k] - o[k]:+.1f}")
    for name, (om, nm) in d.scores.items():
        shift.add_row(cell(f"mean {name}"), "-" if om is None else f"{om:.1f}",
                      "-" if nm is None else f"{nm:.1f}",
                      "" if om is None or nm is None else f"{nm - om:+.1f}")
    console.print(shift)
    if d.rules:
        rules = Table(title=f"rules whose contribution changed most (top {min(top, len(d.rules))})")
        for col in ("score", "rule", "status", "old", "new", "change", "leads"):
            rules.add_column(col, justify="right" if col in ("old", "new", "change") else "left")
        for e in d.rules[:top]:
            rules.add_row(cell(e["score"]), cell(e["rule"]), e["status"], f"{e['old']:.0f}",
                          f"{e['new']:.0f}", f"{e['change']:+.0f}",
                          f"{e['old_leads']} -> {e['new_leads']}")
        console.print(rules)
    if d.moved_leads:
        moved = Table(title=f"leads that move (first {min(top, d.moved)} of {d.moved} by key)")
        for col in ("lead", "old tier", "new tier", "old total", "new total"):
            moved.add_column(col, justify="right" if "total" in col else "left")
        for m in d.moved_leads[:top]:
            moved.add_row(cell(m.key), cell(m.old_tier), cell(m.new_tier),
                          "-" if m.old_total is None else f"{m.old_total:.1f}",
                          "-" if m.new_total is None else f"{m.new_total:.1f}")
        console.print(moved)
    if d.outcome:
        from ..runtime.diff import outcome_rows

        out = Table(title="against the outcome")
        for col in ("measure", "old", "new"):
            out.add_column(col, justify="left" if col == "measure" else "right")
        for a, b, c in outcome_rows(d):
            out.add_row(cell(a), b, c)
        console.print(out)
    if d.accounts:
        a = d.accounts
        console.print(Text(f"{a['moved']} of {a['accounts']} accounts change tier", style="bold"))
        if a["moved_accounts"]:
            acc = Table(title="accounts that move")
            for col in ("account", "old tier", "new tier"):
                acc.add_column(col)
            for m in a["moved_accounts"][:top]:
                acc.add_row(cell(m["key"]), cell(m["old_tier"]), cell(m["new_tier"]))
            console.print(acc)
