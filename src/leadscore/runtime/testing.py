"""`test` blocks: run each example lead on every engine and compare with its expectations.

Rule coverage comes from the IR interpreter: a rule is covered when it contributed
points (or, for event rules, matched an event) in at least one test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..compiler import ir
from .data import empty_events, events_from_dicts, leads_from_dicts, parse_timestamp
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
    among them run (the in-process ones ignore it)."""
    report = TestReport(engines=list(engines))
    s = model.schema
    numeric = set(model.scores) | {"total"}
    columns = [c for c, _ in model.outputs]
    for case in model.tests:
        report.tests += 1
        as_of = parse_timestamp(case["as_of"])
        leads = leads_from_dicts([case["lead"]], s, strict=True)
        events = (events_from_dicts(case["events"], s, strict=True) if s.has_events
                  else empty_events(s))
        for engine in engines:
            row = run(model, leads, events, as_of, engine, db if _in_database(engine) else None)[0]
            values = dict(zip(columns, row[1:]))
            for x in case["expects"]:
                report.checks += 1
                actual = values[x["column"]]
                if not _holds(x["op"], actual, x["value"], x["column"] in numeric):
                    report.failures.append(Failure(
                        case["name"], engine, x["where"], x["column"],
                        f"{x['op']} {x['text']}", _shown(actual)))
        values = lead_values(model, leads, events, leads.keys[0], as_of)
        for rule in model.rules:
            fired = values[rule.points] != 0 or (rule.count and values[rule.count] > 0)
            if fired:
                report.covered.add(rule.points)
    return report
