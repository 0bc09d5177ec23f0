"""`leadscore explain`: one lead's score, rule by rule."""

from __future__ import annotations

import json

import click

from ..compiler import compile_file
from ..runtime.data import DataError
from .common import _as_of, _guard, main, shown, shown_json


def _num(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:.2f}"
    return f"{int(v):+d}" if isinstance(v, float) else str(v)


@main.command(name="explain")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--lead", "key", required=True, help="The key of the lead to explain.")
@click.option("--leads", "leads_path", required=True, type=click.Path(),
              help="Lead rows: CSV or Parquet.")
@click.option("--events", "events_path", type=click.Path(), help="Event rows: CSV or Parquet.")
@click.option("--as-of", "as_of", default=None, help="The instant to score at (default: now).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--all-rules", is_flag=True, help="Also list rules that gave no points.")
@_guard
def explain_cmd(model: str, key: str, leads_path: str, events_path: str | None, as_of: str | None,
                fmt: str, all_rules: bool) -> None:
    """Show why a lead has its score: rules, events, caps, decay, gates, tier.

    \b
    Example:
      leadscore explain examples/reference.score --lead L0257 \\
        --leads examples/data/leads.csv --events examples/data/events.csv \\
        --as-of 2026-03-01T00:00:00Z
    """
    from ..runtime.data import read_events, read_leads
    from ..runtime.explain import explain

    m = compile_file(model)
    as_of_us, as_of_text = _as_of(as_of)
    leads = read_leads(leads_path, m.schema)
    if key not in leads.keys:
        raise DataError(f"no lead with key {key!r} in {leads_path}")
    events = read_events(events_path, m.schema) if (events_path and m.schema.has_events) else None
    ex = explain(m, leads, events, key, as_of_us)
    if fmt == "json":
        click.echo(shown_json(json.dumps({"as_of": as_of_text, **ex.to_json()}, indent=2,
                                         ensure_ascii=False)))
        return
    out = ex.outputs
    # the key, the outputs and the labels (of an IR file too) are data: escaped
    click.echo(f"lead {shown(key)} at {shown(as_of_text)}")
    for score, steps in ex.scores.items():
        click.echo(f"\nscore {shown(score)} = {_num(steps['final'])}")
        for r in ex.rules:
            if r.score != score or (not all_rules and r.points == 0 and not r.events):
                continue
            n = None if r.events is None else int(r.events)
            events_text = "" if n is None else f"  ({n} event{'s' if n != 1 else ''}"
            events_text += (", capped)" if r.capped else ")") if n is not None else (
                "  (capped)" if r.capped else "")
            click.echo(f"  {_num(r.points):>8}  {shown(r.label)}{events_text}  [line {r.line}]")
        raw = steps["rules"]
        before = [v for k, v in steps.items() if k.startswith("before decay")]
        if before and before[0] != raw:
            click.echo(f"  {'':>8}  capped: {_num(raw)} -> {_num(before[0])}")
        elif not before and raw != steps["final"]:
            click.echo(f"  {'':>8}  cap/floor: {_num(raw)} -> {_num(steps['final'])}")
        if before and before[0] != steps["final"]:
            click.echo(f"  {'':>8}  decay: {_num(before[0])} -> {_num(steps['final'])}")
    click.echo(f"\ntotal {_num(out['total'])}, segment {shown(out['segment'])}")
    for t in ex.tiers:
        failed = t["failed_gates"]
        gates = " and ".join(f"`{shown(g)}`" for g in failed)
        state = ("reached" if t["threshold_met"] and t["gates_hold"] else
                 f"threshold met, held back: {gates} {'does' if len(failed) == 1 else 'do'} not hold"
                 if t["threshold_met"] else "threshold not met")
        click.echo(f"  tier {shown(t['tier'])}: {state}")
    tier = out.get("tier")
    line = f"tier {shown(tier)}"
    if out.get("held_from"):
        line += f" (held from {shown(out['held_from'])}: its gate does not hold)"
    if out.get("disqualified_by"):
        line += f" (disqualified: {shown(out['disqualified_by'])})"
    click.echo(line)
    if ex.sticky and ex.sticky["held"]:
        click.echo(f"  held at {shown(ex.sticky['held'])} (sticky, previous tier "
                   f"{shown(ex.sticky['previous_tier'])})")
    if "grade" in out:
        matrix = f", matrix {shown(out['matrix'])}" if out.get("matrix") else ""
        click.echo(f"grade {shown(out['grade'])}{matrix}")
