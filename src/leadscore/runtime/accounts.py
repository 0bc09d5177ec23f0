"""Account roll-ups at run time: on the Python evaluator or on any SQL engine."""

from __future__ import annotations

from ..backends.accounts import compile_accounts_python, spell
from ..backends.python import InputShape
from ..compiler import ir
from . import inputs
from .data import Events, Leads
from .engines import run_python
from .warehouses import run_accounts_sql


def account_columns(model: ir.Model) -> list[str]:
    acc = model.account
    return [acc.field] + [c for c, _ in acc.outputs]


def run_accounts(model: ir.Model, leads: Leads | None, events: Events | None, as_of_us: int,
                 engine: str = "duckdb", db: str | None = None,
                 lead_rows: list[tuple] | None = None) -> list[tuple]:
    """One row per account: key, score, total and tier, ordered by key.

    `lead_rows` are the Python evaluator's rows for the same leads, when already computed.
    """
    if model.account is None:
        raise ValueError("the model has no `account` block")
    if engine != "python":
        return run_accounts_sql(engine, model, leads, events, as_of_us, db)
    rows = lead_rows if lead_rows is not None else run_python(model, leads, events, as_of_us)
    shape = InputShape.of(model).members(model.schema)
    members = inputs.lead_rows(model.schema, leads, shape.lead_fields, shape.lowers_lead)
    by_key = {r[0]: r for r in rows}
    out = compile_accounts_python(model)([(m, by_key[m[0]]) for m in members])
    disq = 1 + [b for _, b in model.outputs].index("disqualified_by")
    written = inputs.lead_rows(model.schema, leads, [model.account.field], lambda _name: False)
    return spell(out, ((k, v, by_key[k][disq] is None) for k, v in written))
