"""`leadscore calibrate`: how well a model's totals and tiers rank real outcomes.

`calibrate()` scores a leads file with a compiled model, joins each lead's outcome (read
from the same file by row), and builds a plain-data report: counts per tier, segment and score
band, ROC AUC, lift, the tier funnel, suggested thresholds per segment, a calibration fit and
leak warnings. `render_text()` prints it; `report.render_html()` draws it.

Every row of the file is accounted for: read = rejected by the model's schema + outcome
missing + outcome invalid + no total + evaluated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler import ir
from ..compiler.text import fold
from ..runtime.accounts import run_accounts
from ..runtime.data import DataError, empty_events, read_events, read_leads
from ..runtime.engines import run
from . import metrics
from .leaks import check_fields
from .logistic import fit_logistic
from .table import Outcomes, blank, read_outcomes, read_table
from .text import num, pct, ratio, table

DISQUALIFIED = "disqualified"


@dataclass
class Calibration:
    report: dict[str, Any]  # JSON-able
    totals: np.ndarray  # evaluated leads only, for the plots
    y: np.ndarray


def _nothing_evaluated(path: str | Path, column: str, outcomes: Outcomes, rows: int,
                       rejected: int, no_total: int) -> str:
    """Why no lead could be evaluated: what the outcome column holds, with examples."""
    valid = len(outcomes.values)
    if not valid:
        holds = f"{len(outcomes.missing)} empty"
        if outcomes.invalid:
            shown = ", ".join(f"{v!r} (row {r})" for r, v in outcomes.invalid[:3])
            n = len(outcomes.invalid)
            holds += f", {n} other value{'s' if n > 1 else ''} such as {shown}"
        return (f"{path}: outcome column {column!r} holds no 0/1 value in its {rows} rows "
                f"({holds}); it must hold 0/1, true/false or yes/no")
    return (f"{path}: no lead has both a valid outcome in column {column!r} and a total "
            f"({valid} valid outcomes; {rejected} rows rejected by the schema, {no_total} "
            "leads without a total)")


def calibrate(model: ir.Model, leads_path: str | Path, outcome: str, as_of_us: int,
              events_path: str | Path | None = None, engine: str = "duckdb",
              delimiter: str | None = None, row_key: bool = False, target_rate: float = 0.5,
              sales_share: float = 0.2, min_leads: int = 10,
              as_of_text: str | None = None) -> Calibration:
    schema = model.schema
    tab = read_table(leads_path, delimiter, schema.lead_key if row_key else None)
    outcomes = read_outcomes(tab, outcome)
    leads = read_leads(leads_path, schema, delimiter, row_key=row_key)  # column-wise if it can
    if schema.has_events and events_path is not None:
        events = read_events(events_path, schema, delimiter)
    else:
        events = empty_events(schema)
    rows = run(model, leads, events, as_of_us, engine)
    cols = [schema.lead_key] + [c for c, _ in model.outputs]
    at = {c: i for i, c in enumerate(cols)}
    rowno = dict(zip(leads.keys, leads.rows))
    position = {k: i for i, k in enumerate(leads.keys)}

    rejected_rows = {r.row for r in leads.rejects}
    missing = set(outcomes.missing) - rejected_rows
    invalid = {r for r, _ in outcomes.invalid} - rejected_rows
    no_total = 0
    kept: list[tuple] = []
    kept_pos: list[int] = []
    for r in rows:
        line = rowno[r[0]]
        if line in missing or line in invalid:
            continue
        if r[at["total"]] is None:
            no_total += 1
            continue
        kept.append(r)
        kept_pos.append(position[r[0]])
    if not kept:  # nothing to rank: say why instead of computing rates over no lead
        raise DataError(_nothing_evaluated(leads_path, outcome, outcomes, len(tab.rows),
                                           len(leads.rejects), no_total))
    totals = np.array([float(r[at["total"]]) for r in kept])
    y = np.array([outcomes.values[rowno[r[0]]] for r in kept], dtype=int)
    segment = [r[at["segment"]] or "default" for r in kept]
    tier = [r[at["tier"]] for r in kept]
    held = [r[at["held_from"]] for r in kept]
    disq = [r[at["disqualified_by"]] for r in kept]

    counts = {
        "rows_read": len(tab.rows),
        "rejected": len(leads.rejects),
        "outcome_missing": len(missing),
        "outcome_invalid": len(invalid),
        "no_total": no_total,
        "events_read": events.read,
        "events_rejected": len(events.rejects),
    }
    report: dict[str, Any] = {
        "model": model.name,
        "leads": str(leads_path),
        "outcome": outcome,
        "as_of": as_of_text,
        "engine": engine,
        "outcome_problems": outcomes.problems(),
        "rejects": [str(r) for r in leads.rejects[:10]],
    }
    _ranking(report, counts, model.tiers, totals, y, segment, tier, held, disq, target_rate,
             sales_share, min_leads)
    fields = {}
    for name in schema.lead_fields:
        if name in ir.OPTIONAL_LEAD_COLUMNS:  # the model's own past output, not a lead feature
            continue
        col = leads.columns[name]
        fields[name] = [col[i] for i in kept_pos]
    report["leaks"] = [leak.to_json() for leak in check_fields(fields, y)] if len(y) else []
    return Calibration(report, totals, y)


def calibrate_accounts(model: ir.Model, leads_path: str | Path, accounts_path: str | Path,
                       outcome: str, as_of_us: int, events_path: str | Path | None = None,
                       engine: str = "duckdb", delimiter: str | None = None,
                       row_key: bool = False, target_rate: float = 0.5, sales_share: float = 0.2,
                       min_leads: int = 10, as_of_text: str | None = None) -> Calibration:
    """How well the account totals and tiers rank account outcomes: the leads are scored and
    rolled up, and each account's outcome is read from `accounts_path`, a file with one row
    per account keyed by the account field's column (matched ignoring case, as accounts
    group). Every row of that file and every scored account is accounted for."""
    acc = model.account
    if acc is None:
        raise DataError("the model has no `account` block: calibrate accounts needs one")
    schema = model.schema
    leads = read_leads(leads_path, schema, delimiter, row_key=row_key)
    if schema.has_events and events_path is not None:
        events = read_events(events_path, schema, delimiter)
    else:
        events = empty_events(schema)
    scored = run_accounts(model, leads, events, as_of_us, engine)
    tab = read_table(accounts_path, delimiter)
    outcomes = read_outcomes(tab, outcome)
    key_at = tab.index(acc.field, "account column (the model's `account by` field)")
    row_of: dict[str, int] = {}
    no_key = 0
    for rowno, rec in tab.rows:
        if blank(rec[key_at]):
            no_key += 1
            continue
        key = fold(str(rec[key_at]))
        if key in row_of:
            raise DataError(f"{accounts_path}: row {rowno}: account {rec[key_at]!r} is given "
                            f"again (first in row {row_of[key]}; accounts compare ignoring case)")
        row_of[key] = rowno
    missing, invalid = set(outcomes.missing), {r for r, _ in outcomes.invalid}
    kept: list[tuple] = []
    no_outcome = without = wrong = 0
    for r in scored:
        rowno = row_of.pop(fold(r[0]), None)
        if rowno is None:
            no_outcome += 1
        elif rowno in missing:
            without += 1
        elif rowno in invalid:
            wrong += 1
        else:
            kept.append((r, outcomes.values[rowno]))
    if not kept:
        raise DataError(f"{accounts_path}: no scored account has a valid outcome in column "
                        f"{outcome!r} ({len(scored)} accounts scored, {len(tab.rows)} rows, "
                        f"{no_outcome} scored accounts not in the file)")
    columns = [c for c, _ in acc.outputs]
    tier_at = columns.index("tier") + 1 if "tier" in columns else None
    totals = np.array([float(r[columns.index("total") + 1]) for r, _ in kept])
    y = np.array([v for _, v in kept], dtype=int)
    counts = {
        "rows_read": len(tab.rows),
        "no_key": no_key,
        "not_scored": len(row_of),  # rows naming no account with a member
        "outcome_missing": without,  # of the scored accounts' rows
        "outcome_invalid": wrong,
        "accounts_scored": len(scored),
        "no_outcome": no_outcome,
        "leads_read": len(leads.keys) + len(leads.rejects),
        "rejected": len(leads.rejects),
        "no_total": 0,
        "events_read": events.read,
        "events_rejected": len(events.rejects),
    }
    report: dict[str, Any] = {
        "unit": "accounts",
        "model": model.name,
        "leads": str(leads_path),
        "accounts": str(accounts_path),
        "outcome": outcome,
        "as_of": as_of_text,
        "engine": engine,
        "outcome_problems": outcomes.problems(),
        "rejects": [str(r) for r in leads.rejects[:10]],
    }
    n = len(kept)
    _ranking(report, counts, {"default": acc.tiers} if acc.tiers else {}, totals, y,
             ["default"] * n, [r[tier_at] if tier_at else None for r, _ in kept], [None] * n,
             [None] * n, target_rate, sales_share, min_leads)
    report["leaks"] = []  # the outcome file's other columns are not the model's fields
    return Calibration(report, totals, y)


def _ranking(report: dict[str, Any], counts: dict[str, Any], tiers: dict[str, list[str]],
             totals: np.ndarray, y: np.ndarray, segment: list[str], tier: list[str | None],
             held: list[str | None], disq: list[str | None], target_rate: float,
             sales_share: float, min_leads: int) -> None:
    """The report's ranking parts, for whatever is ranked (leads, or accounts): one total,
    outcome, segment, tier, gate held from and disqualification per item; `tiers` are the
    tier names per segment, lowest first."""
    n = len(y)
    conv = int(y.sum())
    base = conv / n if n else None
    counts.update({"evaluated": n, "converted": conv, "rate": base})
    report["counts"] = counts
    report["auc"] = metrics.roc_auc(totals, y)
    report["lift"] = [top_row(totals, y, s) for s in (0.1, 0.2)]
    tier_names = tier_order(tiers)
    report["tiers"] = tier_rows(tier_names, tier, y, base) if tiers else []
    seg_names = segment_order(tiers, segment)
    report["segments"] = []
    for s in seg_names:
        mask = np.array([g == s for g in segment])
        row = _rate_row(s, mask, y, base)
        row["auc"] = metrics.roc_auc(totals[mask], y[mask])
        report["segments"].append(row)
    report["segment_tiers"] = []
    if len(seg_names) > 1 and tiers:
        for s in seg_names:
            seg_mask = [g == s for g in segment]
            sub_tiers = [t for t, m in zip(tier, seg_mask) if m]
            sub_y = y[np.array(seg_mask)]
            for row in tier_rows(tiers.get(s, tiers.get("default", [])), sub_tiers,
                                  sub_y, base):
                report["segment_tiers"].append({"segment": s, **row})
    report["bands"] = [_band_row(b, n, conv, base) for b in metrics.deciles(totals, y)]
    _cumulate(report["bands"], n, conv)
    report["funnel"] = _funnel(tiers, tier_names, segment, tier, y, n, conv) if tiers else []
    report["held"] = _held(tier_names, held, y)
    report["disqualified"] = _disqualified(disq, y)
    report["thresholds"] = threshold_groups(totals, y, segment, disq, seg_names, target_rate,
                                            sales_share, min_leads)
    report["target_rate"] = target_rate
    report["sales_share"] = sales_share
    report["calibration"] = _calibration(totals, y, report["bands"])
    report["roc"] = _thin(metrics.roc_curve(totals, y), 400) if n else []


# ---------------------------------------------------------------- pieces
def top_row(totals: np.ndarray, y: np.ndarray, share: float) -> dict[str, Any]:
    t = metrics.top_share(totals, y, share)
    return {"share": share, "leads": t.leads, "min_total": t.min_total, "converted": t.converted,
            "rate": t.rate, "lift": t.lift, "capture": t.capture}


def tier_order(tiers: dict[str, list[str]]) -> list[str]:
    order: list[str] = []
    for names in [tiers.get("default", [])] + list(tiers.values()):
        order += [t for t in names if t not in order]
    return order


def segment_order(tiers: dict[str, list[str]], segment: list[str]) -> list[str]:
    present = set(segment)
    order = [s for s in tiers if s in present and s != "default"]
    order += sorted(present - set(order) - {"default"})
    if "default" in present:
        order.append("default")
    return order


def _rate_row(name: str, mask: np.ndarray, y: np.ndarray, base: float | None) -> dict[str, Any]:
    leads = int(mask.sum())
    conv = int(y[mask].sum())
    rate = conv / leads if leads else None
    ci = metrics.wilson(conv, leads)
    return {"name": name, "leads": leads, "share": leads / len(y) if len(y) else None,
            "converted": conv, "rate": rate, "ci_low": ci[0] if ci else None,
            "ci_high": ci[1] if ci else None,
            "lift": rate / base if rate is not None and base else None}


def tier_rows(order: list[str], tier: list[str | None], y: np.ndarray,
               base: float | None) -> list[dict[str, Any]]:
    names = list(order) + [DISQUALIFIED]
    names += sorted({t for t in tier if t is not None and t not in names})
    rows = []
    for t in names:
        mask = np.array([x == t for x in tier], dtype=bool)
        if t == DISQUALIFIED and not mask.any():
            continue
        rows.append(_rate_row(t, mask, y, base))
    return rows


def _band_row(b: metrics.Band, n: int, conv: int, base: float | None) -> dict[str, Any]:
    ci = metrics.wilson(b.converted, b.leads)
    return {"band": b.band, "min_total": b.lo, "max_total": b.hi, "mean_total": b.mean_total,
            "leads": b.leads, "converted": b.converted, "rate": b.rate, "ci_low": ci[0],
            "ci_high": ci[1], "lift": b.rate / base if base else None}


def _cumulate(bands: list[dict[str, Any]], n: int, conv: int) -> None:
    leads = c = 0
    for b in bands:
        leads += b["leads"]
        c += b["converted"]
        b["cum_share"] = leads / n if n else None
        b["cum_capture"] = c / conv if conv else None


def _funnel(tiers: dict[str, list[str]], order: list[str], segment: list[str],
            tier: list[str | None], y: np.ndarray, n: int, conv: int) -> list[dict[str, Any]]:
    """Leads reaching each tier or above (in their segment's own tier order)."""
    rank_of: dict[str, dict[str, int]] = {
        s: {t: i for i, t in enumerate(names)} for s, names in tiers.items()}
    default = rank_of.get("default", {})
    out = []
    previous = None
    for t in order:
        reach = np.zeros(len(y), dtype=bool)
        for i, (s, got) in enumerate(zip(segment, tier)):
            ranks = rank_of.get(s, default)
            if t in ranks and got in ranks and ranks[got] >= ranks[t]:
                reach[i] = True
        leads = int(reach.sum())
        c = int(y[reach].sum())
        out.append({"tier": t, "leads": leads, "share": leads / n if n else None,
                    "converted": c, "rate": c / leads if leads else None,
                    "capture": c / conv if conv else None,
                    "from_previous": leads / previous if previous else None})
        previous = leads
    return out


def _held(order: list[str], held: list[str | None], y: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for t in order + sorted({h for h in held if h is not None} - set(order)):
        mask = np.array([h == t for h in held], dtype=bool)
        if mask.any():
            c = int(y[mask].sum())
            out.append({"held_from": t, "leads": int(mask.sum()), "converted": c,
                        "rate": c / int(mask.sum())})
    return out


def _disqualified(disq: list[str | None], y: np.ndarray) -> list[dict[str, Any]]:
    out = []
    for reason in sorted({d for d in disq if d is not None}):
        mask = np.array([d == reason for d in disq], dtype=bool)
        c = int(y[mask].sum())
        out.append({"reason": reason, "leads": int(mask.sum()), "converted": c,
                    "rate": c / int(mask.sum())})
    return out


def _cut(cut: metrics.Cut | None) -> dict[str, Any] | None:
    if cut is None:
        return None
    return {"threshold": cut.threshold, "leads": cut.leads_at_or_above, "share": cut.share,
            "converted": cut.converted_at_or_above, "rate": cut.rate_at_or_above,
            "capture": cut.capture, "leads_below": cut.leads_below,
            "converted_below": cut.converted_below, "rate_below": cut.rate_below}


def threshold_groups(totals: np.ndarray, y: np.ndarray, segment: list[str],
                     disq: list[str | None], seg_names: list[str], target: float, share: float,
                     min_leads: int) -> list[dict[str, Any]]:
    """The suggested thresholds for all leads and, with several segments, for each segment;
    disqualified leads excluded."""
    eligible = np.array([d is None for d in disq], dtype=bool)
    groups = [("all", eligible)] + ([(s, eligible & np.array([g == s for g in segment]))
                                     for s in seg_names] if len(seg_names) > 1 else [])
    return [suggest_thresholds(name, totals[mask], y[mask], target, share, min_leads)
            for name, mask in groups]


def suggest_thresholds(name: str, totals: np.ndarray, y: np.ndarray, target: float, share: float,
                       min_leads: int) -> dict[str, Any]:
    reached, best = metrics.threshold_for_rate(totals, y, target, min_leads)
    return {"segment": name, "leads": int(len(y)), "converted": int(y.sum()),
            "for_rate": _cut(reached), "best_rate": _cut(best) if reached is None else None,
            "at_rate": _at_rate(totals, y, target),
            "for_share": _cut(metrics.threshold_for_share(totals, y, share)) if len(y) else None}


def _at_rate(totals: np.ndarray, y: np.ndarray, target: float) -> dict[str, Any] | None:
    """The total at which a lead's own chance reaches the target: where the logistic fit of
    conversion on total crosses it, with the cut at the first total at or above that point and
    the observed conversion of the score band it falls in."""
    fit = _calibration(totals, y, [])
    if fit["slope"] is None or fit["slope"] <= 0:
        return None
    crossing = (math.log(target / (1 - target)) - fit["intercept"]) / fit["slope"]
    above = [c for c in metrics.cuts(totals, y) if c.threshold >= crossing]
    band = None
    for b in metrics.deciles(totals, y):
        if band is None or abs(b.mean_total - crossing) < abs(band.mean_total - crossing):
            band = b
        if b.lo <= crossing <= b.hi:
            band = b
            break
    out = {"fit_total": crossing, "cut": _cut(above[0]) if above else None}
    if band is not None:
        out.update({"band_min": band.lo, "band_max": band.hi, "band_leads": band.leads,
                    "band_rate": band.rate})
    return out


def _calibration(totals: np.ndarray, y: np.ndarray, bands: list[dict[str, Any]]) -> dict[str, Any]:
    """A one-variable logistic fit p = 1 / (1 + exp(-(a + b * total))): how totals map to odds."""
    out: dict[str, Any] = {"intercept": None, "slope": None, "points_to_double": None}
    if len(y) == 0 or y.min() == y.max() or totals.std() == 0:
        return out
    mean, sd = totals.mean(), totals.std()
    fit = fit_logistic(((totals - mean) / sd)[:, None], y, l2=0.0)
    slope = float(fit.weights[0] / sd)
    out["slope"] = slope
    out["intercept"] = float(fit.intercept - slope * mean)
    out["points_to_double"] = math.log(2) / slope if slope > 0 else None
    return out


def _thin(points: list[tuple[float, float]], most: int) -> list[list[float]]:
    if len(points) <= most:
        return [list(p) for p in points]
    step = len(points) / most
    idx = sorted({int(i * step) for i in range(most)} | {len(points) - 1})
    return [list(points[i]) for i in idx]


# ---------------------------------------------------------------- text
def _rate_table(rows: list[dict[str, Any]], first: str, unit: str = "leads") -> str:
    return table([first, unit, "share", "converted", "rate", "95% CI", "lift"], [
        [r["name"], r["leads"], pct(r["share"]), r["converted"], pct(r["rate"]),
         f"{pct(r['ci_low'])}-{pct(r['ci_high'])}" if r["ci_low"] is not None else "-",
         ratio(r["lift"])] for r in rows])


def _cut_cells(c: dict[str, Any]) -> list[Any]:
    return [num(c["threshold"]), c["leads"], pct(c["share"]), pct(c["rate"]), pct(c["capture"]),
            c["leads_below"], pct(c["rate_below"])]


def threshold_rows(report: dict[str, Any], ge: str) -> tuple[list[list[Any]], list[str]]:
    """The suggested-thresholds table (rows under the columns segment, goal, threshold, leads
    `ge`, share, rate `ge`, of conversions, leads <, rate <) and its notes, for the text and
    the HTML report; `ge` is how each writes "at or above"."""
    rows = []
    notes: list[str] = []
    target = pct(report["target_rate"], 0)
    unit = report.get("unit", "leads")
    chance = "an account's" if unit == "accounts" else "a lead's"
    for t in report["thresholds"]:
        goal = f"{unit} {ge} it convert {ge} {target}"
        if t["for_rate"] is not None:
            rows.append([t["segment"], goal, *_cut_cells(t["for_rate"])])
        elif t["best_rate"] is not None:
            b = t["best_rate"]
            rows.append([t["segment"], goal, "not reached", "", "", f"best {pct(b['rate'])}",
                         f"at {ge} {num(b['threshold'])}", "", ""])
        else:
            rows.append([t["segment"], goal, "too few leads", "", "", "", "", "", ""])
        at = t["at_rate"]
        if at is not None and at["cut"] is not None:
            rows.append([t["segment"], f"{chance} chance {ge} {target}", *_cut_cells(at["cut"])])
            notes.append(f"{t['segment']}: the logistic fit of conversion on total reaches "
                         f"{target} at {at['fit_total']:.1f}; the band "
                         f"{num(at['band_min'])}..{num(at['band_max'])} around it converts at "
                         f"{pct(at['band_rate'])} ({at['band_leads']} leads)")
        if t["for_share"] is not None:
            rows.append([t["segment"], f"top {pct(report['sales_share'], 0)} to sales",
                         *_cut_cells(t["for_share"])])
    return rows, notes


def render_text(report: dict[str, Any]) -> str:
    c = report["counts"]
    unit = report.get("unit", "leads")
    out = []
    if unit == "accounts":
        out.append(f"leads: {c['leads_read']} read, {c['rejected']} rejected by the model's "
                   f"schema; {c['accounts_scored']} accounts scored, {c['no_outcome']} of them "
                   f"not in the outcome file")
        out.append(f"accounts: {c['rows_read']} rows in the outcome file, {c['not_scored']} "
                   f"naming no scored account, {c['no_key']} without a key, "
                   f"{c['outcome_missing']} without an outcome, {c['outcome_invalid']} with an "
                   f"invalid outcome; {c['evaluated']} evaluated")
    else:
        out.append(f"leads: {c['rows_read']} read, {c['rejected']} rejected by the model's "
                   f"schema, {c['outcome_missing']} without an outcome, {c['outcome_invalid']} "
                   f"with an invalid outcome, {c['no_total']} without a total; "
                   f"{c['evaluated']} evaluated")
    for p in report["outcome_problems"][:5]:
        value = "" if p["value"] is None else f" value {p['value']!r}"
        out.append(f"  outcome {p['reason']}: row {p['row']}{value}")
    more = c["outcome_missing"] + c["outcome_invalid"] - min(5, len(report["outcome_problems"]))
    if more > 0:
        out.append(f"  ... and {more} more rows without a valid outcome")
    for r in report["rejects"][:5]:
        out.append(f"  rejected {r}")
    if c["rejected"] > 5:
        out.append(f"  ... and {c['rejected'] - 5} more rejected rows")
    if not c["evaluated"]:
        out.append("nothing to evaluate")
        return "\n".join(out)
    out.append(f"converted: {c['converted']} of {c['evaluated']} ({pct(c['rate'])})")
    auc = report["auc"]
    lifts = "; ".join(
        f"top {pct(t['share'], 0)}: {pct(t['rate'])} converted, lift {ratio(t['lift'])}, "
        f"{pct(t['capture'])} of conversions" for t in report["lift"])
    out.append(f"ROC AUC {'-' if auc is None else f'{auc:.4f}'} (ties count half); {lifts}")
    cal = report["calibration"]
    if cal["points_to_double"] is not None:
        out.append(f"calibration: odds of converting double every {cal['points_to_double']:.1f} "
                   f"points of total (logistic fit)")
    if report["tiers"]:
        out += ["", "per tier", _rate_table(report["tiers"], "tier", unit)]
    if len(report["segments"]) > 1:
        rows = report["segments"]
        out += ["", "per segment", table(
            ["segment", "leads", "share", "converted", "rate", "lift", "AUC"],
            [[r["name"], r["leads"], pct(r["share"]), r["converted"], pct(r["rate"]),
              ratio(r["lift"]), "-" if r["auc"] is None else f"{r['auc']:.3f}"] for r in rows])]
    if report["segment_tiers"]:
        out += ["", "per segment and tier", table(
            ["segment", "tier", "leads", "converted", "rate", "lift"],
            [[r["segment"], r["name"], r["leads"], r["converted"], pct(r["rate"]), ratio(r["lift"])]
             for r in report["segment_tiers"]], left=2)]
    out += ["", "score bands (deciles of total, top first; ties stay in one band)", table(
        ["band", "total", unit, "converted", "rate", "lift", f"cum. {unit}", "cum. conversions"],
        [[b["band"], f"{num(b['min_total'])}..{num(b['max_total'])}", b["leads"], b["converted"],
          pct(b["rate"]), ratio(b["lift"]), pct(b["cum_share"]), pct(b["cum_capture"])]
         for b in report["bands"]])]
    if report["funnel"]:
        out += ["", f"funnel ({unit} reaching each tier or above)", table(
            ["tier", unit, "share", "converted", "rate", "of conversions", "from previous"],
            [[f["tier"], f["leads"], pct(f["share"]), f["converted"], pct(f["rate"]),
              pct(f["capture"]), pct(f["from_previous"])] for f in report["funnel"]])]
    if report["held"]:
        out += ["", "held back by a gate", table(
            ["held from", "leads", "converted", "rate"],
            [[h["held_from"], h["leads"], h["converted"], pct(h["rate"])] for h in report["held"]])]
    if report["disqualified"]:
        out += ["", "disqualified", table(
            ["reason", "leads", "converted", "rate"],
            [[d["reason"], d["leads"], d["converted"], pct(d["rate"])]
             for d in report["disqualified"]])]
    out += ["", f"suggested thresholds (disqualified leads excluded; a threshold sends {unit} "
                "with total >= it)"]
    rows, notes = threshold_rows(report, ">=")
    out.append(table(["segment", "goal", "threshold", f"{unit} >=", "share", "rate >=",
                      "of conversions", f"{unit} <", "rate <"], rows, left=2))
    out += [f"  {n}" for n in notes]
    if report["leaks"]:
        out += ["", "leak warnings"]
        out += [f"  warning: {leak['message']}" for leak in report["leaks"]]
    return "\n".join(out)
