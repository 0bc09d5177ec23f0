"""The IR: typed nodes with named children and spans, written to JSON and read back whole."""

import json
import subprocess
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from leadscore.compiler import CompileError, compile_file, compile_source, ir, load_ir
from leadscore.compiler.diagnostics import Span
from leadscore.compiler.ir_json import _OPERANDS, IR_FORMAT, MAX_IR_DEPTH, from_json, to_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.score"))
CASES = [tomllib.loads(p.read_text("utf-8")) | {"name": p.stem}
         for p in sorted((ROOT / "tests" / "conformance").glob("*.toml"))]
MODELS = [(c["name"], c["model"], f"{c['name']}.score") for c in CASES
          if "error" not in c and "model" in c]


def _models():
    for name, text, path in MODELS:
        yield name, compile_source(text, path)
    for p in EXAMPLES:
        yield p.name, compile_file(p)
    yield "or", compile_source("""
schema { lead { key id  field a: int  field b: text } }
score s { rule "either" +5 when a > 3 or b == "x" }
""", "or.score")
    # a total that can be null, clamped: `min`/`max` only past the case's test for null
    yield "clamp", compile_source("""
schema { lead { key id  field a: int } }
score s { rule "r" +5 when a > 3 }
score t { rule "q" +1 when a > 5 }
total = s / t
clamp total 0..10
""", "clamp.score")


def test_every_model_round_trips_through_json():
    seen: set[str] = set()
    for name, m in _models():
        text = json.dumps(to_json(m))
        back = from_json(json.loads(text))
        assert back == m, name
        assert json.dumps(to_json(back)) == text, name  # spans and fold data survive too
        for root in ir.roots(m):
            seen.update(n.key for n in ir.walk(root))
    # the corpus exercises every kind of node (`days` lives only inside a fade's weight, `local`
    # only in an evaluator's translation of it), so the generic JSON code is tested on each
    assert set(ir.OPS) - seen == {"days", "local"}


def test_nodes_declare_their_children():
    for key, cls in ir.OPS.items():
        names = {f.name for f in fields(cls)}
        assert set(cls.CHILDREN) <= names, key
        assert cls.key == key


def test_every_node_is_typed_when_an_ir_file_is_read():
    # a new node's operand types go in ir_json._OPERANDS (or _Typing.node): these are the
    # nodes without fixed operand types, each typed by _Typing itself
    assert set(ir.OPS) - set(_OPERANDS) == {"const", "field", "ev_field", "ev_type", "ev_age",
                                            "agg", "ref", "cmp", "in", "is_null", "when", "case",
                                            "local"}


def test_spans_are_kept_out_of_equality():
    a = ir.num(1, Span("a.score", 1, 1, 1, 2))
    b = ir.num(1, Span("b.score", 9, 9, 9, 10))
    assert a == b and hash(a) == hash(b) and a.span != b.span


def test_expressions_carry_their_source_spans():
    m = compile_file(ROOT / "examples" / "reference.score")
    assert all(r.span is not None and r.span.path.endswith("reference.score") for r in m.rules)
    assert all(a.span is not None for a in m.aggregates if a.fn != "min" or a.value != ir.AGE)
    gates = [g for gs in m.gates.values() for g in gs]
    assert gates and all(g.text and g.span for g in gates)
    assert "demo_request" in gates[0].text


def test_fold_data_on_aggregates():
    m = compile_source("""
schema { lead { key id }  event { lead lead_id  time at  type kind } }
score s {
  rule "a" +1 per event x within 30d
  rule "b" +1 per event x half_life 7d
  rule "c" +1 per event y lifespan 10d
  rule "d" +1 per event x at most once per 7d
}
""", "fold.score")
    by = {(a.fn, a.window, a.fade, a.period) for a in m.aggregates}
    assert ("count", 30, None, None) in by
    assert ("sum", None, ir.Fade("half_life", 7), None) in by
    assert ("sum", None, ir.Fade("lifespan", 10), None) in by
    assert ("count_distinct", None, None, 7) in by
    for a in m.aggregates:  # the filter and value read the age only through the fold data
        assert not any(isinstance(n, ir.EvAge) for n in ir.walk(a.where))


def test_bad_ir_files_are_located_errors(tmp_path):
    for text in ("{", "[]", json.dumps({"format": IR_FORMAT + 1}), json.dumps({"format": IR_FORMAT})):
        with pytest.raises(CompileError) as err:
            load_ir(text, "m.ir.json")
        d = err.value.diagnostics[0]
        assert d.span.path == "m.ir.json" and "IR" in d.message


def _hostile() -> list[tuple[str, str]]:
    """(what, IR text): a compiled model edited the ways an attacker or a bad merge would."""
    good = to_json(compile_file(ROOT / "examples" / "reference.score"))
    out = []

    def edit(what: str, change) -> None:
        d = json.loads(json.dumps(good))
        change(d)
        out.append((what, json.dumps(d)))

    def find(d, key):
        stack = [d]
        while stack:
            x = stack.pop()
            if isinstance(x, dict):
                if x.get("node") == key:
                    return x
                stack.extend(x.values())
            elif isinstance(x, list):
                stack.extend(x)
        raise LookupError(key)

    edit("operator", lambda d: find(d, "cmp").update(op="== 0 or __import__('os').system('id') or 1 =="))
    edit("aggregate id", lambda d: d["aggregates"][0].update(id="__import__('os')"))
    edit("aggregate fn", lambda d: d["aggregates"][0].update(fn="exec"))
    edit("unknown binding", lambda d: find(d, "ref").update(name="nowhere"))
    edit("nullability", lambda d: d["bindings"][-1].update(nullable=not d["bindings"][-1]["nullable"]))
    edit("type", lambda d: find(d, "const").update(type="code"))
    edit("constant", lambda d: find(d, "const").update(value={"x": 1}))
    edit("pattern", lambda d: find(d, "regex").update(pattern="(a+)+(?=b)"))
    edit("field", lambda d: find(d, "field").update(name="not_declared"))
    edit("span", lambda d: find(d, "cmp").update(span=["x", "1", 1, 1, 2]))
    edit("fade", lambda d: next(a for a in d["aggregates"] if a["fade"]).update(
        fade={"kind": "x", "days": 1}))
    out.append(("nesting", '{"format": 1, "model": ' + "[" * 100_000 + "]" * 100_000 + "}"))
    # what the compiler types and builds, edited: each would crash an evaluator or make the
    # engines disagree if it were let in
    text = {"node": "field", "name": "title", "type": "text"}
    nullable = {"node": "field", "name": "employees", "type": "number"}
    edit("text in arithmetic", lambda d: find(d["bindings"], "arith").update(
        left={"node": "const", "value": "x", "type": "text"}))
    edit("text compared with a number", lambda d: find(  # the grade's score >= threshold
        next(b for b in d["bindings"] if b["name"] == "grade"), "cmp").update(left=text))
    edit("a field of another type", lambda d: find(d, "field").update(type="bool"))
    edit("a when outside its case", lambda d: d["bindings"][0].update(
        expr=find(d["bindings"][0], "when")))
    edit("a case without branches", lambda d: find(d["bindings"], "case").update(whens=[]))
    edit("a null into min/max", lambda d: find(d, "extreme").update(left=nullable))
    edit("a floor of anything", lambda d: find(d, "floor").update(value=nullable))
    edit("a non-finite constant", lambda d: find(d, "const").update(value=float("nan"), type="number"))
    edit("an integer past float", lambda d: find(d, "const").update(value=10**400, type="number"))
    edit("in items as one text", lambda d: find(d, "in").update(items="page_view"))
    edit("in items of another type", lambda d: find(d, "in").update(items=[1]))
    edit("a sum of nothing", lambda d: next(a for a in d["aggregates"] if a["fn"] == "sum").update(
        value=None, fade=None))
    edit("a fade and a period", lambda d: next(a for a in d["aggregates"] if a["fade"]).update(period=7))
    edit("a filter on the age", lambda d: d["aggregates"][0].update(where={
        "node": "cmp", "op": "<", "left": {"node": "ev_age"},
        "right": {"node": "const", "value": 1.0, "type": "number"}}))
    edit("an account fold with a window", lambda d: d["account"]["aggregates"][0].update(window=7))
    edit("an output renamed", lambda d: d["outputs"][0].__setitem__(0, "other"))
    edit("a tier that is a number", lambda d: next(b for b in d["bindings"] if b["name"] == "tier").update(
        expr={"node": "const", "value": 1.0, "type": "number"}, stage=0, nullable=False))
    edit("a test expecting an unknown column", lambda d: d["tests"][0]["expects"][0].update(column="x"))
    deep: dict = {"node": "const", "value": 1.0, "type": "number"}
    for _ in range(MAX_IR_DEPTH):
        deep = {"node": "neg", "value": deep}
    edit("nested past the bound", lambda d: find(d["bindings"], "arith").update(left=deep))
    return out


@pytest.mark.parametrize("what,text", _hostile(), ids=lambda v: v if len(v) < 30 else "")
def test_an_edited_ir_file_is_refused(what, text):
    with pytest.raises(CompileError) as err:
        load_ir(text, "m.ir.json")
    assert str(err.value.diagnostics[0].span) == "m.ir.json:1:1", what


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leadscore", *args], cwd=ROOT, capture_output=True,
                          text=True)


def test_a_compiled_model_scores_as_its_source_does(tmp_path):
    model = tmp_path / "m.ir.json"
    proc = _cli("compile", "examples/reference.score", "--ir")
    assert proc.returncode == 0, proc.stderr
    model.write_text(proc.stdout, encoding="utf-8")
    outs = []
    for src in ("examples/reference.score", str(model)):
        out = tmp_path / f"{len(outs)}.csv"
        proc = _cli("run", src, "--leads", "examples/data/leads.csv", "--events",
                    "examples/data/events.csv", "--as-of", "2026-03-01T00:00:00Z", "--out", str(out))
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and outs[0].count(b"\n") > 10


def test_a_broken_ir_file_fails_cleanly(tmp_path):
    bad = tmp_path / "bad.ir.json"
    bad.write_text('{"format": 1, "model": {}}', encoding="utf-8")
    proc = _cli("run", str(bad), "--leads", "examples/data/leads.csv", "--as-of",
                "2026-03-01T00:00:00Z")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "bad.ir.json:1:1" in proc.stderr


def test_commands_take_a_compiled_model(tmp_path):
    model = tmp_path / "m.ir.json"
    model.write_text(_cli("compile", "examples/reference.score", "--ir").stdout, encoding="utf-8")
    sql = _cli("compile", str(model), "--as-of", "2026-03-01T00:00:00Z")
    assert sql.returncode == 0 and sql.stdout == _cli(
        "compile", "examples/reference.score", "--as-of", "2026-03-01T00:00:00Z").stdout
    diff = _cli("diff", str(model), "examples/reference.score", "--leads", "examples/data/leads.csv",
                "--events", "examples/data/events.csv", "--as-of", "2026-03-01T00:00:00Z",
                "--format", "json")
    assert diff.returncode == 0, diff.stderr
    assert json.loads(diff.stdout)["moved"] == 0
    lint = _cli("lint", str(model))
    assert lint.returncode == 1 and "no rule-file source to lint" in lint.stdout + lint.stderr


def test_an_ir_file_cannot_make_an_error_show_another_file(tmp_path):
    d = to_json(compile_file(ROOT / "examples" / "starter.score"))
    regex = next(b for b in d["bindings"] if b["name"] == "rule:fit:0")["expr"]["whens"][0]["cond"]
    secret = tmp_path / "secret.txt"
    secret.write_text("password=hunter2\n", encoding="utf-8")
    regex["span"] = [str(secret), 1, 1, 1, 9]
    model = tmp_path / "m.ir.json"
    model.write_text(json.dumps(d), encoding="utf-8")
    proc = _cli("compile", str(model), "--dialect", "tsql")  # T-SQL has no `matches`
    assert proc.returncode == 1 and "cannot be compiled for tsql" in proc.stderr
    assert "hunter2" not in proc.stderr
    # a rule file's own line is still shown
    proc = _cli("compile", "examples/starter.score", "--dialect", "tsql")
    assert "title matches" in proc.stderr
