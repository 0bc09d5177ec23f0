"""DataFrames in and out of `Model.score`: polars, pyarrow, pandas and DuckDB relations go
through the loader's columnar strategy and give what the same rows as dicts give (rejects
included); the result iterates as dicts and converts to Arrow, pandas and polars."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadscore
from conftest import ROOT
from generators import example_count
from leadscore.runtime import data, fastload, frames
from test_api import EVENTS, EXPECTED, LEAD
from test_fastload import EVENT_COLS, EVENT_FIELDS, LEAD_COLS, LEAD_FIELDS, SCHEMA, parquet_tables

AS_OF = "2026-03-01T00:00:00Z"
DATA = ROOT / "examples" / "data"


@pytest.fixture(scope="module")
def model():
    return leadscore.load(ROOT / "examples" / "reference.score")


@pytest.fixture(scope="module")
def example(model):
    """The example data as Arrow tables, and its rows scored from the CSV files."""
    s = model.ir.schema
    leads, events = data.read_leads(DATA / "leads.csv", s), data.read_events(DATA / "events.csv", s)
    from leadscore.runtime.engines import run

    rows = run(model.ir, leads, events, data.parse_timestamp(AS_OF), "python")
    return leads.table, events.table, [dict(zip(model.columns, r)) for r in rows]


def _with_times(table: pa.Table, names: list[str]) -> pa.Table:
    """The loader's int64 microseconds as Arrow timestamps, as a frame holds them."""
    for n in names:
        i = table.column_names.index(n)
        table = table.set_column(i, n, table.column(n).cast(pa.timestamp("us", "UTC")))
    return table


def test_polars_in_and_out(model, example):
    pl = pytest.importorskip("polars")
    leads, events, expected = example
    leads_df = pl.from_arrow(_with_times(leads, ["created_at"]))
    events_df = pl.from_arrow(_with_times(events, ["occurred_at"]))
    got = model.score(leads_df, events_df, as_of=AS_OF)
    assert got == expected
    out = got.to_polars()
    assert isinstance(out, pl.DataFrame) and out.columns == model.columns
    assert out.to_dicts() == expected
    table = got.to_arrow()
    assert out.to_arrow().cast(table.schema).equals(table)  # polars holds text as large_string
    assert pl.DataFrame(expected, schema=out.schema).equals(out)


def test_polars_text_kinds(model):
    """Categorical and string-view columns read as the same text."""
    pl = pytest.importorskip("polars")
    leads = pl.DataFrame([LEAD]).with_columns(pl.col("industry").cast(pl.Categorical))
    events = pl.DataFrame([{"page": None, "asset": None, **e, "occurred_at": str(e["occurred_at"])}
                           for e in EVENTS]).with_columns(pl.col("kind").cast(pl.Categorical))
    assert model.score(leads, events, AS_OF) == [EXPECTED]


def test_duckdb_relations_and_record_batches(model, example):
    duckdb = pytest.importorskip("duckdb")
    leads, events, expected = example
    leads, events = _with_times(leads, ["created_at"]), _with_times(events, ["occurred_at"])
    con = duckdb.connect()
    con.register("l", leads)
    con.register("e", events)
    assert model.score(con.sql("SELECT * FROM l"), con.sql("SELECT * FROM e"), AS_OF) == expected
    assert model.score(leads.combine_chunks().to_batches()[0],
                       pa.RecordBatchReader.from_batches(events.schema, events.to_batches()),
                       AS_OF) == expected


def test_pandas_frames_with_an_index(model):
    pd = pytest.importorskip("pandas")
    leads = pd.DataFrame([LEAD], index=[41])  # an index is no column of data
    events = pd.DataFrame([{**e, "occurred_at": pd.Timestamp(e["occurred_at"])} for e in EVENTS])
    got = model.score(leads, events, AS_OF)
    assert got == [EXPECTED]
    df = got.to_pandas()
    assert list(df.columns) == model.columns and len(df) == 1
    row = df.iloc[0]
    assert (row["id"], row["fit"], row["tier"], row["held_from"]) == ("l1", 45.0, "mql", None)


def test_rejects_as_from_dicts(model):
    rows = [{"id": "l1", "employees": "500"}, {"id": "l2", "employees": "many"},
            {"id": "l1"}, {"id": None}]
    table = pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.string()),
                                                         ("employees", pa.string())]))
    with pytest.raises(leadscore.DataError) as from_dicts:
        model.score(rows, [], AS_OF)
    with pytest.raises(leadscore.DataError) as from_table:
        model.score(table, [], AS_OF)
    assert str(from_table.value) == str(from_dicts.value)
    assert "<leads>:2: column 'employees' value 'many'" in str(from_table.value)
    assert "<leads>:3" in str(from_table.value) and "duplicate lead key" in str(from_table.value)


def _variant(table: pa.Table, kind: str, drop: int | None) -> pa.Table:
    """The table as other producers hand it over: text as views or dictionaries (polars,
    pandas categories), a schema column missing."""
    if drop is not None and drop < table.num_columns:
        table = table.remove_column(drop)
    cols = []
    for col in table.columns:
        if pa.types.is_string(col.type) and kind == "view":
            col = col.cast(pa.string_view())
        elif pa.types.is_string(col.type) and kind == "dictionary":
            col = col.dictionary_encode()
        cols.append(col)
    return pa.table(dict(zip(table.column_names, cols)))


def _dicts(table: pa.Table) -> list[dict]:
    """The table's rows as dicts, times Python's datetime cannot hold (year 10000 UTC) as
    data.py's `Instant`s (`to_pylist` raises on them)."""
    cols = {n: data.python_values(table.column(n)) for n in table.column_names}
    return [dict(zip(cols, r)) for r in zip(*cols.values())]


@settings(max_examples=example_count(200), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(parquet_tables(LEAD_COLS), parquet_tables(EVENT_COLS),
       st.sampled_from(["plain", "view", "dictionary"]), st.none() | st.integers(1, 6))
def test_tables_read_as_their_dicts(leads, events, kind, drop):
    """Column-wise reading of a table gives exactly what its rows as dicts give."""
    leads, events = _variant(leads, kind, drop), _variant(events, kind, drop)
    for got, want, fields in (
            (fastload.leads_from_table(leads, SCHEMA), data.leads_from_dicts(_dicts(leads),
                                                                             SCHEMA), LEAD_FIELDS),
            (fastload.events_from_table(events, SCHEMA),
             data.events_from_dicts(_dicts(events), SCHEMA), EVENT_FIELDS)):
        for f in fields:
            assert getattr(got, f) == getattr(want, f), f


def test_a_table_reads_as_its_parquet_file(tmp_path):
    """The same rejects and values as the file (Parquet rows are numbered from 1 too)."""
    s = leadscore.load(ROOT / "examples" / "reference.score").ir.schema
    table = pa.table({"id": ["a", "b", "a", " c"], "employees": ["1", "x", "2", "3"],
                      "created_at": ["2026-01-01", "2026-13-01", "2026-01-02", "2026-01-03"]})
    for name in s.lead_fields:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(4, pa.string()))
    p = tmp_path / "l.parquet"
    pq.write_table(table, p)
    from_file = data.read_leads(p, s)
    from_table = fastload.leads_from_table(table, s)
    assert [(r.row, r.column, r.value, r.reason) for r in from_table.rejects] == [
        (r.row, r.column, r.value, r.reason) for r in from_file.rejects]
    assert from_table.keys == from_file.keys and from_table.columns == from_file.columns


def test_scores_is_a_sequence_of_dicts(model):
    got = model.score([LEAD, {**LEAD, "id": "l0"}], EVENTS, AS_OF)
    assert isinstance(got, frames.Scores) and len(got) == 2
    assert got[1] == EXPECTED and got[-1] == EXPECTED and got[:1][0]["id"] == "l0"
    assert [r["id"] for r in got] == ["l0", "l1"]
    assert got == model.score([{**LEAD, "id": "l0"}, LEAD], EVENTS, AS_OF)
    assert got != [EXPECTED]
    t = got.to_arrow()
    assert t.column_names == model.columns and t.schema.field("fit").type == pa.float64()
    assert t.to_pylist() == list(got)
    assert "Scores([" in repr(got)


def test_arrow_in_and_out_imports_neither_pandas_nor_polars(tmp_path, example):
    leads, events, _ = example
    pq.write_table(_with_times(leads, ["created_at"]), tmp_path / "l.parquet")
    pq.write_table(_with_times(events, ["occurred_at"]), tmp_path / "e.parquet")
    code = ("import sys, pyarrow.parquet as pq, leadscore\n"
            f"m = leadscore.load({str(ROOT / 'examples' / 'reference.score')!r})\n"
            f"got = m.score(pq.ParquetFile({str(tmp_path / 'l.parquet')!r}).read(), "
            f"pq.ParquetFile({str(tmp_path / 'e.parquet')!r}).read(), {AS_OF!r})\n"
            "assert len(got.to_arrow()) == len(got) > 0\n"
            "print(sorted(m for m in ('pandas', 'polars') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_run_on_python_imports_no_pandas(tmp_path, example, fmt):
    leads, events, _ = example
    if fmt == "csv":
        paths = [str(DATA / "leads.csv"), str(DATA / "events.csv")]
    else:
        paths = [str(tmp_path / "l.parquet"), str(tmp_path / "e.parquet")]
        pq.write_table(_with_times(leads, ["created_at"]), paths[0])
        pq.write_table(_with_times(events, ["occurred_at"]), paths[1])
    args = ["run", str(ROOT / "examples" / "reference.score"), "--engine", "python", "--leads",
            paths[0], "--events", paths[1], "--as-of", AS_OF, "--out", str(tmp_path / "o.csv")]
    code = ("import sys\nfrom leadscore.cli import main\n"
            f"try:\n    main({args!r}, prog_name='leadscore')\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "print('pandas' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert (tmp_path / "o.csv").read_text().count("\n") == len(leads) + 1
