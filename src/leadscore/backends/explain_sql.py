"""The explain query: one row per (lead, explain step), each step's values in SQL.

The steps are the model's (`ir.Model.explain`, written by lowering): the same IR expressions
the interpreter evaluates for `leadscore explain`, translated over the scoring query's last
stage, where every field, aggregate and binding of the lead is a column. Columns: the key,
the step's index, kind, subject, label and line, then one column per `ir.STEP_VALUES` name
(numbers and `holds`, 1 or 0, as DOUBLE; `text` as text), null where the step shows no such value.
"""

from __future__ import annotations

from sqlglot import exp

from ..compiler import ir
from ..engines import DUCKDB, Dialect
from .sql import AsOf, _col, _id, _number, _SqlGen, _table, build_query

# the columns before the values, in order
STEP_COLUMNS = ("key", "step", "kind", "subject", "label", "line")
_TEXT = exp.DataType(this=exp.DataType.Type.VARCHAR, nested=False)


def explain_query(model: ir.Model, dialect: Dialect = DUCKDB, as_of_us: AsOf = None,
                  leads: str | None = None, events: str | None = None,
                  previous_tier: bool = False, key: str | None = None) -> exp.Expression:
    """Every lead's explain rows, ordered by key and step; only lead `key`'s if given. With
    `previous_tier`, the leads relation has the ir.PREVIOUS_TIER column (sticky tiers)."""
    scored = build_query(model, dialect, as_of_us, leads, events, previous_tier)
    scored.set("expressions", [exp.Star()])
    scored.set("order", None)
    scored.set("settings", None)
    if key is not None:
        scored = scored.where(exp.EQ(this=_col("k"), expression=dialect.key(
            exp.Literal.string(key))), copy=False)
    gen = _SqlGen(model, dialect, as_of_us)
    parts = [_step_row(i, step, gen, dialect, _col("k")).from_(_table("scored"), copy=False)
             for i, step in enumerate(model.explain)]
    return _union(parts, dialect, [("scored", scored)])


def account_explain_query(model: ir.Model, dialect: Dialect = DUCKDB, as_of_us: AsOf = None,
                          leads: str | None = None, events: str | None = None,
                          previous_tier: bool = False, key: str = "") -> exp.Expression:
    """Account `key`'s explain rows (`ir.Account.explain`; its key as the roll-up groups
    it, lower-cased): the columns of `explain_query` and `lead`, the member whose row it is
    ("member" steps, one row per member and step), null on the account's own steps."""
    from .account_sql import account_ctes

    ctes, prev, gen, member = account_ctes(model, dialect, as_of_us, leads, events,
                                           previous_tier, key)
    parts = []
    for i, step in enumerate(model.account.explain):
        if step.kind == "member":
            row = _step_row(i, step, gen, dialect, _col(gen.lead_cols[model.account.field]),
                            exp.alias_(_col("k"), "lead", quoted=True))
            parts.append(row.from_(_table("scored"), copy=False).where(member.copy(),
                                                                       copy=False))
        else:
            row = _step_row(i, step, gen, dialect, _col("acct_k"),
                            exp.alias_(exp.Cast(this=exp.Null(), to=_TEXT.copy()), "lead",
                                       quoted=True))
            parts.append(row.from_(_table(prev), copy=False))
    return _union(parts, dialect, ctes, ("lead",))


def _step_row(i: int, step: ir.Step, gen: _SqlGen, dialect: Dialect, key: exp.Expression,
              *extra: exp.Expression) -> exp.Select:
    """One step's row: STEP_COLUMNS, then each ir.STEP_VALUES value, then `extra`."""
    cols = [exp.alias_(key, "key", quoted=True),
            exp.alias_(_number(i), "step", quoted=True),
            exp.alias_(exp.Literal.string(step.kind), "kind", quoted=True),
            exp.alias_(exp.Literal.string(step.subject), "subject", quoted=True),
            exp.alias_(exp.Literal.string(step.label), "label", quoted=True),
            exp.alias_(_number(step.line), "line", quoted=True)]
    for name, type_ in ir.STEP_VALUES.items():
        e = step.values.get(name)
        # every column typed in every branch: a union's first branches may be all null
        if type_ == ir.TEXT:
            value = exp.Cast(this=exp.Null() if e is None else gen.value(e), to=_TEXT.copy())
        elif e is None:
            value = dialect.double(exp.Null())
        elif type_ == ir.BOOL:  # 1/0 on every engine, whether it has booleans or not
            value = dialect.double(gen.as_flag(gen.cond(e)))
        else:
            value = dialect.double(gen.value(e))
        cols.append(exp.alias_(value, name, quoted=True))
    return exp.select(*cols, *extra)


def _union(parts: list[exp.Select], dialect: Dialect, ctes: list[tuple[str, exp.Select]],
           order: tuple[str, ...] = ()) -> exp.Expression:
    """The rows of `parts` in one query, ordered by key, step (and `order`)."""
    body: exp.Expression = parts[0]
    for p in parts[1:]:
        body = exp.union(body, p, distinct=False, copy=False)
    query = exp.select(exp.Star()).from_(exp.alias_(exp.Subquery(this=body), "steps",
                                                    table=True, quoted=True), copy=False)
    query = query.order_by(_col("key"), _col("step"), *[_col(c) for c in order], copy=False)
    for name, cte in ctes:
        query = query.with_(_id(name), as_=cte, copy=False)
    return dialect.finish(query)
