"""Sticky tiers and the matrix label beyond the conformance corpus: the previous-tier column
in every loader (present, absent), SQL over a database's own tables with and without it,
explain from Python and SQL, the checks, `test` blocks, fmt and the IR file."""

import json
import sqlite3
import uuid

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import leadscore
from engines import engine_params, ensure
from leadscore.backends.sql import to_sql
from leadscore.cli import main
from leadscore.compiler import CompileError, compile_source, ir
from leadscore.compiler.ir import PREVIOUS_TIER
from leadscore.engines import DIALECTS
from leadscore.fmt import format_source
from leadscore.runtime import native
from leadscore.runtime.data import leads_from_dicts, parse_timestamp, read_leads, read_leads_by_row
from leadscore.runtime.engines import run
from leadscore.runtime.explain import explain
from leadscore.runtime.warehouses import run_query

MODEL = """
schema { lead { key id  field band: int  field ok: bool%(table)s } }
score s {
  rule "40" +40 when band >= 40
  rule "60" +60 when band >= 100
  rule "50" +50 when band >= 150
}
tiers { cold; nurture at 40; mql at 100 sticky require ok; sql at 150 require ok }
grade s { A at 100; B at 40; C }
"""
AS_OF = parse_timestamp("2026-03-01T00:00:00Z")
LEADS = [  # id, band, ok, previous tier
    ("a", 40, True, "mql"), ("b", 40, True, None), ("c", 150, True, "MQL"), ("d", 150, False, "sql"),
    ("e", 0, True, "nurture")]
# with the previous tiers: a held at mql; c above it; d held at mql, sql still held back
WITH = {"a": ("mql", None, "B2"), "b": ("nurture", None, "B3"), "c": ("sql", None, "A1"),
        "d": ("mql", "sql", "A2"), "e": ("cold", None, "C4")}
WITHOUT = {"a": ("nurture", None, "B3"), "b": ("nurture", None, "B3"), "c": ("sql", None, "A1"),
           "d": ("nurture", "sql", "A3"), "e": ("cold", None, "C4")}


def model(table: str = ""):
    return compile_source(MODEL % {"table": f'  table "{table}"' if table else ""})


def tiers(rows) -> dict:
    """key -> (tier, held_from, matrix) of output rows (tuples or dicts)."""
    if rows and isinstance(rows[0], dict):
        return {r["id"]: (r["tier"], r["held_from"], r["matrix"]) for r in rows}
    return {r[0]: (r[4], r[5], r[8]) for r in rows}


def write_csv(path, previous: bool) -> None:
    lines = ["id,band,ok" + (f",{PREVIOUS_TIER}" if previous else "")]
    for k, band, ok, prev in LEADS:
        lines.append(f"{k},{band},{str(ok).lower()}" + (f",{prev or ''}" if previous else ""))
    path.write_text("\n".join(lines) + "\n")


def write_parquet(path, previous: bool) -> None:
    cols = {"id": [x[0] for x in LEADS], "band": [x[1] for x in LEADS],
            "ok": [x[2] for x in LEADS]}
    if previous:
        cols[PREVIOUS_TIER] = [x[3] for x in LEADS]
    pq.write_table(pa.table(cols), path)


def test_only_a_sticky_model_reads_the_previous_tier():
    m = model()
    assert ir.reads_previous_tier(m) and m.schema.lead_fields[PREVIOUS_TIER] == "text"
    plain = compile_source(MODEL.replace(" sticky", "") % {"table": ""})
    assert not ir.reads_previous_tier(plain) and PREVIOUS_TIER not in plain.schema.lead_fields
    assert PREVIOUS_TIER not in to_sql(plain)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("previous", [True, False])
def test_every_file_loader_takes_the_column_or_its_absence(tmp_path, suffix, previous):
    path = tmp_path / f"leads{suffix}"
    (write_csv if suffix == ".csv" else write_parquet)(path, previous)
    m = model()
    want = WITH if previous else WITHOUT
    columnar = read_leads(path, m.schema)
    by_row = read_leads_by_row(path, m.schema)
    assert columnar.columns[PREVIOUS_TIER] == by_row.columns[PREVIOUS_TIER]
    assert not columnar.rejects and not columnar.extra
    for leads in (columnar, by_row):
        assert tiers(run(m, leads, None, AS_OF, "python")) == want
        assert tiers(run(m, leads, None, AS_OF, "sqlite")) == want
    got = native.run_files(m, path, None, AS_OF)  # DuckDB reading the file itself
    assert tiers(got.rows) == want and not got.leads.rejects


def test_a_plain_model_ignores_the_column_as_any_extra_one(tmp_path):
    path = tmp_path / "leads.csv"
    write_csv(path, True)
    plain = compile_source(MODEL.replace(" sticky", "") % {"table": ""})
    assert read_leads(path, plain.schema).extra == [PREVIOUS_TIER]


def test_python_callers_pass_it_in_dicts_tables_and_the_stream():
    m = leadscore.loads(MODEL % {"table": ""})
    dicts = [{"id": k, "band": b, "ok": ok, PREVIOUS_TIER: p} for k, b, ok, p in LEADS]
    assert tiers(m.score(dicts, [], "2026-03-01T00:00:00Z")) == WITH
    bare = [{k: v for k, v in d.items() if k != PREVIOUS_TIER} for d in dicts]
    assert tiers(m.score(bare, [], "2026-03-01T00:00:00Z")) == WITHOUT
    table = pa.table({"id": [d["id"] for d in bare], "band": [d["band"] for d in bare],
                      "ok": [d["ok"] for d in bare]})
    assert tiers(m.score(table, [], "2026-03-01T00:00:00Z")) == WITHOUT


STREAMED = """
schema {
  lead { key id }
  event { lead lead_id  time ts  type kind  types visit }
}
score s { rule "v" +40 per event visit }
tiers { cold; nurture at 40; mql at 100 sticky }
"""


def test_the_stream_reads_the_previous_tier_from_the_lead():
    m = leadscore.loads(STREAMED)
    for previous, want in (("mql", "mql"), (None, "nurture")):
        stream = m.stream()
        stream.lead({"id": "a", PREVIOUS_TIER: previous} if previous else {"id": "a"})
        stream.update({"lead_id": "a", "ts": "2026-02-01", "kind": "visit"})
        assert stream.score("a", "2026-03-01T00:00:00Z")["tier"] == want


def fill(cur, table: str, previous: bool) -> None:
    cols = "id TEXT, band INTEGER, ok BOOLEAN" + (f", {PREVIOUS_TIER} TEXT" if previous else "")
    cur.execute(f"CREATE TABLE {table} ({cols})")
    for k, band, ok, prev in LEADS:
        values = [f"'{k}'", str(band), "TRUE" if ok else "FALSE"]
        if previous:
            values.append(f"'{prev}'" if prev else "NULL")
        cur.execute(f"INSERT INTO {table} VALUES ({', '.join(values)})")


@pytest.mark.parametrize("previous", [True, False])
def test_own_tables_with_and_without_the_column(tmp_path, previous):
    """Without `previous_tier`, the SQL reads null: a table without the column scores as if
    nothing were sticky; with it, the column is read."""
    want = WITH if previous else WITHOUT
    db = str(tmp_path / "crm.duckdb")
    con = duckdb.connect(db)
    fill(con, "leads_t", previous)
    con.close()
    m = model("leads_t")
    assert tiers(run(m, None, None, AS_OF, "duckdb", db, previous_tier=previous)) == want
    if previous:  # the column is there but not announced: not read
        assert tiers(run(m, None, None, AS_OF, "duckdb", db)) == WITHOUT
    db = str(tmp_path / "crm.sqlite")
    con = sqlite3.connect(db)
    fill(con.cursor(), "leads_t", previous)
    con.commit()
    con.close()
    assert tiers(run(m, None, None, AS_OF, "sqlite", db, previous_tier=previous)) == want


def test_postgres_own_tables_with_and_without_the_column():
    ensure("postgres")
    import psycopg

    url = DIALECTS["postgres"].default_db
    schema = f"sticky_{uuid.uuid4().hex[:8]}"
    con = psycopg.connect(url, autocommit=True)
    try:
        con.execute(f"CREATE SCHEMA {schema}")
        for previous in (True, False):
            table = f"{schema}.leads_{int(previous)}"
            fill(con.cursor(), table, previous)
            got = run(model(table), None, None, AS_OF, "postgres", previous_tier=previous)
            assert tiers(got) == (WITH if previous else WITHOUT)
    finally:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.close()


def test_compiled_sql_reads_null_unless_told():
    m = model()
    assert f'"{PREVIOUS_TIER}"' not in to_sql(m)
    for name, dialect in DIALECTS.items():
        assert f"{PREVIOUS_TIER}" in to_sql(m, dialect, previous_tier=True), name


@pytest.mark.parametrize("engine", engine_params(["duckdb", "sqlite", "postgres", "mysql",
                                                  "clickhouse", "datafusion"]))
def test_explain_says_what_stickiness_held_alike_in_sql(engine):
    ensure(engine)
    m = model()
    leads = leads_from_dicts([{"id": k, "band": b, "ok": ok, PREVIOUS_TIER: p}
                              for k, b, ok, p in LEADS], m.schema)
    rows = run_query("explain", engine, m, leads, None, AS_OF)
    assert len(rows) == len(LEADS) * len(m.explain)
    from_sql = {}
    for row in rows:  # the `sticky` and `previous_tier` steps' text
        if row[2] in ("sticky", "previous_tier"):
            from_sql.setdefault(row[0], {})["held" if row[2] == "sticky" else row[2]] = row[11]
    held = {k: sticky(explain(m, leads, None, k, AS_OF)) for k in leads.keys}
    assert from_sql == held
    assert held["a"] == {"held": "mql", "previous_tier": "mql"}
    assert held["c"] == {"held": None, "previous_tier": "mql"}  # sql is higher: not held
    assert held["d"] == {"held": "mql", "previous_tier": "sql"}
    assert held["b"] == {"held": None, "previous_tier": None}


def sticky(ex) -> dict:
    """What an explanation says stickiness did: the tier held and the previous tier."""
    return {"held": ex.of("sticky")[0].text, "previous_tier": ex.of("previous_tier")[0].text}


def test_explain_cli_shows_the_held_tier_and_the_matrix(tmp_path):
    path = tmp_path / "m.score"
    path.write_text(MODEL % {"table": ""})
    write_csv(tmp_path / "leads.csv", True)
    args = ["explain", str(path), "--leads", str(tmp_path / "leads.csv"),
            "--as-of", "2026-03-01T00:00:00Z", "--lead"]
    res = CliRunner().invoke(main, args + ["d"])
    assert res.exit_code == 0, res.output
    assert "tier mql (held from sql: its gate does not hold)" in res.output
    assert "held at mql (sticky, previous tier sql)" in res.output
    assert "grade A, matrix A2" in res.output
    res = CliRunner().invoke(main, args + ["c", "--format", "json"])
    steps = {s["kind"]: s for s in json.loads(res.output)["steps"]}
    assert (steps["sticky"]["text"], steps["previous_tier"]["text"]) == (None, "mql")


@pytest.mark.parametrize("text,where,message", [
    ("tiers { cold sticky; warm at 1 }", (3, 14), "the lowest tier `cold` cannot be sticky"),
    ("account by band { score = count(lead)  tiers { a; b at 2 sticky } }", (3, 58),
     "account tiers cannot be sticky"),
    ("tiers { cold; warm at 1 }\n"
     'test "t" { as_of 2026-03-01  lead { band: 1 }  previous_tier warm  expect tier == warm }',
     (4, 62), "`previous_tier` needs a sticky tier in the model"),
    ("tiers { cold; warm at 1 }\ngrade s { A at 1; B }\nlet matrix = 1", (5, 5),
     "`matrix` is already the output column `matrix`"),
])
def test_located_errors(text, where, message):
    src = "schema { lead { key id  field band: int } }\nscore s { rule \"r\" +1 when band > 0 }\n"
    with pytest.raises(CompileError) as err:
        compile_source(src + text)
    found = [(d.span.line, d.span.column, d.message) for d in err.value.diagnostics]
    assert any((line, col) == where and message in msg for line, col, msg in found), found


def test_matrix_is_a_name_like_any_other_without_both_grade_and_tiers():
    src = ("schema { lead { key id  field band: int } }\nlet matrix = band\n"
           'score s { rule "r" +1 when matrix > 0 }\ntiers { cold; warm at 1 }\n')
    m = compile_source(src)
    assert "matrix" not in [c for c, _ in m.outputs]


TESTED = MODEL % {"table": ""} + """
test "held at mql" {
  as_of 2026-03-01T00:00:00Z
  lead { id: "t", band: 40, ok: true }
  previous_tier sql
  expect tier == mql
  expect matrix == "B2"
}
test "no previous tier" {
  as_of 2026-03-01T00:00:00Z
  lead { id: "t", band: 40, ok: true }
  expect tier == nurture
}
"""


def test_test_blocks_give_the_previous_tier(tmp_path):
    path = tmp_path / "m.score"
    path.write_text(TESTED)
    res = CliRunner().invoke(main, ["test", str(path)])
    assert res.exit_code == 0, res.output
    assert "2 tests, 6 expectations on python, duckdb: ok" in res.output
    path.write_text(TESTED.replace("expect tier == mql", "expect tier == nurture"))
    res = CliRunner().invoke(main, ["test", str(path)])
    assert res.exit_code != 0 and "mql" in res.output


def test_fmt_prints_sticky_and_previous_tier_canonically():
    out = format_source(TESTED.replace("mql at 100 sticky require ok",
                                       "mql   at 100   sticky   require ok"), "m.score")
    assert "  mql at 100 sticky require ok\n" in out
    assert "  previous_tier sql\n" in out
    assert format_source(out, "m.score") == out
    assert "`sticky` at 5" in format_source(
        "schema { lead { key id } }\ntiers { cold; `sticky` at 5 }\n", "m.score")


def test_ir_file_round_trips_and_refuses_a_retyped_previous_tier(tmp_path):
    m = model()
    path = tmp_path / "m.ir.json"
    path.write_text(m.dumps())
    loaded = leadscore.load(path)
    assert loaded.ir.to_json() == m.to_json()
    edited = m.to_json()
    edited["schema"]["lead_fields"][PREVIOUS_TIER] = "int"
    path.write_text(json.dumps(edited))
    with pytest.raises(CompileError, match="previous tier"):
        leadscore.load(path)


def test_compile_prints_the_column_only_when_told(tmp_path):
    path = tmp_path / "m.score"
    path.write_text(MODEL % {"table": ""})
    plain = CliRunner().invoke(main, ["compile", str(path), "--dialect", "postgres"])
    told = CliRunner().invoke(main, ["compile", str(path), "--dialect", "postgres",
                                     "--previous-tier"])
    assert plain.exit_code == told.exit_code == 0
    assert PREVIOUS_TIER not in plain.output and f'"{PREVIOUS_TIER}"' in told.output
