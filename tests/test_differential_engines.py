"""The hypothesis differential test on every executed SQL engine, against the Python evaluator.

tests/test_differential.py runs many examples on DuckDB; here each other engine gets a
bounded number (loading data into a server or Spark costs far more per example). Raise
them with LEADSCORE_HYPOTHESIS_EXAMPLES for a long local run.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

import leadscore
from engines import engine_params, ensure
from generators import DIFFERENTIAL, Dataset, ModelCase, example_count, examples
from test_differential import compare, report, with_rule_columns

# examples per engine in CI: the slow ones (a Spark job, a server round trip per table) get fewer
PER_ENGINE = {"sqlite": 40, "postgres": 25, "mysql": 20, "clickhouse": 25, "datafusion": 30,
              "spark": 10}


@pytest.mark.parametrize("engine", engine_params(list(PER_ENGINE)))
def test_engine_agrees_with_python(engine):
    ensure(engine)

    @settings(DIFFERENTIAL, max_examples=example_count(PER_ENGINE[engine]))
    @given(examples())
    def check(example: tuple[ModelCase, Dataset]):
        case, data = example
        model = with_rule_columns(leadscore.loads(case.text))
        key = model.ir.schema.lead_key
        py = model.score(data.leads, data.events, data.as_of, engine="python")
        other = model.score(data.leads, data.events, data.as_of, engine=engine)
        problems = compare(case, py, other, key)
        assert not problems, report(case, data, problems, py, other).replace(
            "duckdb:", f"{engine}:")

    check()
