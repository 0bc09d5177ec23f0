"""The calibration report as one self-contained HTML page: inline SVG plots, inline CSS,
no scripts and nothing fetched from the network."""

from __future__ import annotations

import html
from typing import Any

import numpy as np

from . import svg
from .backtest import Backtest
from .calibrate import Calibration, threshold_rows
from .funnel import STAGE_HEADERS, days, stage_cells
from .text import num, pct, ratio

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2530;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #5b6675; margin-top: 0; }
.kpis { display: flex; gap: 12px; flex-wrap: wrap; margin: 16px 0; }
.kpi { border: 1px solid #d9dee5; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.kpi b { display: block; font-size: 20px; } .kpi span { color: #5b6675; font-size: 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e6e9ee; text-align: right; }
th { background: #f3f5f8; font-weight: 600; }
td:first-child, th:first-child { text-align: left; }
td.l, th.l { text-align: left; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.warn { background: #fff4e5; border-left: 4px solid #e08a00; padding: 6px 10px; margin: 4px 0; }
.note { color: #5b6675; font-size: 12px; }
svg { background: #fff; }
"""


def _table(headers: list[str], rows: list[list[Any]], left: int = 1) -> str:
    head = "".join(f"<th{' class=l' if i < left else ''}>{html.escape(h)}</th>"
                   for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{' class=l' if i < left else ''}>{html.escape(str(c))}</td>"
                         for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _rates(rows: list[dict[str, Any]], first: str) -> str:
    return _table([first, "leads", "share", "converted", "rate", "95% CI", "lift"], [
        [r["name"], r["leads"], pct(r["share"]), r["converted"], pct(r["rate"]),
         f"{pct(r['ci_low'])} – {pct(r['ci_high'])}" if r["ci_low"] is not None else "-",
         ratio(r["lift"])] for r in rows])


def distribution_plot(totals: np.ndarray, y: np.ndarray) -> str:
    """Histogram of totals, converted against not converted, each as a share of its group."""
    lo, hi = float(totals.min()), float(totals.max())
    edges = svg.bin_edges(lo, hi, 30)
    ax = svg.Axes(520, 300, title="Score distribution by outcome",
                  xlabel="total", ylabel="share of the group's leads")
    series = []
    top = 0.0
    for label, mask, color in (("not converted", y == 0, svg.GREY_BLUE),
                               ("converted", y == 1, svg.ORANGE)):
        counts, _ = np.histogram(totals[mask], bins=edges)
        share = counts / max(1, mask.sum())
        top = max(top, float(share.max()) if len(share) else 0)
        series.append((label, share, color))
    ax.set_limits(edges[0], edges[-1], 0, top * 1.1 or 1)
    ax.axes(yfmt=lambda v: pct(v, 0))
    for _, share, color in series:
        ax.bars(edges, share, color, opacity=0.55)
    ax.legend([(label, color) for label, _, color in series])
    return ax.render()


def band_plot(bands: list[dict[str, Any]], base: float) -> str:
    """Conversion rate per score band, lowest band on the left, with the overall rate."""
    bands = list(reversed(bands))
    ax = svg.Axes(520, 300, title="Conversion by score band (deciles of total)",
                  xlabel="band of total (lowest to highest)", ylabel="converted")
    n = len(bands)
    ax.set_limits(0, n, 0, 1)
    labels = [f"{num(b['min_total'])}..{num(b['max_total'])}" for b in bands]
    ax.axes(yfmt=lambda v: pct(v, 0), xticks=[(i + 0.5, lab) for i, lab in enumerate(labels)],
            rotate=n > 6)
    for i, b in enumerate(bands):
        ax.bar(i + 0.12, i + 0.88, b["rate"], svg.BLUE)
        ax.errorbar(i + 0.5, b["ci_low"], b["ci_high"])
        ax.label(i + 0.5, max(b["rate"], b["ci_high"]), pct(b["rate"], 0))
    ax.hline(base)
    ax.legend([("conversion per band (95% CI)", svg.BLUE), (f"all leads: {pct(base)}", svg.ORANGE)],
              corner="top-left")
    return ax.render()


def calibration_plot(bands: list[dict[str, Any]], cal: dict[str, Any], lo: float,
                     hi: float) -> str:
    """Observed conversion per band at its mean total, with a logistic fit over totals."""
    ax = svg.Axes(520, 300, title="Calibration: observed conversion against total",
                  xlabel="total (band mean)", ylabel="converted")
    pad = (hi - lo) * 0.03 or 1
    ax.set_limits(lo - pad, hi + pad, 0, 1)
    ax.axes(yfmt=lambda v: pct(v, 0))
    if cal.get("slope") is not None:
        xs = np.linspace(lo, hi, 80)
        ys = 1 / (1 + np.exp(-(cal["intercept"] + cal["slope"] * xs)))
        ax.line(list(zip(xs, ys)), svg.ORANGE, width=2)
    for b in bands:
        ax.errorbar(b["mean_total"], b["ci_low"], b["ci_high"])
        ax.point(b["mean_total"], b["rate"], svg.BLUE)
    legend = [("observed per band (95% CI)", svg.BLUE)]
    if cal.get("slope") is not None:
        legend.append(("logistic fit", svg.ORANGE))
    ax.legend(legend, corner="top-left")
    return ax.render()


def roc_plot(points: list[list[float]], auc: float | None) -> str:
    ax = svg.Axes(520, 300, title=f"ROC curve (AUC {'-' if auc is None else f'{auc:.3f}'})",
                  xlabel="share of non-converted leads above the threshold",
                  ylabel="share of converted leads above", square=True)
    ax.set_limits(0, 1, 0, 1)
    ax.axes(yfmt=lambda v: pct(v, 0), xfmt=lambda v: pct(v, 0))
    ax.line([(0, 0), (1, 1)], "#9aa4b1", width=1, dash="4 4")
    ax.line([(p[0], p[1]) for p in points], svg.BLUE, width=2)
    return ax.render()


def page_head(title: str) -> str:
    """The page up to and including its <h1>."""
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>\n"
            f"<h1>{html.escape(title)}</h1>")


def kpi_row(kpis: list[tuple[str, str]]) -> str:
    return "<div class=kpis>" + "".join(
        f"<div class=kpi><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>"
        for k, v in kpis) + "</div>"


def thresholds_section(report: dict[str, Any], heading: str) -> str:
    """The suggested thresholds of a report holding `thresholds`, `target_rate`, `sales_share`."""
    rows, notes = threshold_rows(report, "≥")
    return "\n".join([f"<h2>{html.escape(heading)}</h2><p class=note>Disqualified leads "
                      "excluded; a threshold sends the leads whose total is at or above it.</p>",
                      _table(["segment", "goal", "threshold", "leads ≥", "share", "rate ≥",
                              "of conversions", "leads <", "rate <"], rows, left=2),
                      *(f"<p class=note>{html.escape(n)}.</p>" for n in notes)])


def render_html(result: Calibration) -> str:
    r = result.report
    c = r["counts"]
    title = f"Calibration of {r.get('model_file') or r['model']}"
    parts = [page_head(title),
             f"<p class=sub>leads {html.escape(r['leads'])} · outcome "
             f"<code>{html.escape(r['outcome'])}</code> · as_of {html.escape(str(r['as_of']))}"
             f" · engine {html.escape(r['engine'])}</p>"]
    parts.append(f"<p>{c['rows_read']} rows read: {c['rejected']} rejected by the model's "
                 f"schema, {c['outcome_missing']} without an outcome, {c['outcome_invalid']} with "
                 f"an invalid outcome, {c['no_total']} without a total; <b>{c['evaluated']} "
                 f"evaluated</b>.</p>")
    for reason, count in (("missing", c["outcome_missing"]),
                          ("not 0/1, true/false or yes/no", c["outcome_invalid"])):
        shown = [p for p in r["outcome_problems"] if p["reason"] == reason]
        if count:
            rows = ", ".join(str(p["row"]) if p["value"] is None else f"{p['row']} ({p['value']!r})"
                             for p in shown)
            more = ", …" if count > len(shown) else ""
            parts.append(f"<div class=warn>{count} row{'s' if count != 1 else ''} with the outcome "
                         f"{html.escape(reason)}: row {html.escape(rows)}{more}</div>")
    if c["rejected"]:
        parts.append(f"<div class=warn>{c['rejected']} rows rejected by the model's schema, e.g. "
                     f"{html.escape(r['rejects'][0])}</div>")
    for leak in r["leaks"]:
        parts.append(f"<div class=warn>warning: {html.escape(leak['message'])}</div>")
    if not c["evaluated"]:
        parts.append("<p>Nothing to evaluate.</p></body></html>")
        return "".join(parts)
    kpis = [("converted", f"{c['converted']} ({pct(c['rate'])})"),
            ("ROC AUC", "-" if r["auc"] is None else f"{r['auc']:.3f}")]
    for t in r["lift"]:
        kpis.append((f"top {pct(t['share'], 0)}: converted, lift",
                     f"{pct(t['rate'])} · {ratio(t['lift'])}"))
    ptd = r["calibration"]["points_to_double"]
    if ptd is not None:
        kpis.append(("points that double the odds", f"{ptd:.1f}"))
    parts.append(kpi_row(kpis))
    t, yv = result.totals, result.y
    parts.append("<div class=grid>")
    parts.append(distribution_plot(t, yv))
    parts.append(band_plot(r["bands"], c["rate"]))
    parts.append(calibration_plot(r["bands"], r["calibration"], float(t.min()), float(t.max())))
    parts.append(roc_plot(r["roc"], r["auc"]))
    parts.append("</div>")
    if r["tiers"]:
        parts += ["<h2>Per tier</h2>", _rates(r["tiers"], "tier")]
    if len(r["segments"]) > 1:
        parts += ["<h2>Per segment</h2>", _table(
            ["segment", "leads", "share", "converted", "rate", "lift", "AUC"],
            [[s["name"], s["leads"], pct(s["share"]), s["converted"], pct(s["rate"]),
              ratio(s["lift"]), "-" if s["auc"] is None else f"{s['auc']:.3f}"]
             for s in r["segments"]])]
    if r["segment_tiers"]:
        parts += ["<h2>Per segment and tier</h2>", _table(
            ["segment", "tier", "leads", "converted", "rate", "lift"],
            [[s["segment"], s["name"], s["leads"], s["converted"], pct(s["rate"]),
              ratio(s["lift"])] for s in r["segment_tiers"]], left=2)]
    parts += ["<h2>Score bands</h2><p class=note>Deciles of total, top first; tied leads stay "
              "in one band.</p>", _table(
                  ["band", "total", "leads", "converted", "rate", "lift", "cum. leads",
                   "cum. conversions"],
                  [[b["band"], f"{num(b['min_total'])}..{num(b['max_total'])}", b["leads"],
                    b["converted"], pct(b["rate"]), ratio(b["lift"]), pct(b["cum_share"]),
                    pct(b["cum_capture"])] for b in r["bands"]])]
    if r["funnel"]:
        parts += ["<h2>Funnel</h2><p class=note>Leads reaching each tier or above.</p>", _table(
            ["tier", "leads", "share", "converted", "rate", "of conversions", "from previous"],
            [[f["tier"], f["leads"], pct(f["share"]), f["converted"], pct(f["rate"]),
              pct(f["capture"]), pct(f["from_previous"])] for f in r["funnel"]])]
    if r["held"]:
        parts += ["<h2>Held back by a gate</h2>", _table(
            ["held from", "leads", "converted", "rate"],
            [[h["held_from"], h["leads"], h["converted"], pct(h["rate"])] for h in r["held"]])]
    if r["disqualified"]:
        parts += ["<h2>Disqualified</h2>", _table(
            ["reason", "leads", "converted", "rate"],
            [[d["reason"], d["leads"], d["converted"], pct(d["rate"])]
             for d in r["disqualified"]])]
    parts.append(thresholds_section(r, "Suggested thresholds"))
    parts.append("<p class=note>Generated by leadscore calibrate. AUC counts tied pairs as half; "
                 "top-share lift splits a tie at the cut-off pro rata.</p></body></html>")
    return "\n".join(parts)



# ---------------------------------------------------------------- back-tests
def _day(iso: str) -> str:
    return iso[:10]


def auc_plot(as_ofs: list[dict[str, Any]], pooled: float | None) -> str:
    """ROC AUC at each as_of, with the pooled AUC as a line."""
    ax = svg.Axes(520, 300, title="ROC AUC per as_of", xlabel="as_of", ylabel="ROC AUC")
    n = len(as_ofs)
    ax.set_limits(0, n, 0, 1)
    ax.axes(yfmt=lambda v: f"{v:.1f}", rotate=n > 6,
            xticks=[(i + 0.5, _day(p["as_of"])) for i, p in enumerate(as_ofs)])
    ax.hline(0.5)
    points = [(i + 0.5, p["auc"]) for i, p in enumerate(as_ofs) if p["auc"] is not None]
    ax.line(points, svg.BLUE, width=2)
    for x, v in points:
        ax.point(x, v, svg.BLUE)
        ax.label(x, v, f"{v:.2f}")
    legend = [("AUC at the as_of", svg.BLUE), ("0.5: no better than chance", svg.ORANGE)]
    if pooled is not None:
        ax.line([(0, pooled), (n, pooled)], svg.GREY_BLUE, width=1, dash="3 3")
        legend.append((f"pooled: {pooled:.3f}", svg.GREY_BLUE))
    ax.legend(legend, corner="top-left")
    return ax.render()


def tier_rate_plot(as_ofs: list[dict[str, Any]], names: list[str]) -> str:
    """Conversion in the horizon per tier, one line per tier across the as_ofs."""
    ax = svg.Axes(520, 300, title="Conversion in the horizon per tier",
                  xlabel="as_of", ylabel="converted")
    n = len(as_ofs)
    top = max([r["rate"] for p in as_ofs for r in p["tiers"] if r["rate"] is not None] + [0.0])
    ax.set_limits(0, n, 0, min(1.0, top * 1.15) or 1)
    ax.axes(yfmt=lambda v: pct(v, 0), rotate=n > 6,
            xticks=[(i + 0.5, _day(p["as_of"])) for i, p in enumerate(as_ofs)])
    legend = []
    for k, name in enumerate(names):
        color = svg.PALETTE[k % len(svg.PALETTE)]
        points = [(i + 0.5, r["rate"]) for i, p in enumerate(as_ofs) for r in p["tiers"]
                  if r["name"] == name and r["rate"] is not None]
        if not points:
            continue
        ax.line(points, color, width=2)
        for x, v in points:
            ax.point(x, v, color, r=3)
        legend.append((name, color))
    if legend:
        ax.legend(legend, corner="top-left")
    return ax.render()


def render_backtest_html(result: Backtest) -> str:
    r = result.report
    c = r["counts"]
    pooled = r["pooled"]
    title = f"Back-test of {r.get('model_file') or r['model']}"
    parts = [page_head(title),
             f"<p class=sub>leads {html.escape(r['leads'])} · outcome "
             f"<code>{html.escape(r['outcome'])}</code> at <code>"
             f"{html.escape(r['outcome_time'])}</code> · {len(r['as_ofs'])} as_ofs from "
             f"{html.escape(_day(r['from']))} to {html.escape(_day(r['to']))} · horizon "
             f"{r['horizon_days']:g} days · engine {html.escape(r['engine'])}</p>",
             f"<p>A lead counts as converted at an as_of when its outcome is positive and its "
             f"outcome time lies in (as_of, as_of + {r['horizon_days']:g} days]; leads converted "
             "at or before an as_of, or created after it, are left out of it. "
             f"{c['rows_read']} rows read: {c['rejected']} rejected by the model's schema, "
             f"{c['outcome_missing'] + c['outcome_invalid']} without a valid outcome, "
             f"{c['time_missing'] + c['time_invalid']} converted without a valid outcome time."
             "</p>"]
    if r["open_horizons"]:
        parts.append(f"<div class=warn>The horizon of "
                     f"{html.escape(', '.join(_day(a) for a in r['open_horizons']))} ends after the "
                     f"last conversion on file ({html.escape(str(r['last_conversion']))}): "
                     "conversions there may not be recorded yet.</div>")
    kpis = [("pooled leads × as_of", str(pooled["leads"])),
            ("converted in the horizon", f"{pooled['converted']} ({pct(pooled['rate'])})"),
            ("pooled ROC AUC", "-" if pooled["auc"] is None else f"{pooled['auc']:.3f}")]
    for t in pooled["lift"]:
        kpis.append((f"top {pct(t['share'], 0)}: converted, lift",
                     f"{pct(t['rate'])} · {ratio(t['lift'])}"))
    parts.append(kpi_row(kpis))
    names = [t["name"] for t in pooled["tiers"]]
    parts.append("<div class=grid>")
    parts.append(auc_plot(r["as_ofs"], pooled["auc"]))
    if names:
        parts.append(tier_rate_plot(r["as_ofs"], names))
    if result.y.min() != result.y.max():
        parts.append(distribution_plot(result.totals, result.y))
    parts.append("</div>")
    parts += ["<h2>Per as_of</h2>", _table(
        ["as_of", "horizon to", "not yet created", "converted before", "leads", "converted",
         "rate", "ROC AUC", "lift top 10%", "lift top 20%"],
        [[_day(p["as_of"]), _day(p["horizon_end"]), p["not_created"], p["converted_before"],
          p["leads"], p["converted"], pct(p["rate"]),
          "-" if p["auc"] is None else f"{p['auc']:.3f}",
          *([ratio(t["lift"]) for t in p["lift"]] or ["-", "-"])] for p in r["as_ofs"]])]
    if names:
        parts += ["<h2>Conversion per tier, pooled</h2>", _rates(pooled["tiers"], "tier")]
    parts.append(thresholds_section(pooled, "Suggested thresholds from the pooled back-test"))
    parts.append("<p class=note>Generated by leadscore calibrate (back-test). AUC counts tied "
                 "pairs as half; top-share lift splits a tie at the cut-off pro rata.</p>"
                 "</body></html>")
    return "\n".join(parts)


# ---------------------------------------------------------------- funnel velocity
def stage_plot(stages: list[dict[str, Any]]) -> str:
    """Leads reaching each stage, lowest first, with the share that goes on to the next."""
    ax = svg.Axes(520, 300, title="Leads reaching each stage", xlabel="stage",
                  ylabel="leads")
    n = len(stages)
    top = max([s["reached"] for s in stages] + [1])
    ax.set_limits(0, n, 0, top * 1.15)
    ax.axes(xticks=[(i + 0.5, s["stage"]) for i, s in enumerate(stages)], rotate=n > 6)
    for i, s in enumerate(stages):
        ax.bar(i + 0.15, i + 0.85, s["reached"], svg.BLUE)
        ax.label(i + 0.5, s["reached"], str(s["reached"]))
        if s.get("next_share") is not None:
            ax.label(i + 1.0, s["reached"] * 0.55, f"→ {pct(s['next_share'], 0)}")
    return ax.render()


def step_share_plot(cohorts: list[dict[str, Any]]) -> str:
    """Per cohort month, the share of a stage's leads that reached the next: one line a step."""
    ax = svg.Axes(520, 300, title="Share reaching the next stage, per cohort",
                  xlabel="cohort (month a lead first rose above the lowest tier)",
                  ylabel="reached next")
    n = len(cohorts)
    ax.set_limits(0, n, 0, 1)
    ax.axes(yfmt=lambda v: pct(v, 0), rotate=n > 6,
            xticks=[(i + 0.5, g["cohort"]) for i, g in enumerate(cohorts)])
    steps = [(s["stage"], s["next"]) for s in cohorts[0]["stages"] if "next" in s] if cohorts else []
    legend = []
    for k, (stage, nxt) in enumerate(steps):
        color = svg.PALETTE[k % len(svg.PALETTE)]
        points = [(i + 0.5, s["next_share"]) for i, g in enumerate(cohorts) for s in g["stages"]
                  if s["stage"] == stage and s.get("next_share") is not None]
        ax.line(points, color, width=2)
        for x, v in points:
            ax.point(x, v, color, r=3)
        legend.append((f"{stage} → {nxt}", color))
    if legend:
        ax.legend(legend)
    return ax.render()


def velocity_plot(stages: list[dict[str, Any]]) -> str:
    """Median days from each stage to the next (bars), with the 90th percentile marked."""
    steps = [s for s in stages if "next" in s]
    ax = svg.Axes(520, 300, title="Days to the next stage (median, p90)", xlabel="step",
                  ylabel="days")
    n = len(steps)
    top = max([s["p90_days"] or 0 for s in steps] + [1])
    ax.set_limits(0, max(n, 1), 0, top * 1.15)
    ax.axes(xticks=[(i + 0.5, f"{s['stage']} → {s['next']}") for i, s in enumerate(steps)],
            rotate=n > 4)
    for i, s in enumerate(steps):
        if s["p50_days"] is None:
            continue
        ax.bar(i + 0.2, i + 0.8, s["p50_days"], svg.BLUE)
        ax.point(i + 0.5, s["p90_days"], svg.ORANGE)
        ax.label(i + 0.5, s["p90_days"], f"{days(s['p50_days'])} / {days(s['p90_days'])}")
    ax.legend([("median", svg.BLUE), ("90th percentile", svg.ORANGE)], corner="top-left")
    return ax.render()


def _stage_table(stages: list[dict[str, Any]]) -> str:
    return _table(STAGE_HEADERS, [stage_cells(s) for s in stages])


def funnel_section(r: dict[str, Any]) -> str:
    """The funnel velocity section: plots and tables, for a page of its own or a report."""
    c = r["counts"]
    parts = ["<h2>Funnel velocity</h2>",
             f"<p>{c['leads']} leads in the history; {c['entered']} held a tier, "
             f"{c['never_in_a_tier']} were only ever disqualified. Days run from the first "
             "snapshot at which a lead was at or above a stage to the first at or above the next "
             "(an outcome stage: its outcome time), over the leads that reached both; median and "
             "90th percentile by nearest rank.</p>"]
    if r["outcome"]:
        parts.append(f"<p>Outcome <code>{html.escape(r['outcome'])}</code>: {c['converted']} "
                     f"converted; {c['without_outcome']} leads without a valid outcome in the "
                     f"leads file; {c['outcome_time_problems']} conversions without a valid "
                     "time.</p>")
    parts.append("<div class=grid>")
    parts.append(stage_plot(r["all"]))
    parts.append(velocity_plot(r["all"]))
    if r["cohorts"]:
        parts.append(step_share_plot(r["cohorts"]))
    parts.append("</div>")
    parts += ["<h3>All leads</h3>", _stage_table(r["all"])]
    if r["cohorts"]:
        parts += [f"<h3>Per cohort</h3><p class=note>Cohort: the UTC month in which a lead first "
                  f"reached {html.escape(r['cohort_stage'])}.</p>",
                  _table(["cohort", "leads", *STAGE_HEADERS],
                         [[g["cohort"], g["leads"], *stage_cells(s)]
                          for g in r["cohorts"] for s in g["stages"]], left=3)]
    return "\n".join(parts)


def render_funnel_html(r: dict[str, Any]) -> str:
    parts = [page_head(f"Funnel of {r['history']}"), funnel_section(r),
             "<p class=note>Generated by leadscore funnel.</p></body></html>"]
    return "\n".join(parts)
