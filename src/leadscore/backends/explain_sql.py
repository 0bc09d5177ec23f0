"""The explain query: one row per (lead, rule) with its event count and points, in SQL."""

from __future__ import annotations

from sqlglot import exp

from ..compiler import ir
from ..engines import DUCKDB, Dialect
from .sql import AsOf, _col, _id, _SqlGen, _table, build_query


def explain_query(model: ir.Model, dialect: Dialect = DUCKDB, as_of_us: AsOf = None,
                  leads: str | None = None, events: str | None = None,
                  previous_tier: bool = False) -> exp.Expression:
    scored = build_query(model, dialect, as_of_us, leads, events, previous_tier)
    scored.set("expressions", [exp.Star()])
    scored.set("order", None)
    scored.set("settings", None)
    gen = _SqlGen(model, dialect, as_of_us)
    cols = gen.binding_cols
    # a model with sticky tiers: each row also says which tier stickiness held (null where it
    # did not decide the tier) and the previous tier as read (runtime/explain.py `sticky`)
    sticky = ([exp.alias_(_col(cols["tier:sticky"]), "held_tier", quoted=True),
               exp.alias_(_col(gen.lead_cols[ir.PREVIOUS_TIER]), "previous_tier", quoted=True)]
              if ir.reads_previous_tier(model) else [])
    parts = []
    for i, r in enumerate(model.rules):
        count = (dialect.double(_col(cols[r.count])) if r.count
                 else exp.Cast(this=exp.Null(), to=exp.DataType.build("DOUBLE")))
        parts.append(exp.select(
            exp.alias_(_col("k"), "key", quoted=True),
            exp.alias_(exp.Literal.number(i), "rule_index", quoted=True),
            exp.alias_(exp.Literal.string(r.score), "score", quoted=True),
            exp.alias_(exp.Literal.string(r.label), "rule", quoted=True),
            exp.alias_(exp.Literal.number(r.line), "line", quoted=True),
            exp.alias_(count, "events", quoted=True),
            exp.alias_(_col(cols[r.points]), "points", quoted=True),
            *(c.copy() for c in sticky),
        ).from_(_table("scored"), copy=False))
    body: exp.Expression = parts[0]
    for p in parts[1:]:
        body = exp.union(body, p, distinct=False, copy=False)
    query = exp.select(exp.Star()).from_(exp.alias_(exp.Subquery(this=body), "rules",
                                                    table=True, quoted=True), copy=False)
    query = query.order_by(_col("key"), _col("rule_index"), copy=False)
    query = query.with_(_id("scored"), as_=scored, copy=False)
    return dialect.finish(query)
