"""Account roll-ups in Python: a post-pass over scored leads (backends/account_sql.py: in SQL).

Members are leads whose account field is present and that are not disqualified. A
member expression uses the lead's fields and its scores (`score:NAME`, `total`), so
both backends evaluate accounts from the scored leads, never from raw events.

Accounts group by the lower-cased field and are shown as the data spells it: the field of
the member with the smallest lead key (`spell`; in SQL, account_sql.py's `members` CTE),
ordered by that spelling.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from operator import itemgetter

from ..compiler import ir
from ..compiler.fold import FOLDS
from ..compiler.text import fold
from .python import _Gen


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
        # each aggregate's fold state: slots of the account's list `g`
        self.state: dict[str, list[str]] = {}
        for a in acc.aggregates:
            first = sum(map(len, self.state.values()))
            self.state[a.id] = [f"g[{first + i}]" for i in range(len(FOLDS[a.fn].init))]

    def source(self) -> str:
        m, acc = self.m, self.m.account
        fields = [self.local[f"f:{n}"] for n in self.lead_fields]
        outs = [f"o{i}" for i in range(len(m.outputs))]
        key_field = self.local[f"f:{acc.field}"]
        disq = self.local["b:disqualified_by"]
        init = ", ".join(v for a in acc.aggregates for v in FOLDS[a.fn].init)
        lines = ["def accounts(members):",
                 "    groups = {}",
                 "    for member, row in members:",
                 f"        {', '.join(['_key', *fields]) + (',' if not fields else '')} = member",
                 f"        {', '.join(['_k', *outs])} = row",
                 f"        if {key_field} is None or {disq} is not None:",
                 "            continue",
                 f"        g = groups.get({key_field})",
                 "        if g is None:",
                 f"            g = groups[{key_field}] = [{init}]"]
        lines += self.filtered([(a.where, self.step(a, self.state[a.id], a.value, ""))
                                for a in acc.aggregates], "        ")
        lines += ["    out = []", "    for key, g in groups.items():"]
        lines += [f"        {a.id} = {FOLDS[a.fn].result_code(self.state[a.id])}"
                  for a in acc.aggregates]
        for b in acc.bindings:
            lines.append(f"        {self.local['b:' + b.name]} = {self.expr(b.expr)}")
        res = ", ".join(["key"] + [self.local["b:" + b] for _, b in acc.outputs])
        lines += [f"        out.append(({res}))", "    out.sort(key=lambda r: r[0])",
                  "    return out"]
        return "\n".join(lines) + "\n"


def compile_accounts_python(model: ir.Model) -> Callable:
    """`accounts(members)` over (lead tuple, output row) pairs -> account rows by key."""
    gen = _AccountGen(model)
    src = gen.source()
    namespace: dict[str, object] = {"_floor": math.floor, **gen.consts}
    exec(compile(src, f"<leadscore-accounts:{model.name}>", "exec"), namespace)  # noqa: S102
    return namespace["accounts"]


def spell(rows: list[tuple], members: Iterable[tuple[str, str | None, bool]]) -> list[tuple]:
    """Account `rows` (the lower-cased key first) with each key spelled as in the data,
    ordered by that spelling.

    `members` are (lead key, the account field as written, whether the lead is a member).
    Keys and spellings compare code point by code point, as the output's order and SQL's MIN
    do, so every engine picks the same member without an input order."""
    first: dict[str, tuple[str, str]] = {}
    for key, written, member in members:
        if written is None or not member:
            continue
        seen = first.get(folded := fold(written))
        if seen is None or key < seen[0]:
            first[folded] = (key, written)
    return sorted(((first[r[0]][1], *r[1:]) for r in rows), key=itemgetter(0))


__all__ = ["compile_accounts_python", "spell"]
