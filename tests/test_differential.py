"""Differential test: random valid models on random data, Python evaluator vs DuckDB, and
the IR interpreter vs the generated Python (exactly: the same operations in the same order).

Both engines must give the same rows: numbers within 1e-9 (relative, or absolute near
zero), everything else exactly. The one tolerated categorical difference is a tier, held
tier, segment, disqualification or grade that flips because the score or total it compares
is within 1e-9 of the threshold (a float `sum` of event fields depends on summation order;
fading weights and `%` decay are exact: tests/test_differential_exact.py compares their bytes).
Per-rule event counts and contributions (what `explain` reports) must agree too.

CI runs 150 examples; `LEADSCORE_HYPOTHESIS_EXAMPLES=5000 pytest tests/test_differential.py`
runs longer. Generators live in generators.py.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from hypothesis import currently_in_test_context, event, given, settings, target

import leadscore
from generators import DIFFERENTIAL, Dataset, ModelCase, example_count, examples, models
from leadscore import CompileError, Model
from leadscore.runtime.data import convert, events_from_dicts, leads_from_dicts
from leadscore.runtime.engines import evaluator

CATEGORICAL = ("segment", "tier", "held_from", "disqualified_by", "grade", "matrix")
Row = dict[str, Any]


def close(a: Any, b: Any) -> bool:
    """Numbers within 1e-9 relative or 1e-9 absolute; anything else exactly."""
    if a is None or b is None or isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
        return a == b and type(a) is type(b)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def near(value: Any, threshold: float) -> bool:
    return isinstance(value, (int, float)) and math.isclose(value, threshold, rel_tol=1e-9,
                                                            abs_tol=1e-9)


def compared_thresholds(case: ModelCase, column: str, py: Row, db: Row) -> list[tuple[str, float]]:
    """(output column, threshold) pairs that decide `column` for this lead on either engine."""
    if column == "grade":
        score, thresholds = case.grade
        return [(score, t) for t in thresholds]
    if column == "matrix":  # the grade letter and the tier's rank
        return (compared_thresholds(case, "grade", py, db)
                + compared_thresholds(case, "tier", py, db))
    if column == "segment":
        return case.score_tests["segment"]
    if column == "disqualified_by":
        return case.score_tests["disqualify"]
    pairs: list[tuple[str, float]] = []  # tier and held_from
    for seg in {py["segment"], db["segment"]}:
        tiers = seg if seg in case.tier_thresholds else "default"
        pairs += [("total", t) for t in case.tier_thresholds.get(tiers, [])]
        pairs += case.score_tests.get(f"gate:{tiers}", [])
    if py["segment"] != db["segment"]:
        pairs += case.score_tests["segment"]
    if py["disqualified_by"] != db["disqualified_by"]:
        pairs += case.score_tests["disqualify"]
    return pairs


def row_problems(case: ModelCase, py: Row, db: Row) -> list[str]:
    problems = []
    for column in py:
        a, b = py[column], db.get(column)
        if close(a, b):
            continue
        if column in CATEGORICAL:
            pairs = compared_thresholds(case, column, py, db)
            hits = [(name, t) for name, t in pairs for row in (py, db) if near(row.get(name), t)]
            if hits:
                if currently_in_test_context():
                    event(f"tolerated {column} flip at a threshold")
                continue
        problems.append(f"{column}: python {a!r} != duckdb {b!r}")
    return problems


def compare(case: ModelCase, py_rows: list[Row], db_rows: list[Row], key: str) -> list[str]:
    py_by, db_by = {r[key]: r for r in py_rows}, {r[key]: r for r in db_rows}
    if list(py_by) != list(db_by):
        return [f"lead keys differ: python {list(py_by)} duckdb {list(db_by)}"]
    out = []
    for k, py in py_by.items():
        out += [f"lead {k!r}: {p}" for p in row_problems(case, py, db_by[k])]
    return out


def with_rule_columns(model: Model) -> Model:
    """The model with each rule's event count and contribution as extra output columns."""
    extra = []
    for i, r in enumerate(model.ir.rules):
        if r.count:
            extra.append((f"rule{i}:n", r.count))
        extra.append((f"rule{i}:points", r.points))
    return Model(dataclasses.replace(model.ir, outputs=list(model.ir.outputs) + extra))


def run_both(model: Model, data: Dataset) -> tuple[list[Row], list[Row]]:
    results = []
    for engine in ("python", "duckdb"):
        try:
            results.append(model.score(data.leads, data.events, data.as_of, engine=engine))
        except Exception as err:  # an engine that fails where the other runs is a disagreement
            results.append(err)
    py, db = results
    if isinstance(py, Exception) or isinstance(db, Exception):
        raise AssertionError(f"python: {py!r}\nduckdb: {db!r}") from (
            py if isinstance(py, Exception) else db)
    return py, db


def interpreted(model: Model, data: Dataset) -> list[Row]:
    """The IR interpreter's rows for the data, as `Model.score` gives the generated code's."""
    s = model.ir.schema
    events = events_from_dicts(data.events, s) if s.has_events else None
    rows = evaluator("interpreter", model.ir).score(leads_from_dicts(data.leads, s), events,
                                                    convert(data.as_of, "timestamp"))
    return [dict(zip(model.columns, r)) for r in rows]


def report(case: ModelCase, data: Dataset, problems: list[str], py: list[Row],
           db: list[Row]) -> str:
    lines = ["the engines disagree:", *problems, "", "model:", case.text, data.describe(),
             "", "python:", *map(repr, py), "duckdb:", *map(repr, db)]
    return "\n".join(lines)


def record_coverage(model: Model, case: ModelCase, rows: list[Row]) -> None:
    """Label examples by how much of the model the data exercised (--hypothesis-show-statistics)."""
    rules = model.ir.rules
    fired = sum(1 for i in range(len(rules)) if any(r[f"rule{i}:points"] for r in rows))
    share = fired / len(rules) if rules else 0.0
    target(float(fired), label="rules firing for some lead")  # steer towards data that fires
    event("rules firing: " + ("none" if not fired else "all" if fired == len(rules) else
                              "under half" if share < 0.5 else "half or more"))
    if case.tier_thresholds:
        lowest = {r["tier"] for r in rows} - {"cold", "disqualified"}
        event("some lead above the lowest tier" if lowest else "every lead in the lowest tier")
    if any(r["held_from"] for r in rows):
        event("some lead held by a gate")
    if any(r["disqualified_by"] for r in rows):
        event("some lead disqualified")
    if any(r["segment"] != "default" for r in rows):
        event("some lead in a named segment")


@settings(DIFFERENTIAL)
@given(examples())
def test_engines_agree(example: tuple[ModelCase, Dataset]):
    case, data = example
    model = leadscore.loads(case.text)
    key = model.ir.schema.lead_key

    py, db = run_both(model, data)
    problems = compare(case, py, db, key)
    assert not problems, report(case, data, problems, py, db)

    # what `explain` shows: each rule's event count and contribution
    detailed = with_rule_columns(model)
    py_d, db_d = run_both(detailed, data)
    record_coverage(detailed, case, py_d)
    problems = compare(case, py_d, db_d, key)
    assert not problems, report(case, data, problems, py_d, db_d)
    assert interpreted(detailed, data) == py_d, f"the interpreter differs:\n{case.text}\n{data.describe()}"


@settings(DIFFERENTIAL, max_examples=2 * example_count(150))
@given(models())
def test_generated_models_compile(case: ModelCase):
    try:
        model = leadscore.loads(case.text)
    except CompileError as err:
        raise AssertionError(f"a generated model does not compile:\n{err}\n\n{case.text}") from None
    assert model.sql()


def test_tier_flip_is_tolerated_only_at_a_threshold():
    case = ModelCase(text="", scores=["fit"], literals=[], day_values=[], numbers=[],
                     tier_thresholds={"default": [10.0], "ent": [20.0]}, grade=("fit", [5.0]),
                     score_tests={"segment": [("fit", 3.0)], "disqualify": [],
                                  "gate:default": [("total", 7.0)]})

    def row(total, tier, segment="default", fit=0.0, grade="B"):
        return {"id": "a", "fit": fit, "total": total, "segment": segment, "tier": tier,
                "held_from": None, "disqualified_by": None, "grade": grade}

    # the total is within 1e-9 of the threshold it is compared to
    assert not row_problems(case, row(10.0, "warm"), row(10.0 - 1e-12, "cold"))
    # ... or of a gate's comparison
    assert not row_problems(case, row(7.0, "warm"), row(7.0 + 1e-12, "cold"))
    # but not of another segment's threshold, nor far from every threshold
    assert row_problems(case, row(20.0, "warm"), row(20.0, "cold"))
    assert row_problems(case, row(12.0, "warm"), row(12.0, "cold"))
    # a segment flip at its score comparison carries the tier flip with it
    assert not row_problems(case, row(15.0, "warm", "ent", fit=3.0),
                            row(15.0, "cold", "default", fit=3.0 + 1e-12))
    # grades: the grade's score at a grade threshold, nothing else
    assert not row_problems(case, row(0.0, None, fit=5.0, grade="A"),
                            row(0.0, None, fit=5.0 - 1e-12, grade="B"))
    assert row_problems(case, row(10.0, None, fit=6.0, grade="A"),
                        row(10.0, None, fit=6.0, grade="B"))
    # numbers: 1e-9 relative, or 1e-9 absolute near zero
    assert not row_problems(case, row(1e6, "warm"), row(1e6 * (1 + 5e-10), "warm"))
    assert not row_problems(case, row(0.0, "cold"), row(5e-10, "cold"))
    assert row_problems(case, row(1.0, "cold"), row(1.0 + 1e-8, "cold"))
