"""The Python API: leadscore.load(...).score(...)."""

import subprocess
import sys
from datetime import UTC, datetime

import pyarrow as pa
import pytest

import leadscore
from conftest import ROOT

LEAD = {"id": "l1", "industry": "SaaS", "title": "Director of IT", "employees": 500,
        "email": "ana@acme.io"}
EVENTS = [
    {"lead_id": "l1", "occurred_at": "2026-02-27T10:00:00Z", "kind": "page_view", "page": "/pricing"},
    {"lead_id": "l1", "occurred_at": "2026-02-20T09:00:00Z", "kind": "email_click"},
    {"lead_id": "l1", "occurred_at": datetime(2026, 2, 21, 15, 30, tzinfo=UTC),
     "kind": "form_submit", "asset": "roi-guide"},
]
EXPECTED = {"id": "l1", "fit": 45.0, "engagement": 60.0, "total": 105.0, "segment": "default",
            "tier": "mql", "held_from": None, "disqualified_by": None, "grade": "A",
            "matrix": "A2"}


@pytest.fixture(scope="module")
def model():
    return leadscore.load(ROOT / "examples" / "reference.score")


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_score_dicts(model, engine):
    assert model.score([LEAD], EVENTS, "2026-03-01T00:00:00Z", engine=engine) == [EXPECTED]


def test_score_arrow_tables(model):
    leads = pa.Table.from_pylist([LEAD])
    # from_pylist takes its columns from the first row, so give every row every column
    rows = [{"page": None, "asset": None, **e, "occurred_at": str(e["occurred_at"])} for e in EVENTS]
    events = pa.Table.from_pylist(rows)
    assert model.score(leads, events, datetime(2026, 3, 1, tzinfo=UTC)) == [EXPECTED]


def test_score_pandas_frames(model):
    pd = pytest.importorskip("pandas")
    leads = pd.DataFrame([LEAD])
    events = pd.DataFrame([{**e, "occurred_at": str(e["occurred_at"])} for e in EVENTS])
    assert model.score(leads, events, "2026-03-01T00:00:00Z") == [EXPECTED]


def test_bad_rows_raise_with_every_reason(model):
    with pytest.raises(leadscore.DataError) as err:
        model.score([LEAD, {"id": "l2", "employees": "many"}, {"id": "l1"}], [],
                    "2026-03-01T00:00:00Z")
    msg = str(err.value)
    assert "<leads>:2" in msg and "employees" in msg
    assert "duplicate lead key" in msg


def test_loads_reports_compile_errors():
    with pytest.raises(leadscore.CompileError) as err:
        leadscore.loads('schema { lead { key id } }\nscore s { rule "r" +1 when x > 1 }\n', "m.score")
    assert "m.score:2:28: error: unknown name `x`" in str(err.value)


def test_sql_for_a_dialect(model):
    assert 'GROUP BY' in model.sql("duckdb")


HEAVY = ("pyarrow", "duckdb", "sqlglot", "numpy")


def _imported_by(code: str) -> list[str]:
    """Modules of leadscore's runtime and backends, and heavy libraries, that `code` imports
    in a fresh interpreter."""
    probe = (f"{code}\nimport sys\n"
             f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} "
             "or m.startswith(('leadscore.runtime', 'leadscore.backends', 'leadscore.engines'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return eval(out.stdout)


def test_importing_lint_or_the_package_loads_no_runtime():
    assert _imported_by("import leadscore.lint") == []
    assert _imported_by("import leadscore; leadscore.__version__") == []


def test_the_public_names_load_on_first_use():
    assert leadscore.__all__ == ["CompileError", "DataError", "Model", "load", "loads"]
    assert set(leadscore.__all__) <= set(dir(leadscore))
    from leadscore.compiler import CompileError
    from leadscore.runtime.data import DataError

    assert leadscore.CompileError is CompileError and leadscore.DataError is DataError
    assert isinstance(leadscore.loads("schema { lead { key id } }"), leadscore.Model)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        leadscore.nothing  # noqa: B018
