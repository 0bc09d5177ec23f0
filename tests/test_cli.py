"""The command line, end to end on the bundled example and on bad input."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import sqlglot
from click.testing import CliRunner

from conftest import ROOT
from leadscore.cli import main

REF = str(ROOT / "examples" / "reference.score")
LEADS = str(ROOT / "examples" / "data" / "leads.csv")
EVENTS = str(ROOT / "examples" / "data" / "events.csv")
AS_OF = "2026-03-01T00:00:00Z"


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def run_to(tmp_path, name, *extra):
    out = tmp_path / name
    res = invoke("run", REF, "--leads", LEADS, "--events", EVENTS, "--as-of", AS_OF,
                 "--out", str(out), *extra)
    assert res.exit_code == 0, res.output
    return out, res


def test_python_and_duckdb_write_identical_files(tmp_path):
    a, _ = run_to(tmp_path, "a.csv", "--engine", "python")
    b, _ = run_to(tmp_path, "b.csv", "--engine", "duckdb")
    assert a.read_bytes() == b.read_bytes()
    lines = a.read_text().splitlines()
    assert lines[0] == ("id,fit,engagement,total,segment,tier,held_from,disqualified_by,grade,"
                        "matrix")
    assert len(lines) == 301


def test_run_is_deterministic(tmp_path):
    a, _ = run_to(tmp_path, "a.csv")
    b, _ = run_to(tmp_path, "b.csv")
    assert a.read_bytes() == b.read_bytes()


def test_run_reports_counts(tmp_path):
    _, res = run_to(tmp_path, "a.csv")
    assert "leads: 300 read, 300 scored, 0 rejected" in res.output
    assert "after as_of (ignored)" in res.output
    assert "chat_started" in res.output  # undeclared event type is reported


def test_json_and_parquet_outputs_agree_with_csv(tmp_path):
    c, _ = run_to(tmp_path, "a.csv")
    j, _ = run_to(tmp_path, "a.json")
    p, _ = run_to(tmp_path, "a.parquet")
    rows = json.loads(j.read_text())
    table = pq.read_table(p).to_pylist()
    csv_lines = c.read_text().splitlines()[1:]
    assert len(rows) == len(table) == len(csv_lines) == 300
    assert rows[0]["id"] == table[0]["id"] == csv_lines[0].split(",")[0]
    assert rows[0]["total"] == table[0]["total"]


def test_terminal_table_without_out():
    res = invoke("run", REF, "--leads", LEADS, "--events", EVENTS, "--as-of", AS_OF, "--top", "5")
    assert res.exit_code == 0
    assert "top 5 of 300 leads" in res.output
    assert "leads per tier" in res.output


def test_default_as_of_is_printed():
    res = invoke("run", REF, "--leads", LEADS, "--events", EVENTS, "--top", "1")
    assert res.exit_code == 0
    assert "as_of 20" in res.output


def test_compile_prints_sql_that_sqlglot_parses_back():
    res = invoke("compile", REF, "--as-of", AS_OF)
    assert res.exit_code == 0
    tree = sqlglot.parse_one(res.output.rstrip().rstrip(";"), read="duckdb")
    assert tree.find(sqlglot.exp.Group) is not None
    # one aggregate over the events table
    assert res.output.count('FROM "events"') == 1


def test_compile_without_as_of_has_a_parameter():
    res = invoke("compile", REF)
    assert res.exit_code == 0
    assert "$as_of_us" in res.output or ":as_of_us" in res.output


def test_compile_ir_is_json():
    res = invoke("compile", REF, "--ir")
    data = json.loads(res.output)
    assert data["model"] == {"name": "b2b-saas", "version": 3}
    assert data["outputs"][0] == ["fit", "score:fit"]


def test_compile_python_source():
    res = invoke("compile", REF, "--python")
    assert res.output.startswith("def evaluate(")


def test_unknown_dialect_is_usage_error():
    res = invoke("compile", REF, "--dialect", "nosuchdb")
    assert res.exit_code == 2
    assert "unknown dialect" in res.output


def test_bad_as_of_is_usage_error():
    res = invoke("run", REF, "--leads", LEADS, "--events", EVENTS, "--as-of", "yesterday")
    assert res.exit_code == 2
    assert "--as-of" in res.output


def test_missing_events_option_is_usage_error():
    res = invoke("run", REF, "--leads", LEADS)
    assert res.exit_code == 2
    assert "--events" in res.output


def test_bad_rows_are_counted_and_written(tmp_path):
    leads = tmp_path / "leads.csv"
    leads.write_text("id,created_at,email,industry,title,employees,country,plan_interest,account\n"
                     "a,2026-01-01,,,,10,,,\n"
                     "b,not-a-date,,,,10,,,\n"
                     "c,2026-01-01,,,,ten,,,\n"
                     "a,2026-01-01,,,,10,,,\n")
    events = tmp_path / "events.csv"
    events.write_text("lead_id,occurred_at,kind,page,asset\n"
                      "a,2026-02-01T00:00:00Z,page_view,/x,\n"
                      "zz,2026-02-01T00:00:00Z,page_view,/x,\n"
                      "a,2026-13-01,page_view,/x,\n")
    rejects = tmp_path / "rejects.csv"
    out = tmp_path / "out.csv"
    res = invoke("run", REF, "--leads", str(leads), "--events", str(events), "--as-of", AS_OF,
                 "--out", str(out), "--rejects", str(rejects))
    assert res.exit_code == 0, res.output
    assert "leads: 4 read, 1 scored, 3 rejected" in res.output
    assert "1 for unknown leads" in res.output
    assert "events: 3 read, 1 used, 1 rejected" in res.output
    text = rejects.read_text()
    assert "duplicate lead key (first seen in row 2)" in text
    assert "expected a whole number" in text
    assert ",3,created_at,not-a-date," in text
    assert len(text.splitlines()) == 5


def test_strict_stops_and_writes_nothing(tmp_path):
    leads = tmp_path / "leads.csv"
    leads.write_text("id,created_at,email,industry,title,employees,country,plan_interest,account\n"
                     "a,2026-01-01,,,,10,,,\n"
                     "b,2026-01-01,,,,ten,,,\n")
    out = tmp_path / "out.csv"
    res = invoke("run", REF, "--leads", str(leads), "--events", EVENTS, "--as-of", AS_OF,
                 "--out", str(out), "--strict")
    assert res.exit_code == 1
    assert "leads.csv:3" in res.output and "employees" in res.output
    assert not out.exists()


def test_missing_column_names_schema_line(tmp_path):
    leads = tmp_path / "leads.csv"
    leads.write_text("id,email\na,x@y.z\n")
    res = invoke("run", REF, "--leads", str(leads), "--events", EVENTS, "--as-of", AS_OF)
    assert res.exit_code == 1
    assert "missing columns" in res.output
    assert "'industry' (declared at" in res.output and "reference.score:9:" in res.output


def test_missing_file_is_an_error_not_a_traceback(tmp_path):
    res = invoke("run", REF, "--leads", str(tmp_path / "nope.csv"), "--events", EVENTS,
                 "--as-of", AS_OF)
    assert res.exit_code == 1
    assert "no such file" in res.output
    assert "Traceback" not in res.output


def test_check_reports_and_exits_1(tmp_path):
    bad = tmp_path / "bad.score"
    bad.write_text('schema { lead { key id field x: int } }\nscore s { rule "a" +1 when y > 2 }\n')
    res = invoke("check", str(bad))
    assert res.exit_code == 1
    assert f"{bad}:2:28: error: unknown name `y`" in res.output
    assert "^" in res.output


def test_check_ok():
    res = invoke("check", REF, str(ROOT / "examples" / "starter.score"))
    assert res.exit_code == 0
    assert res.output.count(": ok") == 2


def test_installed_script_runs():
    proc = subprocess.run([sys.executable, "-m", "leadscore.cli", "check", REF],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


BANK = ROOT / "examples" / "calibration" / "bank-additional.csv"  # no id column, `;`-delimited
BANK_MODEL = """\
schema { lead { key row  field job: text  field campaign: int  field poutcome: text } }
score fit {
  rule "success before" +30 when poutcome == "success"
  rule "many calls" -5 when campaign > 5
}
"""


def test_row_key_numbers_the_rows_of_a_file_without_a_key(tmp_path):
    model = tmp_path / "bank.score"
    model.write_text(BANK_MODEL)
    out = tmp_path / "o.csv"
    res = invoke("run", str(model), "--leads", str(BANK), "--row-key", "--out", str(out),
                 "--as-of", "2026-03-01")
    assert res.exit_code == 0, res.output
    assert "leads: 4119 read, 4119 scored, 0 rejected" in res.output
    rows = out.read_text().splitlines()
    assert rows[0] == "row,fit,total,segment,tier,held_from,disqualified_by"
    # the key is the file line: the header is line 1; row 2 is a housemaid called once, never
    # contacted before (poutcome nonexistent)
    keys = sorted(int(r.split(",")[0]) for r in rows[1:])
    assert keys == list(range(2, 4121))
    lines = BANK.read_text().splitlines()
    by_key = {r.split(",")[0]: r.split(",")[1] for r in rows[1:]}
    for n in (2, 100, 4120):
        cells = lines[n - 1].split(";")
        expected = 30 * (cells[14] == '"success"') - 5 * (int(cells[11]) > 5)
        assert float(by_key[str(n)]) == expected


def test_without_row_key_a_missing_key_column_suggests_it(tmp_path):
    model = tmp_path / "bank.score"
    model.write_text(BANK_MODEL)
    res = invoke("run", str(model), "--leads", str(BANK))
    assert res.exit_code == 1
    assert "'row' (declared at" in res.output and "take --row-key" in res.output


def test_row_key_refuses_a_file_that_has_the_key(tmp_path):
    model = tmp_path / "bank.score"
    model.write_text(BANK_MODEL.replace("key row", "key age"))
    res = invoke("run", str(model), "--leads", str(BANK), "--row-key")
    assert res.exit_code == 1
    assert "has a column 'age', the schema's key" in res.output and "Traceback" not in res.output


def _modules_after(*args: str) -> list[str]:
    """The heavy libraries (and leadscore's runtime) a fresh `leadscore ARGS` process has
    imported when it exits."""
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: print(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('pyarrow', 'duckdb', 'sqlglot', 'numpy') or m == 'leadscore.runtime'), "
             "file=sys.stderr))\n"
             "from leadscore.cli import main\n"
             f"main({list(args)!r})\n")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return eval(proc.stderr.strip().splitlines()[-1])


def test_check_and_help_start_without_the_engines():
    """Each command's module is imported when it runs, so `check` and `--help` load no SQL,
    Arrow or numpy (and `check` no runtime)."""
    assert _modules_after("check", REF) == []
    assert _modules_after("--help") in ([], ["leadscore.runtime"])  # the engine names


def test_a_command_leaves_the_collector_as_it_found_it():
    import gc

    assert gc.isenabled()
    assert invoke("check", REF).exit_code == 0
    assert gc.isenabled()
