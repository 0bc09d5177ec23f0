"""Deterministic synthetic data shaped like examples/data (see make_reference_data.py).

Vectorized with numpy so that 10 000 000 events take seconds to make. The same seed
gives the same tables on every run (numpy's PCG64 stream), so results are comparable
between runs and machines.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

AS_OF_TEXT = "2026-03-01T00:00:00Z"
AS_OF_US = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z
US_PER_DAY = 86_400_000_000
SEED = 20260301

INDUSTRIES = ["Software", "SaaS", "IT Services", "Retail", "Manufacturing", "Healthcare",
              "Education", "Finance", "software", None]
TITLES = ["CEO", "Chief Technology Officer", "Head of Marketing", "Director of IT", "VP Sales",
          "Marketing Manager", "Software Engineer", "Analyst", "Student", "Intern",
          "Data Scientist", "Operations Lead", None]
COUNTRIES = ["CR", "PA", "US", "MX", "CO", "ES", "BR", "cr", None]
PLANS = ["starter", "growth", "enterprise", None]
DOMAINS = ["acme.io", "globex.com", "initech.com", "umbrella.co", "gmail.com", "gmail.com",
           "hooli.com", "rival.com", "stark.dev", "wayne.biz"]
FIRST = ["ana", "luis", "maria", "jose", "sofia", "diego", "valeria", "carlos", "lucia", "pedro",
         "camila", "andres", "elena", "jorge", "paula"]
EMPLOYEES = [5, 20, 45, 80, 150, 250, 600, 1200, 5000, None]
PAGES = ["/", "/pricing", "/lp/roi", "/lp/webinar", "/lp/trial", "/blog/scoring", "/careers",
         "/careers/engineer", "/docs", "/Pricing"]
ASSETS = ["roi-guide", "benchmark-2026", "checklist", None]
KINDS = ["email_open", "email_click", "page_view", "form_submit", "webinar", "demo_request",
         "unsubscribe", "chat_started"]
KIND_WEIGHTS = [40, 12, 30, 5, 3, 1.2, 0.7, 1]


@dataclass
class Dataset:
    leads: pa.Table  # id, created_at (timestamp), email, industry, title, employees, ...
    events: pa.Table  # lead_id, occurred_at (timestamp), kind, page, asset

    @property
    def n_leads(self) -> int:
        return self.leads.num_rows

    @property
    def n_events(self) -> int:
        return self.events.num_rows


def _pick(rng: np.random.Generator, values: list, n: int) -> pa.Array:
    return pa.array(values).take(pa.array(rng.integers(0, len(values), n)))


def make(n_leads: int, events_per_lead: float = 10.0, fixed: bool = False,
         seed: int = SEED) -> Dataset:
    """`n_leads` leads with about `events_per_lead` events each (exactly, if `fixed`).

    Like the example data: most leads barely engaged (engagement = u^2), mixed letter
    case, missing fields, events up to 3 days after as_of and an undeclared event type.
    """
    rng = np.random.default_rng(seed)
    ids = pa.array([f"L{i:07d}" for i in range(1, n_leads + 1)])
    domain_i = rng.integers(0, len(DOMAINS), n_leads)
    first_i = rng.integers(0, len(FIRST), n_leads)
    emails = pa.array([f"{FIRST[f]}.{i}@{DOMAINS[d]}"
                       for i, (f, d) in enumerate(zip(first_i.tolist(), domain_i.tolist()), 1)])
    accounts = pa.array([None if DOMAINS[d] == "gmail.com" else DOMAINS[d].split(".")[0]
                         for d in domain_i.tolist()])
    created = (AS_OF_US - rng.integers(1, 201, n_leads) * US_PER_DAY
               - rng.integers(0, 86_400, n_leads) * 1_000_000)
    leads = pa.table({
        "id": ids,
        "created_at": pa.array(created, pa.timestamp("us", "UTC")),
        "email": emails,
        "industry": _pick(rng, INDUSTRIES, n_leads),
        "title": _pick(rng, TITLES, n_leads),
        "employees": _pick(rng, EMPLOYEES, n_leads).cast(pa.int64()),
        "country": _pick(rng, COUNTRIES, n_leads),
        "plan_interest": _pick(rng, PLANS, n_leads),
        "account": accounts,
    })

    engagement = rng.random(n_leads) ** 2
    if fixed:
        counts = np.full(n_leads, int(events_per_lead), dtype=np.int64)
    else:  # E[u^2] = 1/3, so 3 * rate * u^2 events per lead averages `rate`
        counts = np.floor(engagement * events_per_lead * 3 + 0.5).astype(np.int64)
    lead_i = np.repeat(np.arange(n_leads), counts)
    n = len(lead_i)
    eng = engagement[lead_i]
    age_days = rng.uniform(-3, 150, n) * (1.2 - eng)
    times = AS_OF_US - (age_days * US_PER_DAY).astype(np.int64)
    times -= times % 1_000_000  # whole seconds, like real exports
    p = np.array(KIND_WEIGHTS) / sum(KIND_WEIGHTS)
    kind_i = rng.choice(len(KINDS), n, p=p)
    kinds = pa.array(KINDS).take(pa.array(kind_i))
    upper = pa.array(rng.random(n) < 0.05)
    kinds = pc.if_else(upper, pc.utf8_upper(kinds), kinds)
    page = pc.if_else(pa.array(kind_i == 2), _pick(rng, PAGES, n), pa.scalar(None, pa.string()))
    asset = pc.if_else(pa.array(kind_i == 3), _pick(rng, ASSETS, n), pa.scalar(None, pa.string()))
    order = np.lexsort((lead_i, times))  # exports come in time order, leads interleaved
    events = pa.table({
        "lead_id": ids.take(pa.array(lead_i[order])),
        "occurred_at": pa.array(times[order], pa.timestamp("us", "UTC")),
        "kind": kinds.take(pa.array(order)),
        "page": page.take(pa.array(order)),
        "asset": asset.take(pa.array(order)),
    })
    return Dataset(leads, events)


def _for_csv(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 text with `Z`, the way CRM and analytics exports write them."""
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            col = pc.strftime(col.cast(pa.timestamp("s", "UTC")), format="%Y-%m-%dT%H:%M:%SZ")
        cols[name] = col
    return pa.table(cols)


def write(ds: Dataset, folder: Path, fmt: str) -> tuple[Path, Path]:
    """Write leads and events as `fmt` ("csv" or "parquet"); returns their paths."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = folder / f"leads.{fmt}", folder / f"events.{fmt}"
    for table, path in zip((ds.leads, ds.events), paths):
        if fmt == "csv":
            opts = pacsv.WriteOptions(quoting_style="none")  # no value needs quotes
            pacsv.write_csv(_for_csv(table), path, opts)
        else:
            pq.write_table(table, path)
    return paths
