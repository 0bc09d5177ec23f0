"""One bad data row never stops a run, on any engine (tests/hostile/data/).

The hostile files hold a null or missing key, instants of UTC years 0 and 10000 (and the
first and last accepted ones), numbers past ±2^53 and near the float maximum, inf and nan,
NUL characters, text past MAX_TEXT_BYTES and keys past MAX_KEY_CHARS, next to values just
inside each limit. Each file is run on every executed engine, as CSV and as Parquet (text
columns, typed columns, integer keys): exit 0, the Python engine's output bytes and rejects
(row numbers and messages), and as many leads in as out plus rejected. Through the API, the
same rows as pyarrow, polars and pandas frames give the same rejects.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import leadscore
from conftest import ROOT
from engines import engine_params, ensure
from leadscore.cli import main
from leadscore.runtime import data, frames

HOSTILE = ROOT / "tests" / "hostile" / "data"
MODEL = HOSTILE / "model.score"
AS_OF = "2026-03-01T00:00:00Z"
SCHEMA = leadscore.load(MODEL).ir.schema
US = 1_000_000
YEAR_10000_UTC = data.MAX_TIMESTAMP_US + 1 + 4 * 3_600 * US  # 9999-12-31T23:00:00-05:00
YEAR_0_UTC = data.MIN_TIMESTAMP_US - 3_600 * US  # 0001-01-01T00:00:00+01:00


def _csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def _text_table(path: Path) -> pa.Table:
    """The CSV file's columns as Parquet text, an empty value as a null (a null key)."""
    header, rows = _csv_rows(path)
    return pa.table({h: pa.array([r[i] or None for r in rows], pa.string())
                     for i, h in enumerate(header)})


def _typed_leads(key_type: pa.DataType | None = None) -> pa.Table:
    """Typed columns, one hazard a row: a null key, instants Python's datetime cannot hold,
    int64 past 2^53, floats past it, NUL, long text; and values just inside each limit."""
    big, day = 2 ** 53, 1_770_000_000 * US
    rows = [  # (name, amount, n, seen)
        ("plain a", 1.0, 1, day),
        ("null key", 1.0, 1, day),
        ("year 10000 UTC", 1.0, 1, YEAR_10000_UTC),
        ("year 0 UTC", 1.0, 1, YEAR_0_UTC),
        ("last instant", 1.0, 1, data.MAX_TIMESTAMP_US),
        ("first instant", 1.0, 1, data.MIN_TIMESTAMP_US),
        ("before 1900", 1.0, 1, -2_208_988_800 * US - 1),
        ("a NUL \x00", 1.0, 1, day),
        ("x" * (data.MAX_TEXT_BYTES + 1), 1.0, 1, day),
        ("é" * 32_767 + "a", 1.0, 1, day),
        ("near float max", 1e308, 1, day),
        ("inf", float("inf"), 1, day),
        ("nan is missing", float("nan"), 1, day),
        ("float past 2^53", -1e16, 1, day),
        ("largest", float(big), big, day),
        ("int past 2^53", 1.0, big + 1, day),
        ("int below -2^53", 1.0, -big - 1, day),
        ("int64 max", 1.0, 2 ** 63 - 1, day),
        ("missing values", None, None, None),
        ("duplicate", 1.0, 1, day),
    ]
    ids = [f"L{i}" for i in range(1, len(rows))] + ["L1"]
    ids[1] = None
    if key_type is not None:
        ids = [None if k is None else int(k[1:]) for k in ids]
    return pa.table({
        "id": pa.array(ids, key_type or pa.string()),
        "name": [r[0] for r in rows],
        "amount": pa.array([r[1] for r in rows], pa.float64()),
        "n": pa.array([r[2] for r in rows], pa.int64()),
        "ok": [i % 3 == 0 for i in range(len(rows))],
        "seen": pa.array([r[3] for r in rows], pa.int64()).cast(pa.timestamp("us", "UTC")),
    })


def _typed_events() -> pa.Table:
    return pa.table({
        "who": ["L1", None, "L1", "L3", "L1", "L1", "L9", "L9", "L1"],
        "at": pa.array([1_770_000_000 * US, 1_770_000_000 * US, YEAR_10000_UTC, YEAR_0_UTC,
                        data.MIN_TIMESTAMP_US, 1_770_000_000 * US, 1_770_000_000 * US,
                        1_770_000_001 * US, 1_770_000_002 * US],
                       pa.int64()).cast(pa.timestamp("us", "UTC")),
        "kind": ["visit", "visit", "visit", "visit", "visit", "buy", "buy", "buy", "vi\x00sit"],
        "v": [1.0, 1.0, 1.0, 1.0, 1.0, 1.7976931348623157e308, 2.0 ** 53, 2.0 ** 53, 1.0],
        "note": ["x", "x", "x", "x", "x", "x", "x\x00", "x", "x"],
    })


FILES = {  # name -> (leads, events) writers into a folder
    "csv": lambda d: (HOSTILE / "leads.csv", HOSTILE / "events.csv"),
    "parquet text": lambda d: (_parquet(d / "l.parquet", _text_table(HOSTILE / "leads.csv")),
                               _parquet(d / "e.parquet", _text_table(HOSTILE / "events.csv"))),
    "parquet typed": lambda d: (_parquet(d / "l.parquet", _typed_leads()),
                                _parquet(d / "e.parquet", _typed_events())),
    "parquet int keys": lambda d: (_parquet(d / "l.parquet", _typed_leads(pa.int64())),
                                   HOSTILE / "events.csv"),
}


def _parquet(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


def _run(folder: Path, files: str, engine: str) -> tuple[bytes, list[list[str]], int, str]:
    """(output bytes, rejects (files by name), lead rows read, the leads file's name) of one
    CLI run."""
    folder.mkdir(parents=True, exist_ok=True)
    leads, events = FILES[files](folder)
    out, rejects = folder / f"out-{engine}.csv", folder / f"rejects-{engine}.csv"
    got = CliRunner().invoke(main, ["run", str(MODEL), "--leads", str(leads), "--events",
                                    str(events), "--as-of", AS_OF, "--engine", engine,
                                    "--out", str(out), "--rejects", str(rejects)],
                             catch_exceptions=False)
    assert got.exit_code == 0, got.output
    assert "internal error" not in got.output and "Traceback" not in got.output
    header, rows = _csv_rows(rejects)
    at = header.index("file")
    shown = [[Path(v).name if i == at else v for i, v in enumerate(r)] for r in rows]
    read = pq.read_metadata(leads).num_rows if leads.suffix == ".parquet" else len(
        _csv_rows(leads)[1])
    return out.read_bytes(), shown, read, leads.name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    return {files: _run(folder / files.replace(" ", "-"), files, "python") for files in FILES}


@pytest.mark.parametrize("files", list(FILES))
def test_the_reference_rejects_each_hazard(reference, files):
    """The Python engine itself: every hazard is a reject, each value inside a limit loads,
    and leads in = leads out + lead rejects."""
    out, rejects, read, lead_file = reference[files]
    lead_rejects = [r for r in rejects if r[0] == lead_file]
    assert len(out.decode().splitlines()) - 1 + len(lead_rejects) == read
    reasons = " ".join(r[-1] for r in rejects)
    for reason in ("the lead key is missing", "outside the years 0001..9999 UTC", "beyond ±2^53",
                   "NUL character (U+0000)", "longer than 65535 bytes"):
        assert reason in reasons, (files, reason)


@pytest.mark.parametrize("files", list(FILES))
@pytest.mark.parametrize("engine", engine_params())
def test_every_engine_gives_the_reference_answer(tmp_path, reference, engine, files):
    ensure(engine)
    assert _run(tmp_path, files, engine) == reference[files]


def _frames(table: pa.Table) -> dict[str, object]:
    import pandas as pd
    import polars as pl

    out: dict[str, object] = {"pyarrow": table, "polars": pl.from_arrow(table)}
    try:
        out["pandas"] = table.to_pandas()
    except (pa.ArrowInvalid, ValueError, OverflowError):  # years pandas cannot hold
        out["pandas"] = pd.DataFrame({c: table.column(c).to_pylist() if c != "seen" else
                                      [None] * table.num_rows for c in table.column_names})
    return out


@pytest.mark.parametrize("table", ["text", "typed", "int keys"])
def test_dataframes_give_the_file_rejects(tmp_path, table):
    """pyarrow, polars and pandas frames of the hostile rows: the rejects a Parquet file of
    them gives (rows numbered from 1), the same accepted leads, and `score` refuses them
    listing every one."""
    leads = {"text": lambda: _text_table(HOSTILE / "leads.csv"), "typed": _typed_leads,
             "int keys": lambda: _typed_leads(pa.int64())}[table]()
    model = leadscore.load(MODEL)
    for kind, frame in _frames(leads).items():
        arrow = pa.Table.from_pandas(frame, preserve_index=False) if kind == "pandas" else leads
        path = _parquet(tmp_path / f"{kind}.parquet", arrow)
        want = data.read_leads(path, SCHEMA)
        got = frames.read_leads(frame, SCHEMA)
        assert [(r.row, r.column, r.value, r.reason) for r in got.rejects] == [
            (r.row, r.column, r.value, r.reason) for r in want.rejects], kind
        assert got.keys == want.keys, kind
        for name in SCHEMA.lead_fields:
            assert [None if isinstance(v, float) and math.isnan(v) else v
                    for v in got.columns[name]] == want.columns[name], (kind, name)
        assert want.rejects, kind
        with pytest.raises(data.DataError) as err:
            model.score(frame, [], AS_OF)
        for r in got.rejects:
            assert str(r) in str(err.value)


@pytest.mark.parametrize("as_of, ok", [("9999-12-31T23:00:00-05:00", False),
                                       ("0001-01-01T00:00:00+01:00", False),
                                       ("0000-12-31T23:00:00-02:00", True),
                                       ("9999-12-31T23:59:59.999999Z", True)])
def test_as_of_outside_the_years_is_a_usage_error(tmp_path, as_of, ok):
    got = CliRunner().invoke(main, ["run", str(MODEL), "--leads", str(HOSTILE / "leads.csv"),
                                    "--events", str(HOSTILE / "events.csv"), "--as-of", as_of,
                                    "--engine", "python", "--out", str(tmp_path / "o.csv")])
    if ok:
        assert got.exit_code == 0, got.output
        return
    assert got.exit_code == 2 and "Traceback" not in got.output
    assert "--as-of" in got.output and "outside the years 0001..9999 UTC" in got.output
    with pytest.raises(ValueError, match="outside the years 0001..9999 UTC"):
        leadscore.load(MODEL).score([{"id": "L1"}], [], as_of)


ZERO_MODEL = """schema {
  lead  { key id  field n: int }
  event { lead lead_id  time at  type kind  types click }
}
score s {
  rule "clicks"    -7 per event click half_life 1d
}
"""


@pytest.mark.parametrize("engine", engine_params())
def test_a_zero_is_written_without_a_sign(engine, tmp_path):
    """-7 per click fading, on a click 59 half-lives old (weight 0), is -7 * 0 = -0.0 in IEEE
    arithmetic on most engines and 0.0 on MariaDB; Parquet keeps the sign bit, so every engine
    must write +0 (the bytes agree)."""
    ensure(engine)
    (tmp_path / "m.score").write_text(ZERO_MODEL, encoding="utf-8")
    (tmp_path / "l.csv").write_text("id,n\na,1\nb,2\n", encoding="utf-8")
    (tmp_path / "e.csv").write_text("lead_id,at,kind\na,2026-01-01T00:00:00Z,click\n", encoding="utf-8")
    out = tmp_path / "out.parquet"
    res = CliRunner().invoke(main, ["run", str(tmp_path / "m.score"), "--leads", str(tmp_path / "l.csv"),
                                    "--events", str(tmp_path / "e.csv"), "--as-of", "2026-03-01T00:00:00Z",
                                    "--engine", engine, "--out", str(out)])
    assert res.exit_code == 0, res.output
    values = pq.read_table(out).column("s").to_pylist() + pq.read_table(out).column("total").to_pylist()
    assert 0.0 in values and all(math.copysign(1.0, v) == 1.0 for v in values if v == 0), values
