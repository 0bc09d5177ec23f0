"""The loader's columnar strategy (runtime/fastload.py) gives exactly what its row strategy
(runtime/data.py) gives, so `data.read_leads`/`read_events` may pick either.

Hostile CSV and Parquet files, drawn at random: every value spelling the loader converts
column-wise, every one it must hand to data.py (rejects included, with their row numbers),
and the layouts it must refuse (then data.py reads the file). Also: the Python evaluator's
columnar grouping equals its plain-Python grouping.
"""

from __future__ import annotations

import csv
import io
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import leadscore
from conftest import ROOT
from generators import example_count
from leadscore.runtime import data, engines, fastload, inputs

SCHEMA = leadscore.loads("""
schema {
  lead { key id  created created_at  field name: text  field size: int  field rate: float
         field ok: bool }
  event { lead who  time at  type kind  types a, b  field page: text  field n: int
          field when: timestamp }
}
score s { rule "r" +1 when size > 3
          rule "e" +1 per event a within 3d }
""").ir.schema

TIMES = ["2026-03-01T10:00:00Z", "2026-03-01 10:00:00", "2026-03-01", "2026-03-01T10:00:00.5Z",
         "2026-03-01T10:00:00.123456+05:30", "2026-03-01T10:00:00-08:00", "2026-03-01T10:00",
         "2026-02-29T00:00:00Z", "2024-02-29T23:59:59.999Z", "2026-02-30T00:00:00Z",
         "2026-03-01T24:00:00Z", "2026-13-01", " 2026-03-01T10:00:00Z", "20260301",
         "2026-03-01T10:00:00+0530", "2026-03-01T10:00:00.1234567Z", "0999-12-31", "yesterday",
         "2026-03-01T10:00:60Z", "2026-03-01x10:00:00", "1970-01-01T00:00:00Z", ""]
INTS = ["0", "7", "-3", "+5", "007", " 12", "1_000", "1.0", "1e3", "x", "", "99999999999999999999",
        "-0", "٣"]
FLOATS = ["0", "1.5", "-2.25", ".5", "5.", "1e3", "1E-3", "1e400", "nan", "inf", " 2.5", "x", "",
          "0.1", "-0"]
BOOLS = ["true", "FALSE", "Yes", "n", "1", "0", " t", "maybe", "", "T"]
TEXTS = ["plain", "", " spaced ", "ÑANDÚ", "a,b", 'say "hi"', "multi\nline", "tab\there", "ΣΑΣ",
         "x" * 5]
KEYS = ["L1", "L2", "L3", " L1", "L1 ", "", "Ñ9", "l1", "k\u00a0", "7", "L2"]
KINDS = ["a", "B", "c", "", " a"]
# the limits of data.py: instants of UTC years 0 and 10000 and the accepted ends, numbers
# around ±2^53 and the float maximum, NUL characters, text past MAX_TEXT_BYTES, keys past
# MAX_KEY_CHARS, null keys (Parquet)
TIMES += ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00", "0000-12-31T23:00:00-02:00",
          "9999-12-31T23:59:59.999999Z", "0001-01-01", "1899-12-31T23:59:59Z"]
INTS += ["9007199254740992", "9007199254740993", "-9007199254740993", "123456789012345678"]
FLOATS += ["1e308", "-1e16", "9007199254740993", "1.7976931348623157e308"]
TEXTS += ["nul\x00in", "é" * 32_768]
KEYS += ["K" * 256, "K" * 255, "L\x001", None]
# typed (Parquet) instants Python's datetime cannot hold, as microseconds
EDGE_US = {"9999-12-31T23:00:00-05:00": data.MAX_TIMESTAMP_US + 1 + 4 * 3_600_000_000,
           "0001-01-01T00:00:00+01:00": data.MIN_TIMESTAMP_US - 3_600_000_000}

values = {"key": st.sampled_from(KEYS), "text": st.sampled_from(TEXTS), "int": st.sampled_from(INTS),
          "float": st.sampled_from(FLOATS), "bool": st.sampled_from(BOOLS),
          "timestamp": st.sampled_from(TIMES), "kind": st.sampled_from(KINDS)}
LEAD_COLS = [("id", "key"), ("created_at", "timestamp"), ("name", "text"), ("size", "int"),
             ("rate", "float"), ("ok", "bool")]
EVENT_COLS = [("who", "key"), ("at", "timestamp"), ("kind", "kind"), ("page", "text"),
              ("n", "int"), ("when", "timestamp")]


@st.composite
def csv_files(draw, columns):
    """CSV text: mostly well-formed (csv.writer), sometimes with extra columns, CRLF line
    ends, a BOM, another delimiter, blank lines or a quote that is never closed."""
    cols = list(columns)
    if draw(st.booleans()):
        cols.insert(draw(st.integers(0, len(cols))), ("extra", "text"))
    rows = draw(st.lists(st.tuples(*[values[t] for _, t in cols]), max_size=12))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n"])),
                   quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    w.writerow([n for n, _ in cols])
    w.writerows(rows)
    text = out.getvalue()
    damage = draw(st.sampled_from(["none"] * 6 + ["blank", "bom", "unclosed", "short", "stray"]))
    if damage == "blank" and rows:
        text = text.replace("\n", "\n\n", 1)
    elif damage == "bom":
        text = "\ufeff" + text
    elif damage == "unclosed" and rows:
        text = text.rstrip("\r\n") + delimiter + '"open\n'
    elif damage == "short" and rows:
        text += "L9\n"
    elif damage == "stray" and rows:
        text = text.replace(delimiter, delimiter + 'x"y', 1)
    return text


def event(text: str) -> None:
    """Hypothesis's statistics, in a test that draws examples."""
    if currently_in_test_context():
        _event(text)


def _same(fast, slow, fields):
    for f in fields:
        assert getattr(fast, f) == getattr(slow, f), f


@settings(max_examples=example_count(300), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(csv_files(LEAD_COLS), csv_files(EVENT_COLS), st.booleans())
def test_csv_fast_path_equals_data_py(tmp_path_factory, leads_csv, events_csv, strict):
    folder = tmp_path_factory.mktemp("csv")
    lp, ep = folder / "leads.csv", folder / "events.csv"
    lp.write_text(leads_csv, encoding="utf-8", newline="")
    ep.write_text(events_csv, encoding="utf-8", newline="")
    _compare(lp, ep, strict)


@settings(max_examples=example_count(150), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(csv_files(LEAD_COLS[1:]), st.booleans())
def test_row_key_fast_path_equals_data_py(tmp_path_factory, leads_csv, strict):
    """--row-key: a leads file without its key column, keyed by row number either way."""
    lp = tmp_path_factory.mktemp("rowkey") / "leads.csv"
    lp.write_text(leads_csv, encoding="utf-8", newline="")
    _compare_one(lp, strict, "leads", row_key=True)


LEAD_FIELDS = ("keys", "columns", "rows", "read", "rejects", "extra")
EVENT_FIELDS = ("leads", "times", "types", "columns", "read", "rejects", "extra")


def _compare(lp: Path, ep: Path, strict: bool) -> None:
    _compare_one(lp, strict, "leads")
    _compare_one(ep, strict, "events")


def _compare_one(path: Path, strict: bool, side: str, row_key: bool = False) -> None:
    """Columnar and row strategies agree (or the columnar one hands over), and the public
    reader gives the row strategy's answer."""
    if side == "leads":
        read_fast, read_slow, read, fields = (partial(fastload.read_leads_columnar, row_key=row_key),
                                              partial(data.read_leads_by_row, row_key=row_key),
                                              partial(data.read_leads, row_key=row_key), LEAD_FIELDS)
    else:
        read_fast, read_slow, read, fields = (fastload.read_events_columnar,
                                              data.read_events_by_row, data.read_events,
                                              EVENT_FIELDS)
    try:
        slow = read_slow(path, SCHEMA, None, strict)
    except data.DataError as err:
        with pytest.raises(data.DataError) as fast_err:
            fast = read_fast(path, SCHEMA, None, strict)
            if fast is None:  # handed to data.py, which raises
                raise data.DataError(str(err)) from None
        assert str(fast_err.value) == str(err)
        with pytest.raises(data.DataError) as public_err:
            read(path, SCHEMA, None, strict)
        assert str(public_err.value) == str(err)
        return
    fast = read_fast(path, SCHEMA, None, strict)
    event("columnar" if fast is not None else "handed to data.py")
    if fast is not None:
        event("columnar with rows from data.py" if slow.rejects or fast.read != len(
            getattr(slow, "keys", None) or getattr(slow, "leads", [])) else "columnar only")
        _same(fast, slow, fields)
    _same(read(path, SCHEMA, None, strict), slow, fields)


PARQUET_TYPES = {
    "key": [pa.string()], "text": [pa.string(), pa.large_string()],
    "int": [pa.int64(), pa.int32(), pa.float64(), pa.string()],
    "float": [pa.float64(), pa.float32(), pa.int64(), pa.string()],
    "bool": [pa.bool_(), pa.string()],
    "timestamp": [pa.timestamp("us", "UTC"), pa.timestamp("ms"), pa.timestamp("ns", "UTC"),
                  pa.date32(), pa.string()],
    "kind": [pa.string()],
}


def _typed(type_: pa.DataType, kind: str, raw: str | None):
    if raw is None or raw == "" and kind != "key":
        return None
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        return raw
    if raw in EDGE_US:
        return EDGE_US[raw]
    try:
        if pa.types.is_integer(type_):
            try:
                return int(raw)  # exactly: 2^53 + 1 stays itself
            except ValueError:
                return int(float(raw))
        if pa.types.is_floating(type_):
            return float(raw)
        if pa.types.is_boolean(type_):
            return data.convert(raw, "bool")
        us = data.convert(raw, "timestamp")
        return None if us is None else us
    except (ValueError, OverflowError):
        return None


@st.composite
def parquet_tables(draw, columns):
    names, arrays = [], []
    n = draw(st.integers(0, 10))
    for name, kind in columns:
        type_ = draw(st.sampled_from(PARQUET_TYPES[kind]))
        raws = draw(st.lists(values[kind], min_size=n, max_size=n))
        if pa.types.is_timestamp(type_) or pa.types.is_date32(type_):
            us = [_typed(type_, kind, r) for r in raws]
            arr = pa.array(us, pa.int64())
            if pa.types.is_date32(type_):
                arr = pa.array([None if u is None else u // 86_400_000_000 for u in us], pa.int32())
                arr = arr.cast(pa.date32())
            else:
                unit = type_.unit
                scale = {"us": 1, "ms": 1000, "ns": None}[unit]
                vals = [None if u is None else (u * 1000 if scale is None else u // scale)
                        for u in us]
                vals = [v if v is None or abs(v) < 2**62 else None for v in vals]
                arr = pa.array(vals, pa.int64()).cast(type_)
        elif pa.types.is_integer(type_):
            vals = [_typed(type_, kind, r) for r in raws]
            vals = [v if v is None or abs(v) < 2 ** (type_.bit_width - 1) else None for v in vals]
            arr = pa.array(vals, type_)
        else:
            arr = pa.array([_typed(type_, kind, r) for r in raws], type_)
        names.append(name)
        arrays.append(arr)
    return pa.table(dict(zip(names, arrays)))


@settings(max_examples=example_count(200), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(parquet_tables(LEAD_COLS), parquet_tables(EVENT_COLS), st.booleans())
def test_parquet_fast_path_equals_data_py(tmp_path_factory, leads, events, strict):
    folder = tmp_path_factory.mktemp("pq")
    lp, ep = folder / "leads.parquet", folder / "events.parquet"
    pq.write_table(leads, lp)
    pq.write_table(events, ep)
    _compare(lp, ep, strict)


@pytest.mark.parametrize("columns", ["all", "some missing"])
@pytest.mark.parametrize("extra", [pa.array([300_000 * 365 * 86_400], pa.timestamp("s")),
                                   pa.array([1], pa.int64()).cast(pa.timestamp("ns")),
                                   pa.array([[0]], pa.list_(pa.date32()))])
def test_parquet_columns_python_cannot_hold(tmp_path, columns, extra):
    """The row strategy turns every column of a Parquet file into Python values, those the
    schema ignores too, and refuses a file where that fails; the columnar one must agree."""
    row = {"id": ["L1"], "created_at": ["2026-03-01"], "name": ["n"], "size": ["1"],
           "rate": ["1.5"], "ok": ["yes"]}
    if columns != "all":
        del row["rate"]
    p = tmp_path / "l.parquet"
    pq.write_table(pa.table({**row, "ignored": extra}), p)
    _compare_one(p, False, "leads")


def test_example_files_take_the_fast_path():
    model = leadscore.load(ROOT / "examples" / "reference.score").ir
    leads = data.read_leads(ROOT / "examples" / "data" / "leads.csv", model.schema)
    events = data.read_events(ROOT / "examples" / "data" / "events.csv", model.schema)
    assert isinstance(leads, fastload.ArrowLeads) and isinstance(events, fastload.ArrowEvents)
    slow_l = data.read_leads_by_row(ROOT / "examples" / "data" / "leads.csv", model.schema)
    slow_e = data.read_events_by_row(ROOT / "examples" / "data" / "events.csv", model.schema)
    _same(leads, slow_l, LEAD_FIELDS)
    _same(events, slow_e, EVENT_FIELDS)


# Regex tests of event fields, which the Python evaluator gets as columns computed once per
# distinct value: `/Pricing` must match in any case, a missing asset never, and each rule
# holds for some events of the example data and not for others.
EVENT_TEXT_TESTS = (ROOT / "examples" / "reference.score").read_text(encoding="utf-8") + """
score text_tests {
  rule "pricing" +1 per event where page matches "^/pricing$"
  rule "guides" +2 per event where asset matches "guide|list" or asset matches "^bench"
  rule "pages" +4 per event page_view where page matches "^/(lp|blog)/" and not (page matches "trial")
}
"""


@pytest.mark.parametrize("source", ["reference", "event text tests"])
@pytest.mark.parametrize("columnar", [True, False])
def test_python_engine_groups_alike_either_way(monkeypatch, columnar, source):
    """The evaluator's two groupings (numpy above COLUMNAR_MIN_EVENTS, dicts below) agree,
    from lists and from the fast loader's Arrow tables."""
    model = (leadscore.load(ROOT / "examples" / "reference.score") if source == "reference"
             else leadscore.loads(EVENT_TEXT_TESTS)).ir
    folder = ROOT / "examples" / "data"
    as_of = data.parse_timestamp("2026-03-01T00:00:00Z")
    slow = (data.read_leads_by_row(folder / "leads.csv", model.schema),
            data.read_events_by_row(folder / "events.csv", model.schema))
    fast = (data.read_leads(folder / "leads.csv", model.schema),
            data.read_events(folder / "events.csv", model.schema))
    expected = engines.run_python(model, *slow, as_of)
    monkeypatch.setattr(inputs, "COLUMNAR_MIN_EVENTS", 0 if columnar else 10**9)
    assert engines.run_python(model, *slow, as_of) == expected
    assert engines.run_python(model, *fast, as_of) == expected
    assert engines.run(model, *fast, as_of, "duckdb") == expected


SAME_LENGTH = ["2026-03-01T10:00:00Z", "2026-03-01 10:00:00Z", "2026-02-30T00:00:00Z",
               "2026-03-01T10:00:60Z", "2026-03-01T24:00:00Z", "2026-13-01T00:00:00Z",
               "2026-00-01T00:00:00Z", "0999-12-31T00:00:00Z", "1000-01-01T00:00:00Z",
               "9999-12-31T23:59:59Z", "2026-03-01t10:00:00Z", "2026-03-01T10:00:00z",
               "+026-03-01T10:00:00Z", "2026-03-01T10:00:0 Z", "2024-02-29T23:59:59Z",
               "2026-03-01T10:00:00+05:30", "2026-03-01T10:00:00-24:00", "2026-03-01T10:00:00+0530 ",
               "2026-03-01T10:00:00.123456+05:30", "2026-03-01T10:00:00.123+01:00",
               "2026-03-01T10:00:00.999999", "2026-03-01T10:00:00.1234567", "9998-12-31T23:00:00-05:00",
               "1000-01-01T00:00:00+14:00", "2026-03-01T10:00:00"]


@pytest.mark.parametrize("value", SAME_LENGTH)
def test_timestamp_columns_of_one_width(value):
    """A column whose values all have one width (read side by side, by Arrow's cast) gives
    data.py's answer for each value, the hostile ones among well-formed neighbours too."""
    def python(v: str) -> int | None:
        try:
            return data.convert(v, "timestamp")
        except ValueError:
            return None

    good = {len(v): v for v in SAME_LENGTH if python(v) is not None}
    for column in ([value] * 3, [good.get(len(value), value), value, good.get(len(value), value)]):
        values, bad = fastload._timestamp(pa.array(column, pa.string()))
        for v, got, flagged in zip(column, values.to_pylist(), bad.tolist()):
            assert flagged or got == python(v) is not None, v  # else data.py reads it
            assert not flagged or got is None, v


@pytest.mark.parametrize("n", [1, 7, 65_536, 65_537, 300_000, 2**33])
def test_stable_order_is_a_stable_argsort(n):
    import numpy as np

    codes = np.random.default_rng(n).integers(0, n, 50_000)
    assert (inputs.stable_order(codes, n) == np.argsort(codes, kind="stable")).all()
