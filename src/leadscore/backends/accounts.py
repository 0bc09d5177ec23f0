"""Account roll-ups on both backends: a Python post-pass and a SQL query over scored leads.

Members are leads whose account field is present and that are not disqualified. A
member expression uses the lead's fields and its scores (`score:NAME`, `total`), so
both backends evaluate accounts from the scored leads, never from raw events.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from sqlglot import exp

from ..compiler import ir
from .dialects import DUCKDB, Dialect
from .python import _Gen
from .sql import _col, _id, _p, _SqlGen, _table, build_query


class _AccountGen(_Gen):
    """Python source for the account post-pass, reusing the lead expression generator."""

    def __init__(self, model: ir.Model):
        super().__init__(model)
        acc = model.account
        self.aggs = {a.id: a for a in acc.aggregates}
        self.bindings = {**self.bindings, **{b.name: b for b in acc.bindings}}
        # a member row: (key, lead fields in sorted order..., each lead output...)
        for i, (_column, bname) in enumerate(model.outputs):
            self.local[f"b:{bname}"] = f"o{i}"
        for i, b in enumerate(acc.bindings):
            self.local[f"b:{b.name}"] = f"c{i}"

    def source(self) -> str:
        m, acc = self.m, self.m.account
        fields = [self.local[f"f:{n}"] for n in self.lead_fields]
        outs = [f"o{i}" for i in range(len(m.outputs))]
        key_field = self.local[f"f:{acc.field}"]
        disq = self.local["b:disqualified_by"]
        lines = ["def accounts(members):",
                 "    groups = {}",
                 "    for member, row in members:",
                 f"        {', '.join(['_key', *fields]) + (',' if not fields else '')} = member",
                 f"        {', '.join(['_k', *outs])} = row",
                 f"        if {key_field} is None or {disq} is not None:",
                 "            continue",
                 f"        g = groups.get({key_field})",
                 "        if g is None:",
                 f"            g = groups[{key_field}] = {self.init()}"]
        for i, a in enumerate(acc.aggregates):
            cond = self.expr(a.where)
            slot = 2 * i
            if a.fn == "count":
                update = [f"g[{slot}] += 1"]
            else:
                update = [f"_v = {self.expr(a.value)}", "if _v is not None:"]
                if a.fn in ("sum", "avg"):
                    update += [f"    g[{slot}] += _v", f"    g[{slot + 1}] += 1"]
                else:
                    op = "<" if a.fn == "min" else ">"
                    update += [f"    if g[{slot}] is None or _v {op} g[{slot}]:",
                               f"        g[{slot}] = _v"]
            if cond == "True":
                lines += [f"        {u}" for u in update]
            else:
                lines.append(f"        if {cond}:")
                lines += [f"            {u}" for u in update]
        lines += ["    out = []", "    for key, g in groups.items():"]
        for i, a in enumerate(acc.aggregates):
            slot = 2 * i
            if a.fn == "avg":
                lines.append(f"        {a.id} = g[{slot}] / g[{slot + 1}] if g[{slot + 1}] else None")
            else:
                lines.append(f"        {a.id} = g[{slot}]")
        for b in acc.bindings:
            lines.append(f"        {self.local['b:' + b.name]} = {self.expr(b.expr)}")
        res = ", ".join(["key"] + [self.local["b:" + b] for _, b in acc.outputs])
        lines += [f"        out.append(({res}))", "    out.sort(key=lambda r: r[0])",
                  "    return out"]
        return "\n".join(lines) + "\n"

    def init(self) -> str:
        parts = []
        for a in self.m.account.aggregates:
            parts += ["0", "0"] if a.fn in ("count",) else (
                ["0.0", "0"] if a.fn in ("sum", "avg") else ["None", "0"])
        return "[" + ", ".join(parts) + "]"


def compile_accounts_python(model: ir.Model) -> Callable:
    """`accounts(members)` over (lead tuple, output row) pairs -> account rows by key."""
    gen = _AccountGen(model)
    src = gen.source()
    namespace: dict[str, object] = {"_floor": math.floor, **gen.consts}
    exec(compile(src, f"<leadscore-accounts:{model.name}>", "exec"), namespace)  # noqa: S102
    return namespace["accounts"]


def account_query(model: ir.Model, dialect: Dialect = DUCKDB, as_of_us: int | None = None,
                  leads: str | None = None, events: str | None = None) -> exp.Select:
    """The account roll-up as one query: the lead query, then GROUP BY the account field."""
    acc = model.account
    scored = build_query(model, dialect, as_of_us, leads, events)
    scored.set("expressions", [exp.Star()])
    scored.set("order", None)
    scored.set("settings", None)
    gen = _SqlGen(model, dialect, as_of_us)
    gen.aggs = {a.id: a for a in acc.aggregates}
    gen.bindings = {**gen.bindings, **{b.name: b for b in acc.bindings}}
    gen.binding_cols.update({b.name: f"c{i}" for i, b in enumerate(acc.bindings)})
    key = _col(gen.lead_cols[acc.field])
    disq = _col(gen.binding_cols["disqualified_by"])
    cols: list[exp.Expression] = [exp.alias_(key.copy(), "acct_k", quoted=True)]
    for a in acc.aggregates:
        cond = gen.pred(a.where)
        if a.fn == "count":
            node: exp.Expression = exp.Count(this=exp.Case(ifs=[exp.If(
                this=cond, true=exp.Literal.number(1))]))
        else:
            value = exp.Case(ifs=[exp.If(this=cond, true=gen.value(a.value))])
            node = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}[a.fn](
                this=value)
            if a.fn == "sum":
                node = exp.Coalesce(this=node, expressions=[gen.num(0)])
        cols.append(exp.alias_(node, a.id, quoted=True))
    member = exp.and_(exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())),
                      exp.Is(this=disq, expression=exp.Null()))
    grouped = exp.select(*cols).from_(_table("scored"), copy=False).where(member, copy=False) \
        .group_by(key.copy(), copy=False)
    ctes = [("scored", scored), ("acct", grouped)]
    prev = "acct"
    for i, stage in enumerate(acc.stages):
        stage_cols = [exp.Star()] + [exp.alias_(gen.value(b.expr), gen.binding_cols[b.name],
                                                quoted=True) for b in stage]
        ctes.append((f"acct_s{i}", exp.select(*stage_cols).from_(_table(prev), copy=False)))
        prev = f"acct_s{i}"
    final = [exp.alias_(_col("acct_k", prev), acc.field, quoted=True)]
    final += [exp.alias_(_col(gen.binding_cols[b], prev), c, quoted=True) for c, b in acc.outputs]
    query = exp.select(*final).from_(_table(prev), copy=False).order_by(_col("acct_k", prev),
                                                                        copy=False)
    for name, cte in ctes:
        query = query.with_(_id(name), as_=cte, copy=False)
    return dialect.finish(query)


__all__ = ["account_query", "compile_accounts_python", "_p"]
