"""`test` blocks: run each example lead on every engine and compare with its expectations.

Rule coverage comes from the IR interpreter: a rule is covered when it contributed
points (or, for event rules, matched an event) in at least one test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..compiler import ir
from ..compiler.text import fold
from .accounts import run_accounts
from .data import Events, Leads, empty_events, events_from_dicts, leads_from_dicts, parse_timestamp
from .engines import run
from .explain import lead_values

OPS = {"==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
       "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


@dataclass
class Failure:
    test: str
    engine: str
    where: str  # file:line:col of the failing `expect` (or of the test)
    column: str
    expected: str
    actual: str


@dataclass
class TestReport:
    tests: int = 0
    checks: int = 0
    failures: list[Failure] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)  # rule points bindings that fired
    engines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def _holds(op: str, actual, expected, numeric: bool) -> bool:
    if expected is None or actual is None:
        return (actual is None) == (expected is None) if op == "==" else (
            (actual is None) != (expected is None) if op == "!=" else False)
    if numeric:
        if op in ("==", "!=") and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9):
            return op == "=="
        return OPS[op](actual, float(expected))
    return OPS[op](str(actual), str(expected))


def _shown(v) -> str:
    if v is None:
        return "missing"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return str(v)


def _in_database(engine: str) -> bool:
    """Whether `engine` runs in a database `db` names (the others run in this process)."""
    if engine == "python":
        return False
    from ..engines import DIALECTS

    return DIALECTS[engine].in_database


def run_tests(model: ir.Model, engines: list[str], db: str | None = None) -> TestReport:
    """Every test block of `model` on each of `engines`; `db` is where the database engines
    among them run (the in-process ones ignore it). A test's leads are scored together, and
    its account expectations read the account roll-up of the same engine."""
    report = TestReport(engines=list(engines))
    s = model.schema
    numeric = set(model.scores) | {"total"}
    columns = [c for c, _ in model.outputs]
    for case in model.tests:
        report.tests += 1
        as_of = parse_timestamp(case["as_of"])
        leads = leads_from_dicts(case["leads"], s, strict=True)
        events = (events_from_dicts(case["events"], s, strict=True) if s.has_events
                  else empty_events(s))
        wants_accounts = any("account" in x for x in case["expects"])
        for engine in engines:
            where = db if _in_database(engine) else None
            rows = {r[0]: dict(zip(columns, r[1:]))
                    for r in run(model, leads, events, as_of, engine, where)}
            accounts = _accounts(model, leads, events, as_of, engine, where) if wants_accounts \
                else {}
            for x in case["expects"]:
                report.checks += 1
                if "account" in x:
                    values = accounts.get(fold(x["account"]), {})
                    is_number = x["column"] in ("score", "total")
                else:
                    values = rows[x.get("lead", leads.keys[0])]
                    is_number = x["column"] in numeric
                actual = values.get(x["column"])
                if not _holds(x["op"], actual, x["value"], is_number):
                    report.failures.append(Failure(
                        case["name"], engine, x["where"], _column(x),
                        f"{x['op']} {x['text']}", _shown(actual)))
        for key in leads.keys:
            values = lead_values(model, leads, events, key, as_of)
            for rule in model.rules:
                fired = values[rule.points] != 0 or (rule.count and values[rule.count] > 0)
                if fired:
                    report.covered.add(rule.points)
    return report


def _accounts(model: ir.Model, leads: Leads, events: Events, as_of_us: int, engine: str,
              db: str | None) -> dict[str, dict[str, Any]]:
    """The account rows of `engine` by lower-cased key: an account is named in any case."""
    columns = [c for c, _ in model.account.outputs]
    return {fold(r[0]): dict(zip(columns, r[1:]))
            for r in run_accounts(model, leads, events, as_of_us, engine, db)}


def _column(x: dict) -> str:
    """The expectation's column as the report names it."""
    if "account" in x:
        return f"account \"{x['account']}\" {x['column']}"
    if "lead" in x:
        return f"lead \"{x['lead']}\" {x['column']}"
    return x["column"]
