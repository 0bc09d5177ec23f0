"""Loading and running conformance cases (tests/conformance/*.toml) on any engine."""

from __future__ import annotations

import csv
import io
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from leadscore.compiler import CompileError, compile_source, read_source
from leadscore.runtime.accounts import account_columns, run_accounts
from leadscore.runtime.data import (
    csv_text_records,
    empty_events,
    events_from_records,
    leads_from_records,
    parse_timestamp,
)
from leadscore.runtime.engines import evaluator, run
from leadscore.runtime.output import format_value

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(__file__).resolve().parent / "conformance"
# the in-process evaluators beside the generated code (the engine "python"): the IR
# interpreter, and the stream fed every event in time order, then scored at the case's as_of
EVALUATORS = ("interpreter", "stream")


@dataclass
class Case:
    name: str
    data: dict

    @property
    def model_text(self) -> tuple[str, str]:
        if "model_file" in self.data:
            path = ROOT / self.data["model_file"]
            return read_source(path), str(path)
        return self.data["model"], f"{self.name}.score"


def load_cases() -> list[Case]:
    return [Case(p.stem, tomllib.loads(p.read_text("utf-8")))
            for p in sorted(CORPUS.glob("*.toml"))]


def _csv(text: str) -> list[list[str]]:
    return [row for row in csv.reader(io.StringIO(text.strip("\n") + "\n"))]


def run_case(case: Case, engine: str, db: str | None = None) -> list[list[str]]:
    """The case's lead table from `engine` (at `db`, for an engine that takes one)."""
    return _run(case, engine, accounts=False, db=db)


def run_accounts_case(case: Case, engine: str, db: str | None = None) -> list[list[str]]:
    """The account table of a case with `accounts_expected`."""
    return _run(case, engine, accounts=True, db=db)


def _run(case: Case, engine: str, accounts: bool, db: str | None = None) -> list[list[str]]:
    text, path = case.model_text
    model = compile_source(text, path)
    schema = model.schema
    header, rows = csv_text_records(case.data["leads"].strip("\n") + "\n")
    leads = leads_from_records("leads", header, rows, schema, strict=True)
    if schema.has_events and case.data.get("events", "").strip():
        header, rows = csv_text_records(case.data["events"].strip("\n") + "\n")
        events = events_from_records("events", header, rows, schema, strict=True)
    else:
        events = empty_events(schema)
    as_of = parse_timestamp(case.data["as_of"])
    if accounts:
        out = _account_rows(model, leads, events, as_of, engine, db)
        return [account_columns(model)] + [[format_value(v) for v in r] for r in out]
    out = _rows(model, leads, events, as_of, engine, db)
    columns = [schema.lead_key] + [c for c, _ in model.outputs]
    return [columns] + [[format_value(v) for v in r] for r in out]


def _rows(model, leads, events, as_of: int, engine: str, db: str | None = None) -> list[tuple]:
    if engine in EVALUATORS:
        return evaluator(engine, model).score(leads, events, as_of)
    return run(model, leads, events, as_of, engine, db)


def _account_rows(model, leads, events, as_of: int, engine: str,
                  db: str | None = None) -> list[tuple]:
    if engine == "interpreter":  # every value interpreted, the roll-ups too
        return evaluator(engine, model).accounts(leads, events, as_of)
    if engine == "stream":  # the stream's lead rows, rolled up by the Python account pass
        lead_rows = _rows(model, leads, events, as_of, engine)
        return run_accounts(model, leads, events, as_of, "python", lead_rows=lead_rows)
    return run_accounts(model, leads, events, as_of, engine, db)


def same_value(a: str, b: str) -> bool:
    if a == b:
        return True
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


def compare(actual: list[list[str]], expected_text: str) -> list[str]:
    expected = _csv(expected_text)
    problems = []
    if actual[0] != expected[0]:
        return [f"columns {actual[0]} != expected {expected[0]}"]
    if len(actual) != len(expected):
        problems.append(f"{len(actual) - 1} rows, expected {len(expected) - 1}")
    for got, want in zip(actual[1:], expected[1:]):
        for col, g, w in zip(expected[0], got, want):
            if not same_value(g, w):
                problems.append(f"lead {got[0]!r} column {col!r}: got {g!r}, expected {w!r}")
    return problems


def compile_error(case: Case) -> CompileError | None:
    text, path = case.model_text
    try:
        compile_source(text, path)
    except CompileError as err:
        return err
    return None
