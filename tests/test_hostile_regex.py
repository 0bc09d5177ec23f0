"""ReDoS: every hostile pattern of tests/hostile/regex/ on every executed engine.

Each run scores 10 000 leads whose values are built to make a backtracking matcher take
exponential (33 characters) or quadratic (4 000 characters) time, and must give the Python
evaluator's answers. The time bound is a generous ceiling, not a benchmark: a regression to
a backtracking evaluation takes hours, while the runs measured in docs/engines.md take seconds.
"""

from __future__ import annotations

import json
import time
from functools import cache

import pytest

import leadscore
from conftest import ROOT
from engines import SELECTED, engine_params, ensure
from generators import quote
from leadscore.compiler.regex import MAX_REPEAT, compile_portable
from leadscore.engines import DIALECTS
from leadscore.lint import lint_source

HOSTILE = ROOT / "tests" / "hostile" / "regex"
AS_OF = "2024-01-01T00:00:00Z"
LEADS = 10_000
CEILING_S = 60.0  # per engine run; the acceptance figure is 2 s per 10 000 leads per pattern
BACKTRACKING_ENGINES = [name for name, d in DIALECTS.items() if d.executed and d.regex_backtracks]


def _patterns(name: str) -> list[str]:
    lines = (HOSTILE / name).read_text(encoding="utf-8").splitlines()
    return [p for p in lines if p and not p.startswith("#")]


PATTERNS = _patterns("patterns.txt")  # safe on every engine (the rewrite, where needed)
RESIDUAL = _patterns("backtracking.txt")  # lint LS305; not run on backtracking engines


def _model(patterns: list[str]) -> str:
    scores = "".join(f'score s{i} {{\n  rule "r" +1 when v matches {quote(p)}\n}}\n'
                     for i, p in enumerate(patterns))
    return f'model "redos"\nschema {{\n  lead {{\n    key id\n    field v: text\n  }}\n}}\n{scores}'


@cache
def _leads() -> tuple[dict, ...]:
    """10 000 leads: most with the short hostile values, some with the long ones; the row
    number after each value keeps engines from answering from a cache."""
    specs = json.loads((HOSTILE / "values.json").read_text(encoding="utf-8"))["values"]
    long = [s for s in specs if len(s["repeat"]) * s["times"] > 100]
    per_long = 250
    per_short = (LEADS - per_long * len(long)) // (len(specs) - len(long))
    rows = []
    for spec in specs:
        for _ in range(per_long if spec in long else per_short):
            value = spec["repeat"] * spec["times"] + spec["tail"] + str(len(rows))
            rows.append({"id": f"{len(rows):05d}", "v": value})
    while len(rows) < LEADS:
        rows.append({"id": f"{len(rows):05d}", "v": "a" * 33 + "!" + str(len(rows))})
    return tuple(rows)


def _score(patterns: list[str], engine: str) -> tuple[list[dict], float]:
    model = leadscore.loads(_model(patterns))
    start = time.perf_counter()
    rows = list(model.score(list(_leads()), [], AS_OF, engine=engine))
    return rows, time.perf_counter() - start


@cache
def _expected(kind: str) -> tuple[tuple, ...]:
    """The Python evaluator's rows, checked against the pattern's own search first."""
    patterns = PATTERNS if kind == "all" else RESIDUAL
    rows, elapsed = _score(patterns, "python")
    assert elapsed < CEILING_S
    for i, p in enumerate(patterns):
        rx = compile_portable(p)
        for lead, row in zip(_leads(), rows):
            assert row[f"s{i}"] == (1.0 if rx.search(lead["v"].lower()) else 0.0), (p, lead["id"])
    return tuple(tuple(sorted(r.items())) for r in rows)


def _check(patterns: list[str], kind: str, engine: str) -> None:
    rows, elapsed = _score(patterns, engine)
    assert elapsed < CEILING_S, f"{engine}: {elapsed:.1f} s for {len(patterns)} hostile patterns"
    got = tuple(tuple(sorted(r.items())) for r in rows)
    expected = _expected(kind)
    wrong = [(p, e, g) for p, e, g in zip(_leads(), expected, got) if e != g]
    assert not wrong, f"{engine}: {len(wrong)} leads differ from python, first {wrong[0]}"


@pytest.mark.parametrize("engine", engine_params())
def test_hostile_patterns_on_every_engine(engine):
    ensure(engine)
    _check(PATTERNS, "all", engine)


@pytest.mark.parametrize("engine", engine_params(
    [e for e in SELECTED if e not in BACKTRACKING_ENGINES]))
def test_residual_patterns_on_linear_engines(engine):
    ensure(engine)
    _check(RESIDUAL, "residual", engine)


def test_lint_names_exactly_the_residual_patterns():
    for patterns, flagged in ((RESIDUAL, True), (PATTERNS, False)):
        for p in patterns:
            findings = lint_source(_model([p]), "m.score").findings
            assert any(f.code == "LS305" for f in findings) is flagged, p


def test_backtracking_engines_get_the_rewritten_pattern():
    model = leadscore.loads(_model(["(a+)+$"]))
    for engine in BACKTRACKING_ENGINES:
        sql = model.sql(dialect=engine)
        # Spark escapes the backslash in its literal; MySQL writes a string holding one in hex
        literal = "_utf8mb4 X'615C7A'" if engine == "mysql" else "'a\\\\z'"
        assert "(a+)+" not in sql and literal in sql, engine


def _operator_cases() -> dict:
    return json.loads((HOSTILE / "operators.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("engine", engine_params())
def test_literal_text_no_engine_reads_as_an_operator(engine):
    ensure(engine)
    spec = _operator_cases()
    cases = spec["cases"]
    model = leadscore.loads(_model([c["pattern"] for c in cases]))
    leads = [{"id": f"k{i:02d}", "v": t} for i, t in enumerate(spec["texts"])]
    rows = {r["id"]: r for r in model.score(leads, [], AS_OF, engine=engine)}
    wrong = [(c["pattern"], lead["v"]) for i, c in enumerate(cases) for lead in leads
             if (rows[lead["id"]][f"s{i}"] == 1.0) != (lead["v"] in c["matches"])]
    assert not wrong, f"{engine}: (pattern, value) answered wrong: {wrong}"


@pytest.mark.parametrize("engine", engine_params())
def test_the_largest_repetition_count_runs_on_every_engine(engine):
    # PostgreSQL refuses counts above 255 (RE_DUP_MAX): MAX_REPEAT is that bound
    ensure(engine)
    patterns = [f"^(a|b){{{MAX_REPEAT}}}$", f"x.{{{MAX_REPEAT - 5},{MAX_REPEAT}}}y"]
    texts = ["ab" * 127 + "a", "ab" * 128, "x" + "-" * 250 + "y", "x" + "-" * 256 + "y"]
    model = leadscore.loads(_model(patterns))
    rows = list(model.score([{"id": f"k{i}", "v": t} for i, t in enumerate(texts)], [], AS_OF,
                            engine=engine))
    assert [(r["s0"], r["s1"]) for r in rows] == [(1.0, 0.0), (0.0, 0.0), (0.0, 1.0), (0.0, 0.0)]
