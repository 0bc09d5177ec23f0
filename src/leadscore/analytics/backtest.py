"""Back-tests: `leadscore calibrate --from T1 --to T2 --every 30d --horizon 90d`.

A plain calibration joins today's outcome to today's scores, so a lead that bought last month
is scored with the events that followed its purchase: the snapshot leaks. A back-test scores
the leads at each past as_of (events after it ignored, as every run does) and asks what
happened in the horizon that followed:

- a lead is **converted at as_of A** when its outcome is positive and its outcome time lies in
  (A, A + horizon];
- a lead whose positive outcome time is at or before A had already converted: it is left out of
  A (scoring it would ask the model to find a lead that is already a customer);
- a lead whose `created` time (when the schema declares one) is after A did not exist yet: it
  is left out of A too;
- a negative outcome's time is not read.

Per as_of and pooled over all of them (one row per lead and as_of), the report gives the
ROC AUC, the conversion per tier and the lift at the top 10% and 20%; the suggested thresholds
come from the pooled rows by calibrate's own rules (`calibrate.threshold_groups`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler import ir
from ..runtime.data import DataError, empty_events, read_events, read_leads
from ..runtime.engines import run
from ..runtime.history import iso
from . import metrics
from .calibrate import segment_order, threshold_groups, threshold_rows, tier_order, tier_rows, top_row
from .table import Outcomes, Table, blank, parse_outcome_time, read_outcomes, read_table
from .text import pct, ratio, table

DAY_US = 86_400_000_000
TOP_SHARES = (0.1, 0.2)


@dataclass
class Backtest:
    report: dict[str, Any]  # JSON-able
    totals: np.ndarray  # pooled rows, for the plots
    y: np.ndarray


@dataclass
class OutcomeTimes:
    values: dict[int, int]  # file row number -> µs, for rows with a readable time
    missing: list[int]  # positive outcome, no time
    invalid: list[tuple[int, str]]  # positive outcome, a time that is not one


def read_outcome_times(tab: Table, column: str, outcomes: Outcomes) -> OutcomeTimes:
    """The outcome time of every row with a positive outcome."""
    i = tab.index(column, "outcome time column")
    out = OutcomeTimes({}, [], [])
    for rowno, rec in tab.rows:
        if outcomes.values.get(rowno) != 1:
            continue
        v = rec[i]
        try:
            out.values[rowno] = parse_outcome_time(v)
        except ValueError:
            if blank(v):
                out.missing.append(rowno)
            else:
                out.invalid.append((rowno, str(v)))
    return out


def _ranking(totals: np.ndarray, y: np.ndarray, tiers: list[str | None], order: list[str],
             has_tiers: bool) -> dict[str, Any]:
    n = len(y)
    conv = int(y.sum())
    base = conv / n if n else None
    return {"leads": n, "converted": conv, "rate": base,
            "auc": metrics.roc_auc(totals, y) if n else None,
            "lift": [top_row(totals, y, s) for s in TOP_SHARES] if n and conv else [],
            "tiers": tier_rows(order, tiers, y, base) if has_tiers and n else []}


def backtest(model: ir.Model, leads_path: str | Path, outcome: str, outcome_time: str,
             as_ofs: list[int], horizon_us: int, events_path: str | Path | None = None,
             engine: str = "duckdb", delimiter: str | None = None, row_key: bool = False,
             target_rate: float = 0.5, sales_share: float = 0.2,
             min_leads: int = 10) -> Backtest:
    """The back-test of `model` on the leads file at each of `as_ofs` (ascending, µs), with
    conversions counted over `horizon_us` after each (see the module's docstring)."""
    if not as_ofs or horizon_us <= 0:
        raise ValueError("a back-test needs at least one as_of and a positive horizon")
    schema = model.schema
    tab = read_table(leads_path, delimiter, schema.lead_key if row_key else None)
    outcomes = read_outcomes(tab, outcome)
    times = read_outcome_times(tab, outcome_time, outcomes)
    leads = read_leads(leads_path, schema, delimiter, row_key=row_key)
    if schema.has_events and events_path is not None:
        events = read_events(events_path, schema, delimiter)
    else:
        events = empty_events(schema)
    rowno = dict(zip(leads.keys, leads.rows))
    created = dict(zip(leads.keys, leads.columns[schema.lead_created])) if schema.lead_created \
        else {}
    rejected_rows = {r.row for r in leads.rejects}
    unusable = (set(outcomes.missing) | {r for r, _ in outcomes.invalid} | set(times.missing)
                | {r for r, _ in times.invalid}) - rejected_rows
    cols = [schema.lead_key] + [c for c, _ in model.outputs]
    at = {c: i for i, c in enumerate(cols)}
    order = tier_order(model.tiers)
    has_tiers = bool(model.tiers)

    per_as_of = []
    pooled: dict[str, list] = {"totals": [], "y": [], "tier": [], "segment": [], "disq": []}
    for a in as_ofs:
        rows = run(model, leads, events, a, engine)
        skipped = {"not_created": 0, "converted_before": 0, "no_total": 0}
        totals, y, tiers = [], [], []
        for r in rows:
            line = rowno[r[0]]
            if line in unusable:
                continue
            born = created.get(r[0])
            if born is not None and born > a:
                skipped["not_created"] += 1
                continue
            won = times.values.get(line)
            if won is not None and won <= a:
                skipped["converted_before"] += 1
                continue
            if r[at["total"]] is None:
                skipped["no_total"] += 1
                continue
            totals.append(float(r[at["total"]]))
            y.append(1 if won is not None and won <= a + horizon_us else 0)
            tiers.append(r[at["tier"]])
            pooled["segment"].append(r[at["segment"]] or "default")
            pooled["disq"].append(r[at["disqualified_by"]])
        t, yy = np.array(totals), np.array(y, dtype=int)
        per_as_of.append({"as_of": iso(a), "as_of_us": a, "horizon_end": iso(a + horizon_us),
                          **skipped, **_ranking(t, yy, tiers, order, has_tiers)})
        pooled["totals"] += totals
        pooled["y"] += y
        pooled["tier"] += tiers

    totals = np.array(pooled["totals"])
    y = np.array(pooled["y"], dtype=int)
    if not len(y):
        raise DataError(f"{leads_path}: no lead could be scored at any as_of from {iso(as_ofs[0])} "
                        f"to {iso(as_ofs[-1])} (each is left out when created later, already "
                        "converted, or without a usable outcome)")
    segments = pooled["segment"]
    seg_names = segment_order(model.tiers, segments)
    summary = _ranking(totals, y, pooled["tier"], order, has_tiers)
    summary["thresholds"] = threshold_groups(totals, y, segments, pooled["disq"], seg_names,
                                             target_rate, sales_share, min_leads)
    summary["target_rate"] = target_rate
    summary["sales_share"] = sales_share
    last_won = max(times.values.values(), default=None)
    report: dict[str, Any] = {
        "model": model.name, "leads": str(leads_path), "outcome": outcome,
        "outcome_time": outcome_time, "engine": engine,
        "from": iso(as_ofs[0]), "to": iso(as_ofs[-1]), "horizon_days": horizon_us / DAY_US,
        "counts": {
            "rows_read": len(tab.rows), "rejected": len(leads.rejects),
            "outcome_missing": len(set(outcomes.missing) - rejected_rows),
            "outcome_invalid": len({r for r, _ in outcomes.invalid} - rejected_rows),
            "time_missing": len(set(times.missing) - rejected_rows),
            "time_invalid": len({r for r, _ in times.invalid} - rejected_rows),
            "events_read": events.read, "events_rejected": len(events.rejects)},
        "outcome_problems": outcomes.problems(),
        "time_problems": ([{"row": r, "value": None, "reason": "missing"} for r in times.missing[:10]]
                          + [{"row": r, "value": v, "reason": "not a timestamp"}
                             for r, v in times.invalid[:10]]),
        "last_conversion": iso(last_won) if last_won is not None else None,
        # a horizon reaching past the last conversion on file may hold sales not recorded yet
        "open_horizons": [p["as_of"] for p in per_as_of
                          if last_won is None or p["as_of_us"] + horizon_us > last_won],
        "as_ofs": per_as_of,
        "pooled": summary,
    }
    return Backtest(report, totals, y)


# ---------------------------------------------------------------- text
def _top_cells(p: dict[str, Any]) -> list[str]:
    return [f"{ratio(t['lift'])} ({pct(t['capture'], 0)})" for t in p["lift"]] or ["-"] * len(TOP_SHARES)


def _tier_cells(p: dict[str, Any], names: list[str]) -> list[str]:
    got = {r["name"]: r for r in p["tiers"]}
    return [f"{pct(got[t]['rate'])} of {got[t]['leads']}" if t in got and got[t]["leads"] else "-"
            for t in names]


def render_text(report: dict[str, Any]) -> str:
    c = report["counts"]
    out = [f"leads: {c['rows_read']} read, {c['rejected']} rejected by the model's schema, "
           f"{c['outcome_missing']} without an outcome, {c['outcome_invalid']} with an invalid "
           f"outcome, {c['time_missing'] + c['time_invalid']} converted without a valid outcome "
           "time (left out of every as_of)"]
    for p in report["outcome_problems"][:5]:
        value = "" if p["value"] is None else f" value {p['value']!r}"
        out.append(f"  outcome {p['reason']}: row {p['row']}{value}")
    for p in report["time_problems"][:5]:
        value = "" if p["value"] is None else f" value {p['value']!r}"
        out.append(f"  outcome time {p['reason']}: row {p['row']}{value}")
    out.append(f"converted: a positive outcome with its time in (as_of, as_of + "
               f"{report['horizon_days']:g}d]; leads converted at or before an as_of, or created "
               "after it, are left out of it")
    rows = []
    for p in report["as_ofs"]:
        rows.append([p["as_of"][:10], p["horizon_end"][:10], p["not_created"], p["converted_before"],
                     p["leads"], p["converted"], pct(p["rate"]),
                     "-" if p["auc"] is None else f"{p['auc']:.4f}", *_top_cells(p)])
    pooled = report["pooled"]
    rows.append(["pooled", "", "", "", pooled["leads"], pooled["converted"], pct(pooled["rate"]),
                 "-" if pooled["auc"] is None else f"{pooled['auc']:.4f}", *_top_cells(pooled)])
    out += ["", "back-test per as_of (lift: conversion among the top share over the base rate; "
                "in brackets the share of conversions they hold)",
            table(["as_of", "horizon to", "not yet created", "converted before", "leads",
                   "converted", "rate", "ROC AUC", "lift top 10%", "lift top 20%"], rows)]
    if report["open_horizons"]:
        out.append(f"  note: the horizon of {', '.join(a[:10] for a in report['open_horizons'])} "
                   f"ends after the last conversion on file ({report['last_conversion'] or 'none'}): "
                   "conversions there may not be recorded yet")
    if pooled["tiers"]:
        out += ["", "conversion per tier (pooled over every as_of)", table(
            ["tier", "leads", "share", "converted", "rate", "95% CI", "lift"],
            [[r["name"], r["leads"], pct(r["share"]), r["converted"], pct(r["rate"]),
              f"{pct(r['ci_low'])}-{pct(r['ci_high'])}" if r["ci_low"] is not None else "-",
              ratio(r["lift"])] for r in pooled["tiers"]])]
        names = [r["name"] for r in pooled["tiers"]]
        out += ["", "conversion per tier and as_of (rate of leads)", table(
            ["as_of", *names],
            [[p["as_of"][:10], *_tier_cells(p, names)] for p in report["as_ofs"]])]
    out += ["", "suggested thresholds from the pooled back-test (disqualified leads excluded; a "
                "threshold sends leads with total >= it)"]
    rows, notes = threshold_rows(pooled, ">=")
    out.append(table(["segment", "goal", "threshold", "leads >=", "share", "rate >=",
                      "of conversions", "leads <", "rate <"], rows, left=2))
    out += [f"  {n}" for n in notes]
    return "\n".join(out)
