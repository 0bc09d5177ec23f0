"""A large generated model for the compile-time benchmark: the reference schema with
`n` rules of every kind (lead conditions, per/once/first-repeat event rules with filters,
caps, windows, half-lives, lifespans and throttles), spread over 20 scores."""

from __future__ import annotations

SCHEMA = """schema {
  lead {
    key id
    created created_at
    field email: text
    field industry: text
    field title: text
    field employees: int
    field country: text
    field plan_interest: text
    field account: text
  }
  event {
    lead lead_id
    time occurred_at
    type kind
    types email_open, email_click, page_view, form_submit, webinar, demo_request, unsubscribe
    field page: text
    field asset: text
  }
}
"""

TYPES = ["email_open", "email_click", "page_view", "form_submit", "webinar", "demo_request"]


def rule(i: int) -> str:
    kind = i % 8
    t = TYPES[i % len(TYPES)]
    if kind == 0:
        return f'rule "r{i}" +{i % 17 + 1} when employees >= {i * 7 % 5000}'
    if kind == 1:
        return f'rule "r{i}" +{i % 13 + 1} when title matches "(chief|head{i % 50})"'
    if kind == 2:
        return f'rule "r{i}" +{i % 5 + 1} per event {t} within {i % 90 + 1}d cap {i % 40 + 5}'
    if kind == 3:
        return f'rule "r{i}" +{i % 30 + 1} once event page_view where page == "/p{i % 97}"'
    if kind == 4:
        return f'rule "r{i}" +{i % 20 + 5} first, +{i % 4 + 1} repeat per event {t} cap 60'
    if kind == 5:
        return f'rule "r{i}" +{i % 9 + 1} per event {t} half_life {i % 60 + 7}d'
    if kind == 6:
        return f'rule "r{i}" +{i % 9 + 1} per event {t} at most once per {i % 14 + 1}d'
    return (f'rule "r{i}" -{i % 9 + 1} when industry in ["x{i % 31}", "y{i % 29}"] '
            f'and country != "c{i % 11}"')


def model_text(n: int = 2000, scores: int = 20) -> str:
    per = n // scores
    parts = [SCHEMA]
    for s in range(scores):
        body = "\n".join("  " + rule(s * per + j) for j in range(per))
        parts.append(f"score s{s} cap 500 {{\n{body}\n  decay -5 every 30d without event\n}}\n")
    parts.append("""
total = s0 + s1 + s2
clamp total 0..1000
segment enterprise when employees >= 1000
tiers { cold; warm at 100; hot at 300 require event demo_request }
tiers for enterprise { cold; warm at 150; hot at 400 }
""")
    return "\n".join(parts)
