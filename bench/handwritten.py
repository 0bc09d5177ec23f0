"""The reference model (examples/reference.score) scored by hand, as a good engineer would.

This is the yardstick for the generated code, so it is written to be fast, not to be
a straw man: one pass over the events grouping them by lead, then one pass per lead
dispatching on the lower-cased type, with precompiled regexes, lower-cased literals,
local variables only, and the model's constants folded in by hand. It takes the same
validated columns the engines take (`runtime.data.Leads` / `Events`) and returns the
same rows: (key, fit, engagement, total, segment, tier, held_from, disqualified_by,
grade), ordered by key.

`HAND_SQL` is the same model written directly in DuckDB SQL over the same tables.
"""

from __future__ import annotations

import math
import re

from leadscore.runtime.data import Events, Leads

DAY = 86_400_000_000
_DECISION_MAKER = re.compile("(chief|head|director|vp)")
_STUDENT = re.compile("student")
_TECH = frozenset({"software", "saas", "it services"})
_HOME = frozenset({"cr", "pa"})


def score_python(leads: Leads, events: Events, as_of_us: int) -> list[tuple]:
    by_lead: dict[str, list] = {}
    get = by_lead.get
    page_col, asset_col = events.columns["page"], events.columns["asset"]
    for lead, t, kind, page, asset in zip(events.leads, events.times, events.types, page_col,
                                          asset_col):
        age = as_of_us - t
        if age < 0:
            continue
        bucket = get(lead)
        if bucket is None:
            by_lead[lead] = [(age, kind, page, asset)]
        else:
            bucket.append((age, kind, page, asset))

    c = leads.columns
    out = []
    append = out.append
    for key, created, email, industry, title, employees, country in zip(
            leads.keys, c["created_at"], c["email"], c["industry"], c["title"], c["employees"],
            c["country"]):
        email = email.lower() if email is not None else None
        title = title.lower() if title is not None else None
        fit = 0.0
        if industry is not None and industry.lower() in _TECH:
            fit += 20.0
        if title is not None and _DECISION_MAKER.search(title):
            fit += 15.0
        if employees is not None and employees >= 200:
            fit += 10.0
        if country is not None and country.lower() in _HOME:
            fit += 8.0
        if title is not None and _STUDENT.search(title):
            fit -= 30.0
        if email is not None and email.endswith("@gmail.com"):
            fit -= 10.0

        opens = clicks = lp = downloads = pricing = pricing_30d = demos = careers = unsub = 0
        views_7d = 0
        webinar_w = 0.0
        last_age = None
        for age, kind, page, asset in by_lead.get(key, ()):
            if last_age is None or age < last_age:
                last_age = age
            kind = kind.lower()
            if kind == "email_open":
                if age < 90 * DAY:
                    opens += 1
            elif kind == "page_view":
                if age < 7 * DAY:
                    views_7d += 1
                if page is not None:
                    page = page.lower()
                    if page == "/pricing":
                        pricing += 1
                        if age < 30 * DAY:
                            pricing_30d += 1
                    elif page.startswith("/lp/"):
                        lp += 1
                    elif page.startswith("/careers"):
                        careers += 1
            elif kind == "email_click":
                clicks += 1
            elif kind == "form_submit":
                if asset is not None:
                    downloads += 1
            elif kind == "webinar":
                webinar_w += 0.5 ** (age / DAY / 30)
            elif kind == "demo_request":
                demos += 1
            elif kind == "unsubscribe":
                unsub += 1

        eng = (min(opens, 10) + min(5 * clicks, 25) + min(15 * lp, 45)
               + (min(25 + 5 * (downloads - 1), 40) if downloads else 0)
               + (30 if pricing else 0) + (50 if demos else 0) + 20.0 * webinar_w
               + (10 if views_7d >= 3 else 0) + max(-10 * careers, -20) + (-50 if unsub else 0))
        eng = min(eng, 150.0)
        if eng > 0:
            age = last_age if last_age is not None else (
                as_of_us - created if created is not None else None)
            if age is not None:
                periods = max(0, math.floor((age // DAY) / 30))
                eng = max(0.0, eng - 10.0 * periods)
        total = max(0.0, min(fit + eng, 200.0))

        disq = "competitor" if email is not None and email.endswith("@rival.com") else None
        if employees is not None and employees >= 1000:
            segment, t_nurture, t_mql, t_sql = "enterprise", 60, 140, 190
        else:
            segment = "smb" if employees is not None and employees < 50 else "default"
            t_nurture, t_mql, t_sql = 40, 100, 150
        held = None
        if disq is not None:
            tier = "disqualified"
        elif total >= t_sql and demos:
            tier = "sql"
        elif total >= t_mql and pricing_30d:
            tier = "mql"
            held = "sql" if total >= t_sql else None
        elif total >= t_nurture:
            tier = "nurture"
            held = "sql" if total >= t_sql else "mql" if total >= t_mql else None
        else:
            tier = "cold"
        grade = "A" if fit >= 40 else "B" if fit >= 25 else "C" if fit >= 10 else "D"
        append((key, fit, float(eng), total, segment, tier, held, disq, grade))
    out.sort()
    return out


# The same model in DuckDB SQL, as an analyst fluent in DuckDB would write it: FILTER
# clauses, one GROUP BY over the events, the scores in one SELECT. `{as_of_us}` is the
# scoring instant in microseconds; the tables are `leads` and `events` with the
# schema's column names and TIMESTAMP columns.
HAND_SQL = """
WITH agg AS (
  SELECT lead_id,
    count(*) FILTER (kind = 'email_open' AND age < 90 * 86400000000) AS opens,
    count(*) FILTER (kind = 'email_click') AS clicks,
    count(*) FILTER (kind = 'page_view' AND starts_with(page, '/lp/')) AS lp,
    count(*) FILTER (kind = 'form_submit' AND asset IS NOT NULL) AS downloads,
    count(*) FILTER (kind = 'page_view' AND page = '/pricing') AS pricing,
    count(*) FILTER (kind = 'page_view' AND page = '/pricing'
                     AND age < 30 * 86400000000) AS pricing_30d,
    count(*) FILTER (kind = 'demo_request') AS demos,
    sum(pow(0.5, age / 86400000000 / 30)) FILTER (kind = 'webinar') AS webinar_w,
    count(*) FILTER (kind = 'page_view' AND age < 7 * 86400000000) AS views_7d,
    count(*) FILTER (kind = 'page_view' AND starts_with(page, '/careers')) AS careers,
    count(*) FILTER (kind = 'unsubscribe') AS unsub,
    min(age) AS last_age
  FROM (SELECT lead_id, lower(kind) AS kind, lower(page) AS page, asset,
               {as_of_us} - epoch_us(occurred_at) AS age
        FROM events) e
  WHERE age >= 0
  GROUP BY lead_id
),
fit AS (
  SELECT l.id, l.employees, lower(l.email) AS email, a.*,
    {as_of_us} - epoch_us(l.created_at) AS created_age,
    CASE WHEN lower(industry) IN ('software', 'saas', 'it services') THEN 20 ELSE 0 END
    + CASE WHEN regexp_matches(lower(title), '(chief|head|director|vp)') THEN 15 ELSE 0 END
    + CASE WHEN employees >= 200 THEN 10 ELSE 0 END
    + CASE WHEN lower(country) IN ('cr', 'pa') THEN 8 ELSE 0 END
    + CASE WHEN regexp_matches(lower(title), 'student') THEN -30 ELSE 0 END
    + CASE WHEN ends_with(lower(email), '@gmail.com') THEN -10 ELSE 0 END AS fit
  FROM leads l LEFT JOIN agg a ON a.lead_id = l.id
),
eng AS (
  SELECT *, least(150,
      least(coalesce(opens, 0), 10) + least(5 * coalesce(clicks, 0), 25)
      + least(15 * coalesce(lp, 0), 45)
      + CASE WHEN downloads > 0 THEN least(25 + 5 * (downloads - 1), 40) ELSE 0 END
      + CASE WHEN pricing > 0 THEN 30 ELSE 0 END + CASE WHEN demos > 0 THEN 50 ELSE 0 END
      + 20 * coalesce(webinar_w, 0.0) + CASE WHEN views_7d >= 3 THEN 10 ELSE 0 END
      + greatest(-10 * coalesce(careers, 0), -20) + CASE WHEN unsub > 0 THEN -50 ELSE 0 END
    )::DOUBLE AS eng0,
    greatest(0, floor(coalesce(last_age, created_age) // 86400000000 / 30)) AS idle_periods
  FROM fit
),
total AS (
  SELECT *,
    CASE WHEN eng0 > 0 THEN greatest(0, eng0 - 10 * coalesce(idle_periods, 0)) ELSE eng0 END
      AS engagement
  FROM eng
),
tiers AS (
  SELECT *, greatest(0, least(fit + engagement, 200))::DOUBLE AS total,
    CASE WHEN ends_with(email, '@rival.com') THEN 'competitor' END AS disqualified_by,
    CASE WHEN employees >= 1000 THEN 'enterprise' WHEN employees < 50 THEN 'smb'
         ELSE 'default' END AS segment
  FROM total
),
thresholds AS (
  SELECT *,
    CASE WHEN segment = 'enterprise' THEN 60 ELSE 40 END AS t_nurture,
    CASE WHEN segment = 'enterprise' THEN 140 ELSE 100 END AS t_mql,
    CASE WHEN segment = 'enterprise' THEN 190 ELSE 150 END AS t_sql
  FROM tiers
)
SELECT id, fit::DOUBLE AS fit, engagement::DOUBLE AS engagement, total, segment,
  CASE WHEN disqualified_by IS NOT NULL THEN 'disqualified'
       WHEN total >= t_sql AND demos > 0 THEN 'sql'
       WHEN total >= t_mql AND pricing_30d > 0 THEN 'mql'
       WHEN total >= t_nurture THEN 'nurture' ELSE 'cold' END AS tier,
  CASE WHEN disqualified_by IS NOT NULL OR (total >= t_sql AND demos > 0) THEN NULL
       WHEN total >= t_sql THEN 'sql'
       WHEN total >= t_mql AND pricing_30d > 0 THEN NULL
       WHEN total >= t_mql THEN 'mql' END AS held_from,
  disqualified_by,
  CASE WHEN fit >= 40 THEN 'A' WHEN fit >= 25 THEN 'B' WHEN fit >= 10 THEN 'C' ELSE 'D' END
    AS grade
FROM thresholds
ORDER BY id
"""
