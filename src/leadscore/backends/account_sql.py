"""Account roll-ups in SQL: the lead query, then a GROUP BY of the scored leads by account."""

from __future__ import annotations

from sqlglot import exp

from ..compiler import ir
from ..engines import DUCKDB, Dialect
from .sql import RAW, AsOf, _col, _id, _SqlGen, _table, build_query


def account_query(model: ir.Model, dialect: Dialect = DUCKDB, as_of_us: AsOf = None,
                  leads: str | None = None, events: str | None = None,
                  previous_tier: bool = False) -> exp.Select:
    """The account roll-up as one query: the lead query, then GROUP BY the account field.

    An account is shown as its field is spelled by its member with the smallest lead key
    (backends/accounts.py `spell`): `members` marks that key per account, `acct` keeps that
    member's spelling beside the roll-ups; rows are ordered by that spelling, code point by
    code point (`Dialect.key`), as lead rows by their key."""
    acc = model.account
    ctes, prev, gen, _ = account_ctes(model, dialect, as_of_us, leads, events, previous_tier)
    final = [exp.alias_(_col("acct_name", prev), acc.field, quoted=True)]
    final += [exp.alias_(_col(gen.binding_cols[b], prev), c, quoted=True) for c, b in acc.outputs]
    query = exp.select(*final).from_(_table(prev), copy=False).order_by(
        dialect.key(_col("acct_name", prev)), copy=False)
    for name, cte in ctes:
        query = query.with_(_id(name), as_=cte, copy=False)
    return dialect.finish(query)


def account_ctes(model: ir.Model, dialect: Dialect, as_of_us: AsOf, leads: str | None,
                 events: str | None, previous_tier: bool = False, account: str | None = None,
                 ) -> tuple[list[tuple[str, exp.Select]], str, _SqlGen, exp.Expression]:
    """The roll-up's CTEs (`scored`: every lead's columns; `members`, `acct`, then one per
    account stage), the last one's name, the translation (account bindings as columns
    `c0..`), and the condition of a member row of `scored`; with `account` (a key), only
    that account's."""
    acc = model.account
    scored = build_query(model, dialect, as_of_us, leads, events, previous_tier, raw=acc.field)
    scored.set("expressions", [exp.Star()])
    scored.set("order", None)
    scored.set("settings", None)
    gen = _SqlGen(model, dialect, as_of_us)
    gen.aggs = {a.id: a for a in acc.aggregates}
    gen.bindings = {**gen.bindings, **{b.name: b for b in acc.bindings}}
    gen.binding_cols.update({b.name: f"c{i}" for i, b in enumerate(acc.bindings)})
    key = _col(gen.lead_cols[acc.field])
    disq = _col(gen.binding_cols["disqualified_by"])
    member = exp.and_(exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())),
                      exp.Is(this=disq, expression=exp.Null()))
    if account is not None:  # the key as the roll-up groups it: lower-cased text
        member = exp.and_(member, exp.EQ(this=key.copy(),
                                         expression=exp.Literal.string(account)))
    first = exp.Window(this=exp.Min(this=_col("k")), partition_by=[key.copy()])
    members = exp.select(exp.Star(), exp.alias_(first, "acct_first", quoted=True)) \
        .from_(_table("scored"), copy=False).where(member.copy(), copy=False)
    spelled = exp.Case(ifs=[exp.If(this=exp.EQ(this=_col("k"), expression=_col("acct_first")),
                                   true=_col(RAW))])
    cols: list[exp.Expression] = [exp.alias_(key.copy(), "acct_k", quoted=True),
                                  exp.alias_(exp.Max(this=spelled), "acct_name", quoted=True)]
    for a in acc.aggregates:  # a roll-up folds member rows as a lead's aggregate folds events
        cols.append(exp.alias_(gen.empty_filled(a, gen.aggregate(a)), a.id, quoted=True))
    grouped = exp.select(*cols).from_(_table("members"), copy=False).group_by(key.copy(),
                                                                             copy=False)
    ctes = [("scored", scored), ("members", members), ("acct", grouped)]
    prev = "acct"
    for i, stage in enumerate(acc.stages):
        stage_cols = [exp.Star()] + [exp.alias_(gen.value(b.expr), gen.binding_cols[b.name],
                                                quoted=True) for b in stage]
        ctes.append((f"acct_s{i}", exp.select(*stage_cols).from_(_table(prev), copy=False)))
        prev = f"acct_s{i}"
    return ctes, prev, gen, member
