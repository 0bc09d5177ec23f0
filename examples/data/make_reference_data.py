"""Generate the bundled example data for examples/reference.score (deterministic).

    python examples/data/make_reference_data.py

Synthetic but shaped like a B2B SaaS funnel: most leads only open emails, some
read landing pages and download assets, few reach pricing and demos. The data
includes what real exports contain: missing fields, mixed letter case, events
after the scoring instant, and events of types the model does not declare.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
N_LEADS = 300

INDUSTRIES = ["Software", "SaaS", "IT Services", "Retail", "Manufacturing", "Healthcare",
              "Education", "Finance", "software", ""]
TITLES = ["CEO", "Chief Technology Officer", "Head of Marketing", "Director of IT", "VP Sales",
          "Marketing Manager", "Software Engineer", "Analyst", "Student", "Intern",
          "Data Scientist", "Operations Lead", ""]
COUNTRIES = ["CR", "PA", "US", "MX", "CO", "ES", "BR", "cr", ""]
PLANS = ["starter", "growth", "enterprise", ""]
DOMAINS = ["acme.io", "globex.com", "initech.com", "umbrella.co", "gmail.com", "gmail.com",
           "hooli.com", "rival.com", "stark.dev", "wayne.biz"]
FIRST = ["ana", "luis", "maria", "jose", "sofia", "diego", "valeria", "carlos", "lucia", "pedro",
         "camila", "andres", "elena", "jorge", "paula"]
PAGES = ["/", "/pricing", "/lp/roi", "/lp/webinar", "/lp/trial", "/blog/scoring", "/careers",
         "/careers/engineer", "/docs", "/Pricing"]
ASSETS = ["roi-guide", "benchmark-2026", "checklist", ""]


def main() -> None:
    rng = random.Random(20260301)
    leads, events = [], []
    for i in range(1, N_LEADS + 1):
        lead_id = f"L{i:04d}"
        domain = rng.choice(DOMAINS)
        company = domain.split(".")[0]
        created = AS_OF - timedelta(days=rng.randint(1, 200), seconds=rng.randint(0, 86_399))
        employees = rng.choice([5, 20, 45, 80, 150, 250, 600, 1200, 5000, None])
        leads.append({
            "id": lead_id,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "email": f"{rng.choice(FIRST)}.{i}@{domain}",
            "industry": rng.choice(INDUSTRIES),
            "title": rng.choice(TITLES),
            "employees": "" if employees is None else employees,
            "country": rng.choice(COUNTRIES),
            "plan_interest": rng.choice(PLANS),
            "account": "" if domain == "gmail.com" else company,
        })
        engagement = rng.random() ** 2  # most leads are barely engaged
        n_events = int(engagement * 40)
        for _ in range(n_events):
            age = timedelta(days=rng.uniform(-3, 150) * (1.2 - engagement))
            when = AS_OF - age
            kind = rng.choices(
                ["email_open", "email_click", "page_view", "form_submit", "webinar",
                 "demo_request", "unsubscribe", "chat_started"],
                weights=[40, 12, 30, 5, 3, 1.5 * engagement, 0.7, 1])[0]
            page = rng.choice(PAGES) if kind == "page_view" else ""
            asset = rng.choice(ASSETS) if kind == "form_submit" else ""
            if rng.random() < 0.05:
                kind = kind.upper()
            events.append({"lead_id": lead_id,
                           "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "kind": kind, "page": page, "asset": asset})
    events.sort(key=lambda e: (e["occurred_at"], e["lead_id"]))
    for name, rows in (("leads.csv", leads), ("events.csv", events)):
        with (HERE / name).open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    print(f"wrote {len(leads)} leads and {len(events)} events to {HERE}")


if __name__ == "__main__":
    main()
