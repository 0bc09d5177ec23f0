"""Generate backtest_leads.csv: the reference example's leads with an outcome and its time
(deterministic).

    python examples/calibration/make_backtest_data.py

It copies examples/data/leads.csv and adds two columns, `won` (yes/no) and `won_at` (the
moment the deal was won, empty when it was not), drawn from each lead's own events in
examples/data/events.csv: every buying signal (a demo request, a pricing page, a download, a
webinar) may lead to a deal some days later, more often for decision makers at tech companies,
never for a competitor; a lead can also convert without signals some weeks after it was
created. The first deal drawn is the lead's. The CRM export is taken on EXPORTED: deals drawn
after it are not in the file (`won` is no), as in any real export.

`leadscore calibrate --from ... --outcome won --outcome-time won_at` back-tests
examples/reference.score on it (docs/calibration.md, "Back-tests").
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "data"
EXPORTED = datetime(2026, 4, 15, tzinfo=UTC)
SEED = 20260415

# a signal's chance of becoming a deal, and the range of days the deal takes after it
SIGNALS = {"demo_request": (0.30, 5, 40), "pricing": (0.07, 7, 60),
           "form_submit": (0.04, 10, 60), "webinar": (0.03, 10, 75)}
UNPROMPTED = (0.03, 20, 150)  # without a signal, counted from the lead's creation
DECISION_MAKER = ("chief", "head", "director", "vp", "ceo")
TECH = ("software", "saas", "it services")


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _fit(lead: dict[str, str]) -> float:
    """How much likelier this lead is to buy than the average one."""
    if lead["email"].endswith("@rival.com"):
        return 0.0
    title = lead["title"].lower()
    factor = 1.0
    if any(word in title for word in DECISION_MAKER):
        factor *= 1.6
    if title in ("student", "intern"):
        factor *= 0.3
    if lead["industry"].lower() in TECH:
        factor *= 1.3
    if lead["email"].endswith("@gmail.com"):
        factor *= 0.7
    return factor


def _signal(event: dict[str, str]) -> str | None:
    kind = event["kind"].lower()
    if kind == "page_view":
        return "pricing" if event["page"].lower() == "/pricing" else None
    return kind if kind in SIGNALS else None


def main() -> None:
    rng = random.Random(SEED)
    with (DATA / "leads.csv").open(newline="", encoding="utf-8") as f:
        leads = list(csv.DictReader(f))
    with (DATA / "events.csv").open(newline="", encoding="utf-8") as f:
        events = list(csv.DictReader(f))
    by_lead: dict[str, list[dict[str, str]]] = {}
    for e in events:
        by_lead.setdefault(e["lead_id"], []).append(e)
    won = 0
    for lead in leads:
        fit = _fit(lead)
        chance, lo, hi = UNPROMPTED
        candidates = []
        if rng.random() < chance * fit:
            candidates.append(_time(lead["created_at"]) + timedelta(days=rng.uniform(lo, hi)))
        for e in sorted(by_lead.get(lead["id"], []), key=lambda e: e["occurred_at"]):
            signal = _signal(e)
            if signal is None:
                continue
            chance, lo, hi = SIGNALS[signal]
            if rng.random() < min(1.0, chance * fit):
                candidates.append(_time(e["occurred_at"]) + timedelta(days=rng.uniform(lo, hi)))
        deal = min(candidates, default=None)
        if deal is not None and deal <= EXPORTED:
            lead["won"], lead["won_at"] = "yes", deal.strftime("%Y-%m-%dT%H:%M:%SZ")
            won += 1
        else:
            lead["won"], lead["won_at"] = "no", ""
    with (HERE / "backtest_leads.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(leads[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(leads)
    print(f"wrote {len(leads)} leads ({won} won by {EXPORTED:%Y-%m-%d}) to "
          f"{HERE / 'backtest_leads.csv'}")


if __name__ == "__main__":
    main()
