"""DuckDB reading the files itself (runtime/native.py) gives exactly what the Python loader
(runtime/data.py, the reference) gives: the same rows and values, the same rejects with the
same row numbers, columns and messages, the same counts, and byte-identical output files.

Hostile CSV and Parquet files are drawn at random (the strategies of test_fastload.py), and
a fixed corpus covers each named hazard through the CLI.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from generators import example_count
from leadscore.cli import main
from leadscore.runtime import data, native
from test_fastload import EVENT_COLS, LEAD_COLS, SCHEMA, csv_files, event, parquet_tables


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _sortable(row: tuple) -> tuple:
    return tuple((v is None, "" if v is None else str(v)) for v in row)


def _rows(con, table: str, names: list[str], types: dict[str, str]) -> list[tuple]:
    cols = ", ".join(f"epoch_us({native.quote(n)})" if types.get(n) == "timestamp"
                     else native.quote(n) for n in names)
    return sorted(con.execute(f"SELECT {cols} FROM {native.quote(table)}").fetchall(),
                  key=_sortable)


def _same_values(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        for u, v in zip(x, y):
            if isinstance(u, float) and isinstance(v, float) and math.isnan(u):
                assert math.isnan(v)
            else:
                assert u == v and type(u) is type(v), (x, y)


def _compare(path: Path, strict: bool, side: str, row_key: bool = False) -> None:
    """The engine path agrees with data.py, or hands the file over (returns None)."""
    con = _connect()
    if side == "leads":
        def ours():
            return native.load_leads(con, path, SCHEMA, "t", None, strict, row_key)

        def ref():
            return data.read_leads_by_row(path, SCHEMA, None, strict, row_key)
    else:
        def ours():
            return native.load_events(con, path, SCHEMA, "t", None, strict)

        def ref():
            return data.read_events_by_row(path, SCHEMA, None, strict)
    try:
        want = ref()
    except data.DataError as err:
        try:
            got = ours()
        except data.DataError as mine:
            assert str(mine) == str(err)
            return
        assert got is None, f"the engine path loaded a file data.py refuses: {err}"
        return
    got = ours()
    event("engine" if got is not None else "handed to the Python loader")
    if got is None:
        return
    if got.rejects:
        event("engine with rows from data.py")
    assert (got.read, got.rejects, got.extra) == (want.read, want.rejects, want.extra)
    s = SCHEMA
    if side == "leads":
        names = [s.lead_key, *s.lead_fields]
        expected = list(zip(want.keys, *(want.columns[n] for n in s.lead_fields)))
        types = s.lead_fields
    else:
        names = [s.event_lead, s.event_time, s.event_type, *s.event_fields]
        expected = list(zip(want.leads, want.times, want.types,
                            *(want.columns[n] for n in s.event_fields)))
        types = {**s.event_fields, s.event_time: "timestamp"}
    _same_values(_rows(con, "t", names, types), sorted(expected, key=_sortable))


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])


@settings(max_examples=example_count(300), **SETTINGS)
@given(csv_files(LEAD_COLS), csv_files(EVENT_COLS), st.booleans())
def test_csv_engine_path_equals_data_py(tmp_path_factory, leads_csv, events_csv, strict):
    folder = tmp_path_factory.mktemp("csv")
    lp, ep = folder / "leads.csv", folder / "events.csv"
    lp.write_text(leads_csv, encoding="utf-8", newline="")
    ep.write_text(events_csv, encoding="utf-8", newline="")
    _compare(lp, strict, "leads")
    _compare(ep, strict, "events")


@settings(max_examples=example_count(100), **SETTINGS)
@given(csv_files(LEAD_COLS[1:]), st.booleans())
def test_row_key_engine_path_equals_data_py(tmp_path_factory, leads_csv, strict):
    lp = tmp_path_factory.mktemp("rowkey") / "leads.csv"
    lp.write_text(leads_csv, encoding="utf-8", newline="")
    _compare(lp, strict, "leads", row_key=True)


@settings(max_examples=example_count(200), **SETTINGS)
@given(parquet_tables(LEAD_COLS), parquet_tables(EVENT_COLS), st.booleans())
def test_parquet_engine_path_equals_data_py(tmp_path_factory, leads, events, strict):
    folder = tmp_path_factory.mktemp("pq")
    lp, ep = folder / "leads.parquet", folder / "events.parquet"
    pq.write_table(leads, lp)
    pq.write_table(events, ep)
    _compare(lp, strict, "leads")
    _compare(ep, strict, "events")


def test_many_blocks_keep_their_row_numbers(tmp_path):
    """A file DuckDB reads in parallel blocks: rejects scattered through it keep the row
    numbers data.py gives them."""
    lines = ["id,created_at,name,size,rate,ok"]
    for i in range(60_000):
        size = "x" if i % 7919 == 0 else str(i)
        when = "2026-02-30" if i % 10007 == 0 else "2026-03-01T10:00:00Z"
        key = "L5" if i == 45_000 else f"L{i}"
        lines.append(f"{key},{when},n{i},{size},1.5,yes")
    p = tmp_path / "leads.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    con = _connect()
    got = native.load_leads(con, p, SCHEMA, "t", None, False, False)
    want = data.read_leads_by_row(p, SCHEMA)
    assert got is not None and len(want.rejects) > 10
    assert got.rejects == want.rejects and got.read == want.read
    lines = ["who,at,kind,page,n,when"]
    for i in range(200_000):  # events are numbered by their place in the table
        n = "x" if i % 7919 == 0 else "1"
        lines.append(f"L{i % 50},2026-03-01T10:00:00Z,a,/p{i},{n},")
    p = tmp_path / "events.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = native.load_events(con, p, SCHEMA, "e", None, False)
    want = data.read_events_by_row(p, SCHEMA)
    assert got is not None and len(want.rejects) > 20
    assert got.rejects == want.rejects and got.read == want.read


# ---------------------------------------------------------------- through the CLI
MODEL = """schema {
  lead { key id  created created_at  field name: text  field size: int  field rate: float
         field ok: bool }
  event { lead who  time at  type kind  types a, b  field page: text  field n: int
          field when: timestamp }
}
score s { rule "big" +10 when size > 3
          rule "rated" +2.5 when rate >= 1.5
          rule "ok" +1 when ok
          rule "a" +3 per event a within 30d
          rule "b" +0.1 per event b }
tiers { hot: total >= 10  warm: total >= 3 }
"""
LEADS = "id,created_at,name,size,rate,ok\n"
GOOD_EVENTS = "who,at,kind,page,n,when\nL1,2026-02-20T10:00:00Z,a,/x,1,2026-02-20\n"
CORPUS = {
    "clean": (LEADS + "L1,2026-01-01T00:00:00Z,Ann,5,1.5,yes\nL2,2026-01-02,Bo,1,0.5,no\n",
              GOOD_EVENTS),
    "quoted newline": (LEADS + 'L1,2026-01-01,"two\nlines",5,1.5,yes\nL2,2026-01-02,B,1,2,no\n',
                       GOOD_EVENTS),
    "unclosed quote": (LEADS + 'L1,2026-01-01,"open,5,1.5,yes\nL2,2026-01-02,B,1,2,no\n',
                       GOOD_EVENTS),
    "extra and missing values": (LEADS + "L1,2026-01-01,A,5,1.5,yes,spill\nL2,2026-01-02\n"
                                 "L3,2026-01-03,C,4,2,yes,\n", GOOD_EVENTS),
    "BOM and CRLF": ("\ufeff" + (LEADS + "L1,2026-01-01,A,5,1.5,yes\n").replace("\n", "\r\n"),
                     GOOD_EVENTS),
    "bad types": (LEADS + "L1,2026-01-01,A,five,1.5,yes\nL2,2026-01-02,B,1,x,no\n"
                  "L3,2026-01-03,C,1,1,maybe\nL4,yesterday,D,1,1,yes\nL5,2026-01-05,E,1e400,1,y\n"
                  "L6,2026-01-06,F,7,1e400,n\n", GOOD_EVENTS),
    "duplicate and missing keys": (LEADS + "L1,2026-01-01,A,5,1.5,yes\n,2026-01-01,B,5,1,yes\n"
                                   "L1,2026-01-02,C,6,1,no\n L1,2026-01-02,D,6,1,no\n"
                                   "L2,2026-01-02,E,6,1,no\n", GOOD_EVENTS),
    "every timestamp form": (LEADS + "".join(
        f"T{i},{t},x,5,1.5,yes\n" for i, t in enumerate(
            ["2026-03-01T10:00:00Z", "2026-03-01 10:00:00", "2026-03-01", "2026-03-01T10:00:00.5Z",
             "2026-03-01T10:00:00.123456+05:30", "2026-03-01T10:00:00-08:00", "2026-03-01T10:00",
             "2024-02-29T23:59:59.999Z", "2026-02-30T00:00:00Z", "2026-03-01T24:00:00Z",
             " 2026-03-01T10:00:00Z", "2026-03-01T10:00:00+0530", "0999-12-31", "9999-12-31",
             "2026-03-01T10:00:60Z", "2026-03-01T10:00:00+23:59", "2026-03-01T10:00:00.1234567Z"])),
        "who,at,kind,page,n,when\n" + "".join(
            f"T{i},{t},a,/p,1,{t}\n" for i, t in enumerate(
                ["2026-02-20T10:00:00Z", "2026-02-20 10:00", "2026-02-20+01:00", "2026-02-20",
                 "", "2026-02-20T10:00:00.000001-23:59", "x"])) + "T1,2026-02-21,,/p,1,\n"),
    "events for unknown leads and late": (LEADS + "L1,2026-01-01,A,5,1.5,yes\n",
                                          "who,at,kind,page,n,when\nL1,2026-02-20,a,,,\n"
                                          "L9,2026-02-20,a,,,\nL1,2026-04-01,b,,,\n"
                                          "L1,2026-02-21,zz,,,\n"),
}


@pytest.mark.parametrize("case", list(CORPUS))
@pytest.mark.parametrize("fmt", [".csv", ".parquet", ".json"])
def test_cli_engine_path_equals_python_loader(tmp_path, case, fmt):
    """`run --engine duckdb` (the engine reads and writes) against the Python loader feeding
    DuckDB (`--db FILE` takes that path) and the Python engine: same exit, summary, rejects
    and output bytes."""
    leads, events = CORPUS[case]
    (tmp_path / "m.score").write_text(MODEL, encoding="utf-8")
    (tmp_path / "l.csv").write_bytes(leads.encode("utf-8"))
    (tmp_path / "e.csv").write_bytes(events.encode("utf-8"))
    results = {}
    for name, extra in (("engine", ["--engine", "duckdb"]),
                        ("loader", ["--engine", "duckdb", "--db", str(tmp_path / "x.duckdb")]),
                        ("python", ["--engine", "python"])):
        out, rej = tmp_path / f"{name}{fmt}", tmp_path / f"{name}.rejects.csv"
        res = invoke("run", str(tmp_path / "m.score"), "--leads", str(tmp_path / "l.csv"),
                     "--events", str(tmp_path / "e.csv"), "--as-of", "2026-03-01T00:00:00Z",
                     "--out", str(out), "--rejects", str(rej), *extra)
        summary = res.output.replace(f"engine {extra[1]}", "engine X").replace(str(out), "OUT")
        results[name] = (res.exit_code, summary,
                         rej.read_bytes() if rej.exists() else None,
                         out.read_bytes() if out.exists() else None)
    assert results["engine"] == results["loader"] == results["python"]


def test_reference_example_output_unchanged(tmp_path):
    """The bundled example through the engine path: the bytes the Python engine writes."""
    outs = {}
    for engine in ("duckdb", "python"):
        out = tmp_path / f"{engine}.csv"
        res = invoke("run", str(ROOT / "examples" / "reference.score"), "--leads",
                     str(ROOT / "examples" / "data" / "leads.csv"), "--events",
                     str(ROOT / "examples" / "data" / "events.csv"), "--as-of",
                     "2026-03-01T00:00:00Z", "--engine", engine, "--out", str(out))
        assert res.exit_code == 0, res.output
        outs[engine] = out.read_bytes()
    assert outs["duckdb"] == outs["python"]


def test_memory_limit(tmp_path):
    """`--memory-limit` caps DuckDB (the answer is unchanged); a size it cannot read, or the
    option on another engine, is a clear error."""
    ref = str(ROOT / "examples" / "reference.score")
    args = ["run", ref, "--leads", str(ROOT / "examples" / "data" / "leads.csv"), "--events",
            str(ROOT / "examples" / "data" / "events.csv"), "--as-of", "2026-03-01T00:00:00Z"]
    outs = []
    for extra in ([], ["--memory-limit", "64MB"], ["--memory-limit", "64MB", "--db",
                                                    str(tmp_path / "x.duckdb")]):
        out = tmp_path / f"{len(outs)}.csv"
        res = invoke(*args, "--out", str(out), *extra)
        assert res.exit_code == 0, res.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    res = invoke(*args, "--memory-limit", "lots")
    assert res.exit_code == 1 and "--memory-limit 'lots'" in res.output
    assert "Traceback" not in res.output and "internal error" not in res.output
    res = invoke(*args, "--memory-limit", "1GB", "--engine", "python")
    assert res.exit_code == 2 and "--engine duckdb" in res.output
