"""Never a traceback, never a lost row: bad data, outputs under failure, the CLI's errors,
determinism across engines, limits, and the known compiler bugs the fuzzer found.

Rule-file error messages have their own corpus (tests/test_errors.py); random inputs are in
tests/test_fuzz.py. Each data failure path here asserts the message, where it points (file,
row, column, value) and the exit code: 0 success, 1 bad model or data, 2 usage or internal.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from conftest import ROOT
from engines import SELECTED, engine_params
from leadscore.cli import main
from leadscore.cli.common import _guarded
from leadscore.compiler import CompileError, compile_source
from leadscore.compiler.parse import MAX_NESTING
from leadscore.runtime import output
from leadscore.runtime.data import DataError, read_events, read_leads

REF = str(ROOT / "examples" / "reference.score")
LEADS = ROOT / "examples" / "data" / "leads.csv"
EVENTS = ROOT / "examples" / "data" / "events.csv"
AS_OF = "2026-03-01T00:00:00Z"
LEAD_HEADER = "id,created_at,email,industry,title,employees,country,plan_interest,account"
EVENT_HEADER = "lead_id,occurred_at,kind,page,asset"

SMALL = """\
schema {
  lead  { key id  field employees: int  field industry: text }
  event { lead lead_id  time ts  type kind  types open, visit  field page: text }
}
score fit { rule "big" +10 when employees >= 100 }
score interest { rule "opens" +1 per event open }
"""


def invoke(*args: str, **kwargs):
    res = CliRunner().invoke(main, list(args), **kwargs)
    assert "Traceback" not in res.output, res.output
    return res


def no_traceback(res) -> None:
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


@pytest.fixture
def small(tmp_path: Path) -> Path:
    p = tmp_path / "small.score"
    p.write_text(SMALL, encoding="utf-8")
    return p


def run_small(model: Path, leads: Path, events: Path, *extra: str):
    return invoke("run", str(model), "--leads", str(leads), "--events", str(events),
                  "--as-of", AS_OF, "--engine", "python", *extra)


def write(path: Path, text: str | bytes) -> Path:
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


# ---------------------------------------------------------------- acceptance: 3 bad rows in 1 000
def thousand_leads(path: Path) -> Path:
    """1 000 leads from the bundled file (keys made unique); rows 101, 502 and 903 of the
    file are bad: a word for a number, an impossible date, a repeated key."""
    src = list(csv.reader(LEADS.open(encoding="utf-8")))[1:]
    lines = [LEAD_HEADER]
    for i in range(1000):
        row = list(src[i % len(src)])
        row[0] = f"K{i:04d}"
        lines.append(",".join(csv_field(v) for v in row))
    bad = {101: (5, "lots"), 502: (1, "2026-02-30"), 903: (0, "K0005")}
    for line, (col, value) in bad.items():
        fields = next(csv.reader([lines[line - 1]]))
        fields[col] = value
        lines[line - 1] = ",".join(csv_field(v) for v in fields)
    return write(path, "\n".join(lines) + "\n")


def csv_field(v: str) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([v])
    return buf.getvalue()


def test_three_bad_rows_out_of_a_thousand(tmp_path):
    leads = thousand_leads(tmp_path / "leads.csv")
    out, rejects = tmp_path / "scores.csv", tmp_path / "rejects.csv"
    res = invoke("run", REF, "--leads", str(leads), "--events", str(EVENTS), "--as-of", AS_OF,
                 "--out", str(out), "--rejects", str(rejects))
    assert res.exit_code == 0, res.output
    assert "leads: 1000 read, 997 scored, 3 rejected" in res.output
    assert len(out.read_text().splitlines()) == 1 + 997
    got = list(csv.DictReader(rejects.open(encoding="utf-8")))
    assert [(r["row"], r["column"], r["value"]) for r in got] == [
        ("101", "employees", "lots"), ("502", "created_at", "2026-02-30"), ("903", "id", "K0005")]
    assert got[0]["reason"] == "expected a whole number"
    assert "ISO 8601" in got[1]["reason"] or "day is out of range" in got[1]["reason"]
    assert got[2]["reason"] == "duplicate lead key (first seen in row 7)"
    assert all(r["file"] == str(leads) for r in got)
    # every reject is also on the terminal, located
    assert f"{leads}:101: column 'employees' value 'lots': expected a whole number" in res.output


def test_three_bad_rows_strict_stops_at_the_first_and_writes_nothing(tmp_path):
    leads = thousand_leads(tmp_path / "leads.csv")
    out, rejects = tmp_path / "scores.csv", tmp_path / "rejects.csv"
    out.write_text("the previous run's scores\n")
    res = invoke("run", REF, "--leads", str(leads), "--events", str(EVENTS), "--as-of", AS_OF,
                 "--out", str(out), "--rejects", str(rejects), "--strict")
    assert res.exit_code == 1, res.output
    assert res.output.strip().splitlines()[-1] == (
        f"error: {leads}:101: column 'employees' value 'lots': expected a whole number "
        "(stopped by --strict)")
    assert out.read_text() == "the previous run's scores\n"  # replaced only on success
    assert not rejects.exists()
    assert list(tmp_path.glob(".*.tmp")) == []


# ---------------------------------------------------------------- data failure paths
def test_missing_columns_are_named_with_the_schema_line_and_a_hint(tmp_path, small):
    leads = write(tmp_path / "l.csv", "id,Employees\na,5\n")
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    res = run_small(small, leads, events)
    assert res.exit_code == 1
    assert f"error: {leads}: missing columns:" in res.output
    assert f"'employees' (declared at {small}:2:19); did you mean `Employees`?" in res.output
    assert f"'industry' (declared at {small}:2:41)" in res.output
    assert "the file has: id, Employees" in res.output


def test_a_schema_column_named_twice_in_the_header_is_an_error(tmp_path, small):
    leads = write(tmp_path / "l.csv", "id,employees,industry,employees\na,5,x,6\n")
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    res = run_small(small, leads, events)
    assert res.exit_code == 1
    assert "the header names a column twice: 'employees' is column 2 and 4" in res.output


def test_extra_columns_are_ignored_and_listed_with_verbose(tmp_path, small):
    leads = write(tmp_path / "l.csv", "id,employees,industry,owner,\na,500,x,ann,\n")
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page,campaign\n"
                                       "a,2026-02-01T00:00:00Z,open,/,spring\n")
    out = tmp_path / "o.csv"
    quiet = run_small(small, leads, events, "--out", str(out))
    assert quiet.exit_code == 0 and "not in the schema" not in quiet.output
    loud = run_small(small, leads, events, "--out", str(out), "--verbose")
    assert loud.exit_code == 0, loud.output
    assert (f"leads: {leads}: 2 columns not in the schema (ignored): owner, (unnamed column 5)"
            in loud.output)
    assert f"events: {events}: 1 column not in the schema (ignored): campaign" in loud.output
    assert out.read_text().splitlines()[1].startswith("a,10,1,11,")


@pytest.mark.parametrize("cell, column, reason", [
    ("employees=ten", "employees", "expected a whole number"),
    ("employees=2.5", "employees", "expected a whole number"),
    ("employees=1" + "0" * 400, "employees", "the number is beyond ±2^53"),
    ("ts=2026-13-01", "ts", "ISO 8601"),
    ("ts=yesterday", "ts", "ISO 8601"),
    ("ts=", "ts", "the event time is missing"),
    ("kind=", "kind", "the event type is missing"),
    ("lead_id=", "lead_id", "the event's lead key is missing"),
])
def test_bad_values_are_rejected_with_file_row_column_and_value(tmp_path, small, cell, column,
                                                                 reason):
    name, value = cell.split("=")
    lead = {"id": "a", "employees": "5", "industry": "x"}
    ev = {"lead_id": "a", "ts": "2026-02-01T00:00:00Z", "kind": "open", "page": "/"}
    (lead if name in lead else ev)[name] = value
    leads = write(tmp_path / "l.csv", "id,employees,industry\nb,1,y\n" + ",".join(lead.values()) + "\n")
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n" + ",".join(ev.values()) + "\n")
    rejects = tmp_path / "r.csv"
    res = run_small(small, leads, events, "--rejects", str(rejects))
    assert res.exit_code == 0, res.output
    path = leads if name in lead else events
    row = 3 if name in lead else 2
    shown = f" value {value!r}" if value and len(value) < 80 else ""
    expected = f"rejected {path}:{row}: column {column!r}{shown}"
    assert expected in res.output, res.output
    [r] = list(csv.DictReader(rejects.open(encoding="utf-8")))
    assert (r["file"], r["row"], r["column"], r["value"]) == (str(path), str(row), column, value)
    assert reason in r["reason"]


def test_duplicate_lead_keys_name_the_key_and_both_rows(tmp_path, small):
    leads = write(tmp_path / "l.csv", "id,employees,industry\na,1,x\nb,2,x\n a ,3,x\n")
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    res = run_small(small, leads, events, "--strict")
    assert res.exit_code == 1
    assert (f"error: {leads}:4: column 'id' value 'a': duplicate lead key (first seen in row 2) "
            "(stopped by --strict)") in res.output


def test_events_for_unknown_leads_are_counted(tmp_path, small):
    leads = write(tmp_path / "l.csv", "id,employees,industry\na,1,x\n")
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n"
                                       "a,2026-02-01T00:00:00Z,open,/\n"
                                       "ghost,2026-02-01T00:00:00Z,open,/\n"
                                       "ghost,2026-02-02T00:00:00Z,open,/\n")
    res = run_small(small, leads, events, "--out", str(tmp_path / "o.csv"))
    assert res.exit_code == 0
    assert "events: 3 read, 1 used, 0 rejected, 2 for unknown leads (ignored)" in res.output


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"], ids=["empty", "blank", "bom"])
def test_an_empty_file_is_an_error(tmp_path, small, content):
    leads = write(tmp_path / "l.csv", content)
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    res = run_small(small, leads, events)
    assert res.exit_code == 1
    assert res.output.strip() == f"error: {leads}: the file is empty (expected a header row)"


@pytest.mark.parametrize("engine", engine_params([e for e in ("python", "duckdb", "sqlite")
                                                  if e in SELECTED]))
def test_header_only_files_score_nothing_on_every_engine(tmp_path, small, engine):
    leads = write(tmp_path / "l.csv", "id,employees,industry\n")
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\r\n")
    out = tmp_path / "o.csv"
    res = invoke("run", str(small), "--leads", str(leads), "--events", str(events), "--as-of",
                 AS_OF, "--engine", engine, "--out", str(out))
    assert res.exit_code == 0, res.output
    assert "leads: 0 read, 0 scored, 0 rejected" in res.output
    assert out.read_text() == "id,fit,interest,total,segment,tier,held_from,disqualified_by\n"


def test_bom_crlf_and_quoted_newlines_through_the_cli(tmp_path, small):
    leads = write(tmp_path / "l.csv", '\ufeffid,employees,industry\r\na,500,"two\r\nlines"\r\n'
                                      'b,5,"say ""hi"""\r\n')
    events = write(tmp_path / "e.csv", '\ufefflead_id,ts,kind,page\r\n'
                                       'a,2026-02-01T00:00:00Z,open,"/a\r\nb"\r\n')
    rejects = tmp_path / "r.csv"
    out = tmp_path / "o.csv"
    res = run_small(small, leads, events, "--out", str(out), "--rejects", str(rejects))
    assert res.exit_code == 0, res.output
    assert "leads: 2 read, 2 scored, 0 rejected" in res.output
    assert "events: 1 read, 1 used, 0 rejected" in res.output
    assert out.read_text().splitlines()[1:] == ["a,10,1,11,default,,,", "b,0,0,0,default,,,"]


@pytest.mark.parametrize("delimiter, given", [(";", None), (";", ";"), ("\t", "\\t"), ("|", "|")])
def test_other_delimiters_are_detected_or_given(tmp_path, small, delimiter, given):
    leads = write(tmp_path / "l.csv", delimiter.join(["id", "employees", "industry"]) + "\n"
                  + delimiter.join(["a", "500", "x,y"]) + "\n")
    events = write(tmp_path / "e.csv", delimiter.join(["lead_id", "ts", "kind", "page"]) + "\n"
                   + delimiter.join(["a", "2026-02-01", "open", "/"]) + "\n")
    out = tmp_path / "o.csv"
    res = run_small(small, leads, events, "--out", str(out),
                    *(["--delimiter", given] if given else []))
    assert res.exit_code == 0, res.output
    assert out.read_text().splitlines()[1] == "a,10,1,11,default,,,"


def test_a_wrong_delimiter_names_the_columns_it_found(tmp_path, small):
    leads = write(tmp_path / "l.csv", "id;employees;industry\na;5;x\n")
    events = write(tmp_path / "e.csv", "lead_id;ts;kind;page\n")
    res = run_small(small, leads, events, "--delimiter", ",")
    assert res.exit_code == 1
    assert "the file has: id;employees;industry" in res.output


@pytest.mark.parametrize("bad", ["ab", '"', "\n"])
def test_a_bad_delimiter_option_is_a_usage_error(tmp_path, small, bad):
    res = run_small(small, small, small, "--delimiter", bad)
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1 and "--delimiter" in res.output


def test_an_unclosed_quote_rejects_its_row_and_keeps_the_rest(tmp_path, small):
    # Python's csv module would read everything after the quote as one value: 3 rows lost.
    leads = write(tmp_path / "l.csv", 'id,employees,industry\na,1,x\nb,2,"oops\nc,3,x\nd,4,x\n')
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    rejects = tmp_path / "r.csv"
    res = run_small(small, leads, events, "--rejects", str(rejects), "--out",
                    str(tmp_path / "o.csv"))
    assert res.exit_code == 0, res.output
    assert "leads: 4 read, 3 scored, 1 rejected" in res.output
    [r] = list(csv.DictReader(rejects.open(encoding="utf-8")))
    assert (r["row"], r["value"]) == ("3", 'b,2,"oops')
    assert "never closed" in r["reason"]


def test_a_row_with_more_values_than_the_header_is_rejected(tmp_path, small):
    leads = write(tmp_path / "l.csv", "id,employees,industry\na,1,Smith, John\nb,2,x,,\n")
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    res = run_small(small, leads, events, "--out", str(tmp_path / "o.csv"))
    assert res.exit_code == 0, res.output
    assert "leads: 2 read, 1 scored, 1 rejected" in res.output  # `b,2,x,,`: trailing empties
    assert (f"{leads}:2: value ' John': the row has 4 values but the header 3 columns"
            in res.output)


def test_a_value_over_the_csv_field_limit_rejects_only_its_row(tmp_path, small):
    leads = write(tmp_path / "l.csv", "id,employees,industry\na,1," + "x" * 200_000 + "\nb,2,x\n")
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    res = run_small(small, leads, events, "--out", str(tmp_path / "o.csv"))
    assert res.exit_code == 0, res.output
    assert "leads: 2 read, 1 scored, 1 rejected" in res.output
    assert "field larger than field limit" in res.output
    assert len(res.output) < 5_000  # the value is shortened, not printed whole


def test_non_utf8_data_reports_the_byte_offset(tmp_path, small):
    leads = write(tmp_path / "l.csv", "id,employees,industry\na,1,Jos\xe9\n".encode("latin-1"))
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    res = run_small(small, leads, events)
    assert res.exit_code == 1
    assert res.output.strip() == f"error: {leads}: not valid UTF-8 (byte 29)"


@pytest.mark.parametrize("what", ["directory", "missing", "unreadable"])
def test_unusable_input_paths(tmp_path, small, what):
    leads = tmp_path / "l.csv"
    if what == "directory":
        leads.mkdir()
    elif what == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads any file")
        write(leads, "id,employees,industry\n").chmod(0)
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    res = run_small(small, leads, events)
    assert res.exit_code == 1
    assert res.output.startswith(f"error: {leads}: ")
    assert len(res.output.strip().splitlines()) == 1


def test_parquet_with_mismatched_types(tmp_path, small):
    # employees stored as text, one value a word; a key column of floats (pandas writes an
    # int column with gaps that way) still matches the events' integer keys
    leads = tmp_path / "l.parquet"
    pq.write_table(pa.table({"id": pa.array([1.0, 2.0, 3.0, None]),
                             "employees": ["500", "many", "7", "1"],
                             "industry": pa.array([b"x", b"\xff", b"z", b"w"], pa.binary())}),
                   leads)
    events = tmp_path / "e.parquet"
    pq.write_table(pa.table({"lead_id": pa.array([1, 3], pa.int64()),
                             "ts": pa.array([1769904000000000, 1769904000000000],
                                            pa.timestamp("us", tz="UTC")),
                             "kind": ["open", "open"], "page": pa.array([[1], None],
                                                                       pa.list_(pa.int64()))}),
                   events)
    out, rejects = tmp_path / "o.csv", tmp_path / "r.csv"
    res = run_small(small, leads, events, "--out", str(out), "--rejects", str(rejects))
    assert res.exit_code == 0, res.output
    assert "leads: 4 read, 2 scored, 2 rejected" in res.output
    assert "events: 2 read, 1 used, 1 rejected" in res.output
    got = {(r["file"][-9:], r["row"], r["column"]): r["reason"]
           for r in csv.DictReader(rejects.open(encoding="utf-8"))}
    assert got == {("l.parquet", "2", "employees"): "expected a whole number",
                   ("l.parquet", "4", "id"): "the lead key is missing",
                   ("e.parquet", "1", "page"): "expected text, found a list"}
    assert out.read_text().splitlines()[1:] == ["1,10,0,10,default,,,", "3,0,1,1,default,,,"]


def test_loaders_never_raise_anything_but_data_error(tmp_path):
    model = compile_source(SMALL)
    for content in [b"\x00\x00", b'"', b'id,employees,industry\n"a', b"\xff\xfe\x00",
                    b"id\rx\r", b'id,employees,industry\n"a"b"c,1,2\n']:
        p = write(tmp_path / "x.csv", content)
        for read in (read_leads, read_events):
            try:
                read(p, model.schema)
            except DataError:
                pass


def test_the_columnar_reader_keeps_a_bom_that_opens_a_data_row(tmp_path):
    # Found by the fuzzer: Arrow drops a BOM at the start of the buffer it is given, which for
    # the columnar strategy was the first data row, so `\ufeffa` became `a` there but not in
    # the row strategy.
    from leadscore.runtime import fastload

    model = compile_source(SMALL)
    p = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n\ufeffa,2026-02-01,open,/\n")
    assert read_events(p, model.schema).leads == ["\ufeffa"]
    fast = fastload.read_events_columnar(p, model.schema)
    assert fast is None or fast.leads == ["\ufeffa"]


# ---------------------------------------------------------------- outputs
@pytest.mark.parametrize("ext", [".csv", ".json", ".parquet"])
def test_a_failure_mid_write_leaves_the_old_output(tmp_path, monkeypatch, ext):
    out = tmp_path / f"scores{ext}"
    out.write_bytes(b"old")
    calls = 0
    real = output.json_value if ext == ".json" else output.format_value

    def failing(v):
        nonlocal calls
        calls += 1
        if calls == 500:
            raise OSError(28, "No space left on device")
        return real(v)

    if ext == ".parquet":
        real_table = pa.table

        def failing_table(*a, **k):
            real_table(*a, **k)
            out.with_name(".partial").write_bytes(b"x")  # some bytes reached the disk
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(pa, "table", failing_table)
    else:
        monkeypatch.setattr(output, "json_value" if ext == ".json" else "format_value", failing)
    res = invoke("run", REF, "--leads", str(LEADS), "--events", str(EVENTS), "--as-of", AS_OF,
                 "--engine", "python", "--out", str(out))
    assert res.exit_code == 2, res.output
    assert res.output.strip().splitlines()[-1] == "error: No space left on device"
    assert out.read_bytes() == b"old"
    assert list(tmp_path.glob(f".scores{ext}.*")) == []


def test_new_outputs_get_the_usual_mode_and_replaced_ones_keep_theirs(tmp_path):
    new = tmp_path / "new.csv"
    output.write_rows(new, ["a"], [(1,)])
    umask = os.umask(0o22)
    os.umask(umask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~umask
    kept = tmp_path / "kept.csv"
    kept.write_text("x")
    kept.chmod(0o640)
    output.write_rows(kept, ["a"], [(1,)])
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    assert kept.read_text() == "a\n1\n"


def test_an_unwritable_output_is_a_one_line_error(tmp_path):
    blocker = write(tmp_path / "file.txt", "not a directory")
    res = invoke("run", REF, "--leads", str(LEADS), "--events", str(EVENTS), "--as-of", AS_OF,
                 "--out", str(blocker / "o.csv"))
    assert res.exit_code == 2, res.output
    assert res.output.splitlines()[-1].startswith(f"error: {blocker}")
    assert "Traceback" not in res.output and "internal error" not in res.output


def big_leads(path: Path, n: int) -> Path:
    src = list(csv.reader(LEADS.open(encoding="utf-8")))[1:]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(LEAD_HEADER.split(","))
        for i in range(n):
            row = list(src[i % len(src)])
            row[0] = f"K{i:07d}"
            w.writerow(row)
    return path


# The child scores with the real CLI; its output writer stops halfway (after announcing it on
# stdout) so that the signal lands mid-write, every time.
CHILD = textwrap.dedent("""
    import sys, time
    from leadscore.runtime import output
    real, calls = output.format_value, [0]
    def slow(v):
        calls[0] += 1
        if calls[0] == int(sys.argv[1]):
            print("halfway", flush=True)
            time.sleep(60)
        return real(v)
    output.format_value = slow
    from leadscore.cli import main
    main(sys.argv[2:], prog_name="leadscore")
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"),
                                             (signal.SIGTERM, 143, "terminated")])
def test_a_signal_mid_write_leaves_the_old_output_and_no_temporary_file(tmp_path, sig, code,
                                                                        word):
    leads = big_leads(tmp_path / "leads.csv", 20_000)
    out = tmp_path / "scores.csv"
    out.write_text("old\n")
    cells = 20_000 * 9
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(cells // 2), "run", REF, "--leads", str(leads),
         "--events", str(EVENTS), "--as-of", AS_OF, "--engine", "python", "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "halfway", proc.stderr.read()
        assert len(list(tmp_path.glob(".scores.csv.*.tmp"))) == 1  # half of it is on disk
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == f"{word}; no file was left half-written"
    assert "Traceback" not in err
    assert out.read_text() == "old\n"
    assert list(tmp_path.glob(".scores.csv.*")) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_at_any_moment_never_leaves_a_partial_output(tmp_path):
    # No patching: interrupt a real run with a large JSON output as soon as its temporary
    # file appears. Whenever the signal lands, the output is the old one or complete.
    leads = big_leads(tmp_path / "leads.csv", 40_000)
    out = tmp_path / "scores.json"
    out.write_text("[]\n")
    proc = subprocess.Popen([sys.executable, "-m", "leadscore.cli", "run", REF, "--leads",
                             str(leads), "--events", str(EVENTS), "--as-of", AS_OF, "--engine",
                             "python", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and not list(tmp_path.glob(".scores.json.*.tmp")):
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.001)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert "Traceback" not in err
    rows = json.loads(out.read_text())
    if proc.returncode == 130:
        assert rows == []
    else:  # the write finished before the signal arrived
        assert proc.returncode == 0 and len(rows) == 40_000, err
    assert list(tmp_path.glob(".scores.json.*")) == []


# ---------------------------------------------------------------- the command line
COMMANDS = sorted(main.list_commands(None))  # each imported when first looked up


def command(name: str) -> click.Command:
    cmd = main.get_command(None, name)
    assert cmd is not None, name
    return cmd


def test_every_command_is_covered():
    assert {"run", "check", "compile"} <= set(COMMANDS)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_shows_an_example(name):
    res = invoke(name, "--help")
    assert res.exit_code == 0, res.output
    assert "Example" in res.output, f"`leadscore {name} --help` has no example:\n{res.output}"
    assert f"leadscore {name}" in res.output.split("Example", 1)[1]


@pytest.mark.parametrize("name", COMMANDS)
def test_an_unknown_option_is_a_one_line_usage_error(name):
    res = invoke(name, "--no-such-option")
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert res.output.startswith("error: No such option '--no-such-option'")
    assert f"(see `leadscore {name} --help`)" in res.output


@pytest.mark.parametrize("name", [n for n in COMMANDS
                                  if any(p.required for p in command(n).params)])
def test_a_missing_argument_is_a_one_line_usage_error(name):
    res = invoke(name)
    assert res.exit_code == 2
    assert len(res.output.strip().splitlines()) == 1, res.output
    assert res.output.startswith("error: Missing ")


@pytest.mark.parametrize("args", [
    ["nosuchcommand"], ["run", REF, "--leads", str(LEADS), "--events", str(EVENTS), "--as-of", "soon"],
    ["run", REF, "--leads", str(LEADS)], ["run", REF, "--leads", str(LEADS), "--top", "x"],
    ["run", REF, "--leads", str(LEADS), "--events", str(EVENTS), "--out", "x.xlsx"],
    ["run", REF, "--leads", str(LEADS), "--engine", "oracle"], ["run", "nope.score"],
    ["compile", REF, "--dialect", "cobol"], ["run", REF, "--into", "t"],
], ids=lambda a: " ".join(a)[:40])
def test_usage_errors_are_one_line_and_exit_2(args):
    res = invoke(*args)
    assert res.exit_code == 2, res.output
    [line] = res.output.strip().splitlines()
    assert line.startswith("error: ") and line.endswith("--help`)"), line


@pytest.mark.parametrize("name", COMMANDS)
def test_an_internal_error_is_a_short_message_with_the_debug_hint(name, monkeypatch):
    cmd = command(name)
    assert getattr(cmd.callback, "_leadscore_guarded", False), f"`leadscore {name}` is unguarded"

    def boom(**kwargs):  # what a bug inside the command looks like from the outside
        raise RuntimeError("something broke")

    monkeypatch.setattr(cmd, "callback", _guarded(boom))
    args = [name] + [a for p in cmd.params if p.required for a in _dummy(p)]
    res = invoke(*args)
    assert res.exit_code == 2, res.output
    assert res.output.splitlines() == [
        "error: internal error: RuntimeError: something broke",
        "  rerun with --debug for the traceback, and please report it"]
    debug = CliRunner().invoke(main, args + ["--debug"])
    assert isinstance(debug.exception, RuntimeError), debug.output


def _dummy(param: click.Parameter) -> list[str]:
    """A value that passes the parameter's own checks."""
    value = param.type.choices[0] if isinstance(param.type, click.Choice) else REF
    return [param.opts[0], value] if isinstance(param, click.Option) else [value]


def test_internal_error_hint_works_for_a_command_written_without_the_guard():
    @main.command(name="zz-unguarded")
    def unguarded() -> None:
        """Raise.

        \b
        Example:
          leadscore zz-unguarded
        """
        raise ValueError("oops")

    try:
        res = invoke("zz-unguarded")
        assert res.exit_code == 2
        assert res.output.startswith("error: internal error: ValueError: oops")
        assert isinstance(CliRunner().invoke(main, ["zz-unguarded", "--debug"]).exception,
                          ValueError)
    finally:
        main.commands.pop("zz-unguarded")


def test_a_broken_pipe_is_quiet():
    proc = subprocess.run(f"{sys.executable} -m leadscore.cli compile {REF} | head -1",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr, proc.stderr


# ---------------------------------------------------------------- determinism
DETERMINISM_ENGINES = [e for e in ("python", "duckdb", "sqlite") if e in SELECTED]


@pytest.mark.parametrize("ext", [".csv", ".json", ".parquet"])
def test_outputs_are_byte_identical_across_runs_and_engines(tmp_path, ext):
    outputs = {}
    for engine in DETERMINISM_ENGINES:
        for attempt in range(2):
            out = tmp_path / f"{engine}{attempt}{ext}"
            res = invoke("run", REF, "--leads", str(LEADS), "--events", str(EVENTS), "--as-of",
                         AS_OF, "--engine", engine, "--out", str(out))
            assert res.exit_code == 0, res.output
            outputs[f"{engine}#{attempt}"] = out.read_bytes()
    first = next(iter(outputs.values()))
    assert {k for k, v in outputs.items() if v != first} == set()


def test_rows_are_ordered_by_key_the_same_on_every_engine(tmp_path, small):
    keys = ["b", "B", "a", "10", "9", "Ñ1", "é", "z", "Z9", "_x", "a b", "ab"]
    leads = write(tmp_path / "l.csv", "id,employees,industry\n" + "".join(
        f"{k},{i * 30},x\n" for i, k in enumerate(keys)))
    events = write(tmp_path / "e.csv", "lead_id,ts,kind,page\n")
    got = {}
    for engine in DETERMINISM_ENGINES:
        out = tmp_path / f"{engine}.csv"
        res = invoke("run", str(small), "--leads", str(leads), "--events", str(events),
                     "--as-of", AS_OF, "--engine", engine, "--out", str(out))
        assert res.exit_code == 0, res.output
        got[engine] = out.read_bytes()
    assert len(set(got.values())) == 1, got
    shown = [line.split(",")[0] for line in next(iter(got.values())).decode().splitlines()[1:]]
    assert shown == sorted(keys)  # by code point, not by a database's collation


# ---------------------------------------------------------------- limits
SCHEMA5 = ("schema {\n"
           "  lead { key id  field industry: text  field title: text  field employees: int }\n"
           "  event { lead lead_id  time occurred_at  type kind  types email_open, page_view\n"
           "          field page: text }\n"
           "}\n")


@pytest.mark.parametrize("condition", [
    "(" * 20_000 + "employees > 5" + ")" * 20_000,
    "not " * 20_000 + "employees > 5",
    "employees > " + "-" * 20_000 + "5",
    "industry in " + "[" * 20_000 + '"saas"' + "]" * 20_000,
], ids=["parens", "nots", "minus", "brackets"])
def test_20000_nested_levels_give_a_located_error(condition):
    try:
        compile_source(SCHEMA5 + 'score fit {\n  rule "deep" +1 when ' + condition + "\n}\n",
                       "deep.score")
    except CompileError as err:
        [d] = err.diagnostics
        assert "nested too deeply" in d.message and (d.span.line, d.span.column) >= (7, 22)
    else:
        pytest.fail("20 000 levels of nesting compiled")


# ---------------------------------------------------------------- compiler gaps the fuzzer found (fixed)
# (U+2028, NEL and the C0 separators are now errors of their own: tests/test_hostile_rulefiles.py)
@pytest.mark.parametrize("brk", ["\x0c", "\r"], ids=["formfeed", "cr"])
def test_the_line_shown_is_the_line_of_the_error(brk):
    text = ('schema { lead { key id field x: int } }\n# a' + brk + 'comment\n'
            'score s { rule "r" +1 when y > 1 }\n')
    with pytest.raises(CompileError) as err:
        compile_source(text, "f.score")
    [d] = err.value.diagnostics
    assert (d.span.line, d.span.column) == (3, 28)
    assert err.value.render().splitlines()[1] == '   3 | score s { rule "r" +1 when y > 1 }'


@pytest.mark.parametrize("text, message", [
    (" {\n  lead { key id }\n}\n", "not a model file"),  # no line opens a declaration
    ('schema { lead { key id  field x: int } }\nscore s { rule "r" +1 when {\n  x > 1 }\n}\n',
     "unexpected `{`")], ids=["top-level", "in-a-condition"])
def test_a_syntax_error_message_is_one_line(text, message):
    with pytest.raises(CompileError) as err:
        compile_source(text, "f.score")
    d = err.value.diagnostics[0]
    assert "\n" not in d.message, d.message
    assert d.message.startswith(message)


def _at_depth(depth: int) -> dict[str, str]:
    """Conditions nested exactly `depth` levels (the checker's measure), one per shape."""
    k = depth - 2  # a comparison and its operands take the other two levels
    return {
        "nots": "not " * k + "employees > 5",
        "minus": "employees > " + "-" * k + "5",
        "sums": f"employees * {k + 1} > " + "(employees + " * k + "1" + ")" * k,  # e > 1
        "divisions": "employees * 2 > " + "(1 / " * k + "employees" + ")" * k,  # e > 0
        "ands": "(employees > 1 and " * k + "title starts_with \"v\"" + ")" * k,
        "or-and": "(industry == \"saas\" or employees > 1 and " * (k // 2) + "employees > 0"
                  + ")" * (k // 2),
    }


def _run_deep(tmp_path: Path, engine: str, depth: int):
    """Every shape nested `depth` levels, and a chain of lets as deep, in one model."""
    # each use of a let is a level: `when lM` is 1 + 1 + 2M + 2 levels deep
    m = (depth - 4) // 2
    lets = "let l0 = not employees > 5\n" + "".join(f"let l{i} = not l{i - 1}\n"
                                                     for i in range(1, m + 1))
    rules = "".join(f'  rule "{name}" +{2 ** i} when {cond}\n'
                    for i, (name, cond) in enumerate(_at_depth(depth).items()))
    rules += f'  rule "lets" +{2 ** len(_at_depth(depth))} when l{m}\n'
    model = write(tmp_path / "deep.score", SCHEMA5 + lets + "score fit {\n" + rules + "}\n")
    leads = write(tmp_path / "l.csv", "id,industry,title,employees\n"
                  "a,saas,VP Sales,100\nb,retail,intern,0\nc,,,\nd,SaaS,vp,3\n")
    events = write(tmp_path / "e.csv", "lead_id,occurred_at,kind,page\n")
    out = tmp_path / "o.csv"
    res = invoke("run", str(model), "--leads", str(leads), "--events", str(events), "--as-of",
                 AS_OF, "--engine", engine, "--out", str(out))
    return res, out


@pytest.mark.parametrize("engine", engine_params())
def test_the_deepest_expressions_allowed_give_one_answer_on_every_engine(tmp_path, engine):
    from engines import ensure

    ensure(engine)
    res, out = _run_deep(tmp_path, engine, MAX_NESTING)
    assert res.exit_code == 0, res.output
    got = {row["id"]: row["fit"] for row in csv.DictReader(out.open())}
    # an even number of `not`s, `-`s and `1 /`s cancels out: `nots` and `minus` hold for
    # employees > 5; `sums` for employees > 1; `divisions` for employees > 0 (b's 0 is a
    # division by zero: missing); `ands` for employees > 1 and a title starting with v;
    # `or-and` for industry saas (any case); missing values make these false. `lets` is an odd
    # number of `not`s of employees > 5: true for b, c (missing > 5 is false) and d.
    assert MAX_NESTING % 4 == 0  # the parities above
    assert got == {"a": "63", "b": "64", "c": "64", "d": "124"}, got


@pytest.mark.parametrize("shape", sorted(_at_depth(MAX_NESTING)))
def test_one_level_deeper_is_a_located_error(shape):
    condition = _at_depth(MAX_NESTING + 2)[shape]
    with pytest.raises(CompileError) as err:
        compile_source(SCHEMA5 + 'score fit {\n  rule "deep" +1 when ' + condition + "\n}\n",
                       "deep.score")
    [d] = err.value.diagnostics
    assert d.message == f"expression nested too deeply (more than {MAX_NESTING} levels)"
    assert d.span.line == 7


def test_a_long_chain_of_lets_is_one_located_error():
    lets = ["let l0 = employees > 0"] + [f"let l{i} = l{i - 1} and employees > {i}"
                                         for i in range(1, 300)]
    text = SCHEMA5 + "\n".join(lets) + '\nscore fit {\n  rule "chain" +1 when l299\n}\n'
    with pytest.raises(CompileError) as err:
        compile_source(text, "lets.score")
    [d] = err.value.diagnostics  # the first let over the limit; the ones built on it are quiet
    first = MAX_NESTING // 2  # each let adds two levels (its `and` and the use of the last)
    assert d.message == (f"`l{first}` is nested too deeply with `l{first - 1}` written out "
                         f"(more than {MAX_NESTING} levels)")
    assert (d.span.line, d.span.column) == (6 + first, len(f"let l{first} = ") + 1)
    assert "written out where it is used" in d.hint


def test_lets_that_double_at_every_step_are_an_error_not_an_exponential_wait():
    lets = ["let l0 = employees > 0"] + [f"let l{i} = l{i - 1} and l{i - 1}" for i in range(1, 40)]
    text = SCHEMA5 + "\n".join(lets) + '\nscore fit {\n  rule "r" +1 when l39\n}\n'
    with pytest.raises(CompileError) as err:  # written out, 2^40 parts: it would never end
        compile_source(text, "lets.score")
    [d] = err.value.diagnostics  # too deep long before too large
    first = MAX_NESTING // 2
    assert d.message.startswith(f"`l{first}` is nested too deeply with `l{first - 1}` written out")


def _compile_error(text: str) -> list:
    try:
        compile_source(text, "x.score")
    except CompileError as err:
        assert all(d.span is not None for d in err.diagnostics)
        return err.diagnostics
    return []


def test_a_chain_of_plain_aliases_is_an_error_not_a_recursion_error():
    lets = ["let a0 = employees"] + [f"let a{i} = a{i - 1}" for i in range(1, 200)]
    [d] = _compile_error(SCHEMA5 + "\n".join(lets) + '\nscore f {\n  rule "r" +1 when a199 > 3\n}\n')
    assert "nested too deeply" in d.message and d.span.line > 6


def test_a_cycle_of_250_lets_is_reported_as_a_cycle():
    lets = ["let a0 = a249"] + [f"let a{i} = a{i - 1}" for i in range(1, 250)]
    [d] = _compile_error(SCHEMA5 + "\n".join(lets) + '\nscore f {\n  rule "r" +1 when a0 > 3\n}\n')
    assert d.message == ("`a0` is defined in terms of itself: a0 -> a249 -> a248 -> a247 -> … "
                         "-> a2 -> a1 -> a0")
    assert (d.span.line, d.span.column) == (6, 5)


def test_lets_joining_chains_end_to_end_count_every_operator():
    chain = " + 1" * 10
    lets = ["let a0 = employees" + chain] + [f"let a{i} = a{i - 1}{chain}" for i in range(1, 10)]
    [d] = _compile_error(SCHEMA5 + "\n".join(lets) + '\nscore f {\n  rule "r" +1 when a9 > 3\n}\n')
    assert "nested too deeply with `a0` written out" in d.message


def test_within_on_a_chain_of_filter_lets_counts_a_level_each():
    lets = ['let f0 = event page_view where page == "x"'] + [
        f"let f{i} = f{i - 1} within {i + 1}d" for i in range(1, 30)]
    [d] = _compile_error(SCHEMA5 + "\n".join(lets)
                         + '\nscore f {\n  rule "r" +1 when count(f29) > 0\n}\n')
    assert "nested too deeply" in d.message


def test_an_event_field_in_a_filter_is_not_the_let_of_the_same_name():
    # `page` inside the filter is the event field, so neither a cycle nor too deep
    deep = "1 - (" * (MAX_NESTING - 4) + "employees" + ")" * (MAX_NESTING - 4)
    text = (SCHEMA5 + f"let page = {deep} > 3\n"
            'let pricing = event where not not not not page == "/pricing"\n'
            "score f {\n  rule \"r\" +1 per pricing\n  rule \"p\" +1 when page\n}\n")
    assert _compile_error(text) == []


def test_a_wide_let_used_everywhere_is_bounded_for_the_whole_model():
    # 5 000 parts written out in each of 100 rules: 500 000 parts of SQL and Python
    wide = " or ".join(f'title == "t{i}"' for i in range(1_700))
    rules = "".join(f'  rule "r{j}" +1 when wide and employees > {j}\n' for j in range(100))
    [d] = _compile_error(SCHEMA5 + f"let wide = {wide}\nscore f {{\n" + rules + "}\n")
    assert d.message == ("expression too large with its lets written out (a model may have "
                         "300,000 parts)")
    assert d.span.line > 7


def test_nested_divisions_do_not_repeat_the_divisor_in_sql():
    from leadscore.backends.sql import to_sql
    from leadscore.engines import SQLITE

    model = compile_source(SCHEMA5 + 'score f {\n  rule "r" +1 when '
                           + "1 / (" * 14 + "employees" + ")" * 14 + " > 1\n}\n")
    assert len(to_sql(model, SQLITE)) < 5_000


def test_a_let_cycle_through_days_since_is_reported():
    [d] = _compile_error(SCHEMA5 + "let x = days_since(x)\nscore f {\n  rule \"r\" +1 when x > 1\n}\n")
    assert d.message == "`x` is defined in terms of itself: x -> x"


def test_a_let_named_score_counts_in_the_account_score():
    lets = "let s1 = employees / 2\n" + "".join(f"let s{i} = s{i - 1} / 2\n" for i in range(2, 8))
    text = ("schema { lead { key id  field employees: int  field account: text } }\n" + lets
            + "let score = s7 / 2\nscore f {\n  rule \"r\" +1 when employees > 1\n}\n"
            + "account by account {\n  score = sum(score" + " / 2" * 12 + ")\n}\n")
    [d] = _compile_error(text)
    assert d.message.startswith("expression nested too deeply with `score` written out")


def test_using_a_let_in_a_cycle_does_not_stop_the_size_limit():
    lets = ("let l1 = " + " or ".join(["employees > 1"] * 100) + "\nlet l2 = "
            + " or ".join(["l1"] * 100) + "\nlet l3 = " + " or ".join(["l2"] * 9)
            + "\nlet c1 = c2\nlet c2 = c1\n")
    diags = _compile_error(SCHEMA5 + lets + 'score f {\n  rule "a" +1 when '
                           + " or ".join(["l3"] * 4) + " or c1\n}\n")
    assert [d.message.split(" (")[0] for d in diags] == [
        "`c1` is defined in terms of itself: c1 -> c2 -> c1",
        "expression too large with its lets written out"]


@pytest.mark.parametrize("text", [
    'score s {\n  rule "r" +1 per event\n    page_view wher page == "x"\n}\n',
    "tiers { cold  # leads with no event\n  warm 10 }\n",
], ids=["filter-on-two-lines", "event-in-a-comment"])
def test_the_trailing_event_hint_is_only_for_a_gate(text):
    with pytest.raises(CompileError) as err:
        compile_source(SCHEMA5 + text, "x.score")
    assert "as its event type" not in (err.value.diagnostics[0].hint or "")


# ---------------------------------------------------------------- measuring limits (not a test)
def large_models() -> dict[str, str]:
    """The very large models whose timings docs/robustness.md records."""
    def rules(n: int, per_score: int = 100) -> str:
        scores = []
        for s in range(0, n, per_score):
            body = "\n".join(f'  rule "r{i}" +{i % 7 + 1} when employees >= {i} and title matches '
                             f'"t{i}"' for i in range(s, min(n, s + per_score)))
            scores.append(f"score s{s // per_score} {{\n{body}\n}}")
        return SCHEMA5 + "\n".join(scores) + "\ntiers { cold; warm at 50; hot at 100 }\n"

    events = "\n".join(f'  rule "e{i}" +1 per event page_view where page == "/p{i}" within '
                       f"{i % 90 + 1}d cap 5" for i in range(2000))
    ors = " or ".join(f'title == "title {i}"' for i in range(20_000))
    items = ", ".join(f'"c{i}"' for i in range(20_000))
    lets = ["let l0 = employees > 0"] + [f"let l{i} = l{i - 1} and employees > {i}"
                                         for i in range(1, 200)]
    return {
        "2 000 event rules (aggregates) in one score": SCHEMA5 + f"score e {{\n{events}\n}}\n",
        "5 000 rules in 50 scores": rules(5000),
        "20 000 rules in 200 scores": rules(20_000),
        "one rule, a 20 000-way `or`": SCHEMA5 + f'score fit {{\n  rule "r" +1 when {ors}\n}}\n',
        "one rule, a 20 000-item `in [...]`":
            SCHEMA5 + f'score fit {{\n  rule "r" +1 when industry in [{items}]\n}}\n',
        "a chain of 200 `let`s": SCHEMA5 + "\n".join(lets) + '\nscore f { rule "r" +1 when l199 }\n',
    }


def _measure_one(text: str) -> list[str]:  # pragma: no cover - run in a fresh process
    from leadscore.backends.python import compile_python
    from leadscore.backends.sql import to_sql
    from leadscore.engines import DUCKDB

    try:
        t0 = time.perf_counter()
        model = compile_source(text, "large.score")
        t1 = time.perf_counter()
        compile_python(model)
        t2 = time.perf_counter()
        to_sql(model, DUCKDB, 1772323200000000)
        t3 = time.perf_counter()
        cells = [f"{t1 - t0:.1f}", f"{t2 - t1:.1f}", f"{t3 - t2:.1f}"]
    except CompileError as err:
        cells = [f"located error: {err.diagnostics[0].message}", "", ""]
    with open("/proc/self/status") as status:  # this process's own peak, not its parent's
        peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    return cells + [f"{peak // 1024} MB"]


def measure_limits() -> None:  # pragma: no cover - `python tests/test_robustness.py`
    import multiprocessing

    print("| model | source | check + compile | Python codegen | SQL codegen | peak memory |")
    spawn = multiprocessing.get_context("spawn")
    for name, text in large_models().items():
        with spawn.Pool(1) as pool:
            cells = pool.apply(_measure_one, (text,))
        print("| " + " | ".join([name, f"{len(text) / 1e6:.2f} MB"] + cells) + " |", flush=True)


if __name__ == "__main__":  # pragma: no cover
    measure_limits()


def test_hundreds_of_disqualify_reasons_score_on_every_python_evaluator():
    # one `case` branch per reason: the generated code once nested a parenthesis per branch,
    # and Python's parser stops at 200
    from leadscore.runtime.data import leads_from_dicts
    from leadscore.runtime.engines import EVALUATORS, evaluator

    reasons = "".join(f'disqualify "d{i}" when employees == {i}\n' for i in range(400))
    model = compile_source("schema { lead { key id  field employees: int } }\n"
                           'score f {\n  rule "r" +1 when employees > 3\n}\n' + reasons)
    leads = leads_from_dicts([{"id": "a", "employees": 250}, {"id": "b", "employees": 5000}],
                             model.schema)
    for name in EVALUATORS:
        rows = evaluator(name, model).score(leads, None, 0)
        assert [r[-1] for r in rows] == ["d250", None], name
