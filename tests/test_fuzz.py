"""Fuzzing: whatever text or bytes come in, the answer is success or located diagnostics.

Inputs: valid programs (tests/generators.py, the conformance corpus and examples/), mutations
of them (tokens deleted, duplicated, swapped, replaced or moved; truncation; random characters
inserted) and raw bytes. The only allowed outcomes are a compiled model (whose Python and SQL
code generation then also succeeds) or a `CompileError` whose every diagnostic has a span
inside the file it names and renders. Never another exception, never a hang: each example
runs under an alarm (`LEADSCORE_FUZZ_TIMEOUT` seconds, default 10).

The data side gets the same treatment: random CSV bytes and structured-but-messy CSV files for
leads and events load (with rejects), or raise `DataError`; loaded data then scores, and the
loader's columnar strategy (runtime/fastload.py) gives its row strategy's answer or hands over.

Bounded for CI. For a long local run (see docs/robustness.md):

    LEADSCORE_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz.py --hypothesis-show-statistics
"""

from __future__ import annotations

import os
import re
import signal
import tomllib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from leadscore.backends.python import compile_python
from leadscore.backends.sql import SqlUnsupported, to_sql
from leadscore.cli import main
from leadscore.compiler import CompileError, compile_file, compile_source, ir
from leadscore.compiler.diagnostics import SHOWN_LINE
from leadscore.compiler.parse import NOT_A_MODEL
from leadscore.engines import DUCKDB
from leadscore.runtime import fastload
from leadscore.runtime.data import (
    DataError,
    read_events,
    read_events_by_row,
    read_leads,
    read_leads_by_row,
)
from leadscore.runtime.engines import run_python

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent

try:  # the random model generator, when it is there
    from generators import models as generated_models
except ImportError:  # pragma: no cover - the corpus alone still gives valid programs
    generated_models = None

from generators import SCHEMA_TEXT, import_paths, score_string, sized_models  # noqa: E402
from leadscore.compiler.imports import MAX_IMPORT_DEPTH  # noqa: E402
from leadscore.compiler.parse import MAX_LINES, MAX_NESTING, MAX_SOURCE_BYTES, MAX_STRING  # noqa: E402
from leadscore.compiler.resolve import MAX_RULES  # noqa: E402

# ---------------------------------------------------------------- settings
EXAMPLES_ENV = "LEADSCORE_FUZZ_EXAMPLES"
TIMEOUT_ENV = "LEADSCORE_FUZZ_TIMEOUT"
TIMEOUT = float(os.environ.get(TIMEOUT_ENV, "10"))


def fuzz(default: int):
    """Hypothesis settings: `default` examples in CI, LEADSCORE_FUZZ_EXAMPLES for a long run.

    No hypothesis deadline: slowness is judged by the alarm in `time_limit`, which also
    catches a real hang instead of waiting for it to end.
    """
    n = int(os.environ.get(EXAMPLES_ENV, default))
    return settings(max_examples=n, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


class Hang(BaseException):  # a BaseException, so no `except Exception` in the code swallows it
    pass


def event(label: str) -> None:
    """Count an outcome for --hypothesis-show-statistics (a no-op outside hypothesis)."""
    try:
        _event(label)
    except InvalidArgument:
        pass


@contextmanager
def time_limit(seconds: float = TIMEOUT) -> Iterator[None]:
    if not hasattr(signal, "setitimer"):  # pragma: no cover - Windows: no alarm, no check
        yield
        return
    expired = []

    def on_alarm(signum, frame):
        expired.append(True)
        raise Hang(f"no answer after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    if expired:  # raised where it was swallowed (a gc callback): slow all the same
        raise Hang(f"took more than {seconds:g} s")


# ---------------------------------------------------------------- seeds: valid programs
def _corpus_programs() -> list[str]:
    """Every model text of the conformance corpus and the examples, once each."""
    texts: list[str] = []
    for p in sorted((TESTS / "conformance").glob("*.toml")):
        data = tomllib.loads(p.read_text("utf-8"))
        if "error" in data:  # a case whose model must fail to compile: a bad seed
            BAD_SEEDS.append(data["model"])
        elif "model" in data:
            texts.append(data["model"])
        elif "model_file" in data:
            texts.append((ROOT / data["model_file"]).read_text("utf-8"))
    for p in sorted((ROOT / "examples").rglob("*.score")):
        texts.append(p.read_text("utf-8"))
    return list(dict.fromkeys(texts))


# the error corpus: invalid programs are good starting points for mutations too
BAD_SEEDS = [p.read_text("utf-8") for p in sorted((TESTS / "errors").glob("*.score"))]
SEEDS = _corpus_programs()

_TOKEN = re.compile(r'''"(?:\\.|[^"\\\n])*"?|`[^`\n]*`?|\#[^\n]*|[0-9]+(?:\.[0-9]+)?[A-Za-z]*
                        |[A-Za-z_][A-Za-z0-9_]*|\.\.|==|!=|<=|>=|\s+|.''', re.S | re.X)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


# Replacement tokens: everything the seeds use, plus the edges of what literals may hold.
VOCAB = sorted({t for s in SEEDS for t in tokens(s) if not t.isspace()} | {
    "99999999999999999999999999", "1e308", "1e999", "0d", "-1d", "0h", "100000000000d",
    "0.000000001", "-0", '"', "`", '"\\', '"\\u', '"\\x', '""', "``", "(", ")", "{", "}", "[",
    "]", "..", "import", '"/dev/null"', '"."', "test", "expect", "account", "let", "\t", "\r",
    "\x00", "\x0c", "\u2028", "\ufeff", "é", "🦆", "{{{{", "((((", "#",
})
SPICE = "{}()[]\"`#\\.,;:=<>!+-*/%^$|?~@&'0123456789 \t\r\n\x00\x0b\x0c\x1c\x85\u2028\ufeffaeé🦆"


def valid_programs() -> st.SearchStrategy[str]:
    corpus = st.sampled_from(SEEDS)
    if generated_models is None:
        return corpus
    return st.one_of(corpus, generated_models().map(lambda m: m.text))


@st.composite
def mutated_programs(draw) -> str:
    """A valid (sometimes invalid) program with 1-4 token-level or character-level mutations."""
    valid = draw(st.integers(0, 3)) > 0
    text = draw(valid_programs() if valid else st.sampled_from(BAD_SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        toks = tokens(text)
        op = draw(st.sampled_from(["delete", "delete", "duplicate", "swap", "replace", "move",
                                   "insert", "truncate"]))
        if not toks:
            op = "insert"
        i = draw(st.integers(0, max(0, len(toks) - 1)))
        if op == "delete":
            del toks[i]
        elif op == "duplicate":
            toks.insert(i, toks[i])
        elif op == "swap":
            j = draw(st.integers(0, len(toks) - 1))
            toks[i], toks[j] = toks[j], toks[i]
        elif op == "replace":
            toks[i] = draw(st.sampled_from(VOCAB))
        elif op == "move":
            t = toks.pop(i)
            toks.insert(draw(st.integers(0, len(toks))), t)
        text = "".join(toks)
        if op == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.text(SPICE, min_size=1, max_size=6)) + text[at:]
        elif op == "truncate":
            text = text[:draw(st.integers(0, len(text)))]
    event(f"mutations of a{' valid' if valid else 'n invalid'} program")
    return text


# ---------------------------------------------------------------- the oracle
def _check_located(err: CompileError, what: str) -> None:
    assert err.diagnostics, f"a CompileError without diagnostics for {what}"
    for d in err.diagnostics:
        assert d.span is not None, f"a diagnostic without a location: {d.message!r}"
        if d.code == NOT_A_MODEL and d.span.path not in err.sources:  # shows none of the file
            assert d.render(err.sources).count("\n") == 1, d.render(err.sources)
            continue
        src = err.sources.get(d.span.path)
        assert src is not None, f"{d.span}: the diagnostic names a file whose text is unknown"
        lines = src.text.split("\n")  # the parser counts lines by "\n" only
        s = d.span
        assert 1 <= s.line <= len(lines), f"{s}: line outside the file ({len(lines)} lines)"
        assert 1 <= s.column <= len(lines[s.line - 1]) + 1, (
            f"{s}: column outside its line ({len(lines[s.line - 1])} characters): {d.message}")
        assert (s.end_line, s.end_column) >= (s.line, s.column), f"{s}: the span ends before it starts"
        assert "\n" not in d.message, f"{s}: a message of several lines: {d.message!r}"
        shown = d.render(err.sources).split("\n")
        # the source line as shown: control characters (tab, form feed, \u2028) as one space
        line = "".join(c if c.isprintable() else " " for c in lines[s.line - 1].removesuffix("\r"))
        if len(line) <= SHOWN_LINE:
            gutter = f"{s.line:>4} | "
            assert shown[1] == gutter + line, f"{s}: wrong source line shown:\n" + "\n".join(shown)
            assert shown[2].index("^") == len(gutter) + s.column - 1, "\n".join(shown)
    text = err.render()
    err.render(color=True)
    first = err.diagnostics[0]
    assert text.startswith(f"{first.span}: {first.severity}: "), text[:300]


def outcome(text: str, path: Path, seconds: float = TIMEOUT) -> str:
    """Compile `text` as the file `path`: success (with code generation) or located errors."""
    try:
        with time_limit(seconds):
            try:
                model = compile_source(text, str(path))
            except CompileError as err:
                _check_located(err, repr(text[:200]))
                event("outcome: located errors")
                return "error"
            _generate(model)
    except Hang as hang:
        pytest.fail(f"{hang} compiling a {len(text)}-character program")
    event("outcome: compiled")
    return "ok"


def _generate(model: ir.Model) -> None:
    with warnings.catch_warnings():  # generated code must compile cleanly: a warning would
        warnings.simplefilter("error", SyntaxWarning)  # be printed to users on every run
        compile_python(model)
    try:
        to_sql(model, DUCKDB, 1772323200000000)
    except SqlUnsupported as err:  # allowed only when located in the source
        assert err.where, f"SqlUnsupported without a location: {err}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A directory of its own: an `import` a mutation makes up resolves inside it."""
    return tmp_path_factory.mktemp("fuzz")


# ---------------------------------------------------------------- programs
def test_seeds_are_valid(workdir):
    assert len(SEEDS) >= 50
    for text in SEEDS:
        assert outcome(text, workdir / "seed.score") == "ok", text[:500]


@fuzz(120)
@given(text=valid_programs())
def test_valid_programs_compile(workdir, text):
    outcome(text, workdir / "valid.score")


@fuzz(500)
@given(text=mutated_programs())
def test_mutated_programs(workdir, text):
    outcome(text, workdir / "mutated.score")


@fuzz(400)
@given(data=st.one_of(st.binary(max_size=400),
                      st.builds(lambda s, b: s.encode()[:len(s) // 2] + b, st.sampled_from(SEEDS),
                                st.binary(min_size=1, max_size=40)),
                      st.text(SPICE, max_size=200).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_raw_bytes(workdir, data):
    path = workdir / "raw.score"
    path.write_bytes(data)
    try:
        with time_limit():
            try:
                compile_file(path)
            except CompileError as err:
                _check_located(err, repr(data[:200]))
                event("outcome: located errors")
                return
    except Hang as hang:
        pytest.fail(f"{hang} compiling {len(data)} bytes")
    event("outcome: compiled")


@fuzz(50)
@given(text=mutated_programs())
def test_cli_check_never_shows_a_traceback(workdir, text):
    path = workdir / "cli.score"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with time_limit():
        res = CliRunner().invoke(main, ["check", str(path)])
    assert res.exit_code in (0, 1), res.output[-2000:]
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output and "internal error" not in res.output


# ---------------------------------------------------------------- data
MODEL_SOURCE = """
schema {
  lead { key id  created created_at  field n: int  field x: float  field ok: bool  field name: text }
  event { lead lead_id  time ts  type kind  types open, visit  field v: float  field page: text }
}
score s {
  rule "big"   +10 when n >= 5
  rule "rich"  +5 when x > 1.5 and ok
  rule "named" +1 when name matches "^a"
  rule "opens" +2 per event open within 30d cap 10
  rule "pages" +1 per event visit where page starts_with "/p" and v > 0
}
tiers { cold; warm at 5 }
"""
MODEL = compile_source(MODEL_SOURCE, "fuzz.score")
AS_OF_US = 1772323200000000
LEAD_COLUMNS = ["id", "created_at", "n", "x", "ok", "name"]
EVENT_COLUMNS = ["lead_id", "ts", "kind", "v", "page"]
CELLS = ["", "a", "b", "A", " a ", "1", "5", "-3", "2.5", "1e400", "nan", "inf", "yes", "no",
         "maybe", "2026-02-01", "2026-02-01T10:00:00Z", "2026-02-30", "2026-02-01T10:00:00+25:00",
         "9999-12-31T23:59:59", "0001-01-01", "open", "visit", "OPEN", "other", "/pricing",
         '"quoted, comma"', '"two\nlines"', '"unterminated', 'a"b', "é", "\x00", "\ufeff",
         "99999999999999999999999", "1" + "0" * 400, '"a"b', "\r"]


@st.composite
def messy_csv(draw, columns: list[str]) -> tuple[bytes, str | None]:
    """CSV that is almost right: the schema's columns (some missing, extra, duplicated or
    reordered), rows of plausible and broken cells, any delimiter, BOM and line endings.
    With the delimiter to pass (None: let the loader detect it; sometimes a wrong one)."""
    header = draw(st.permutations(columns))
    if draw(st.integers(0, 9)) == 9:  # hypothesis favours small draws: the rare case is the high one
        header = header[: draw(st.integers(0, len(header)))]
    if draw(st.booleans()):
        header = header + draw(st.lists(st.sampled_from(["extra", "owner", "", " x "]), max_size=2))
    delim = draw(st.sampled_from([",", ",", ",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    width = len(header)
    rows = draw(st.lists(st.lists(st.sampled_from(CELLS), min_size=max(0, width - 1),
                                  max_size=width + 1), max_size=12))
    if rows and draw(st.integers(0, 19)) == 19:  # a value over the csv module's field limit
        rows[-1] = rows[-1][:1] + ["y" * 140_000] + rows[-1][2:]
    text = newline.join([delim.join(header)] + [delim.join(r) for r in rows])
    if draw(st.booleans()):
        text += newline
    raw = text.encode("utf-8")
    if draw(st.integers(0, 5)) == 0:
        raw = b"\xef\xbb\xbf" + raw
    if draw(st.integers(0, 9)) == 9:
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    given_delim = draw(st.sampled_from([None, None, None, delim, delim, delim, ","]))
    return raw, given_delim


def load_and_score(leads: tuple[bytes, str | None], events: tuple[bytes, str | None], tmp: Path,
                   strict: bool) -> str:
    """Load both files, then score what loaded: only rejects or a DataError may come out."""
    lp, ep = tmp / "leads.csv", tmp / "events.csv"
    lp.write_bytes(leads[0])
    ep.write_bytes(events[0])
    _same_as_fastload(lp, leads[1], strict, "leads")
    _same_as_fastload(ep, events[1], strict, "events")
    try:
        with time_limit():
            try:
                ls = read_leads(lp, MODEL.schema, leads[1], strict)
                es = read_events(ep, MODEL.schema, events[1], strict)
            except DataError as err:
                assert str(err).strip(), "a DataError without a message"
                msg = str(err)
                kind = ("stopped by --strict" if "--strict" in msg else "missing columns"
                        if "missing column" in msg else re.sub(r"\d+", "N", msg.split(": ", 1)[-1][:30]))
                event(f"data: DataError: {kind}")
                return "error"
            for r in ls.rejects + es.rejects:
                assert r.row >= 1 and r.reason, r
                str(r)
            assert ls.read == len(ls.keys) + len(ls.rejects)
            assert es.read == len(es.leads) + len(es.rejects)
            rows = run_python(MODEL, ls, es, AS_OF_US)
    except Hang as hang:
        pytest.fail(f"{hang} loading {len(leads[0])} + {len(events[0])} bytes")
    assert [r[0] for r in rows] == sorted(ls.keys)
    event(f"data: loaded, {'some' if ls.rejects or es.rejects else 'no'} rejects")
    return "ok"


def _same_as_fastload(path: Path, delimiter: str | None, strict: bool, side: str) -> None:
    """The columnar strategy gives the row strategy's answer, or hands over."""
    fast_read, slow_read, fields = {
        "leads": (fastload.read_leads_columnar, read_leads_by_row,
                  ("keys", "columns", "rows", "read", "rejects", "extra")),
        "events": (fastload.read_events_columnar, read_events_by_row,
                   ("leads", "times", "types", "columns", "read", "rejects", "extra"))}[side]
    try:
        slow = slow_read(path, MODEL.schema, delimiter, strict)
    except DataError as err:
        try:
            fast = fast_read(path, MODEL.schema, delimiter, strict)
        except DataError as fast_err:
            assert str(fast_err) == str(err)
            return
        assert fast is None, f"fastload read a file data.py refuses: {err}"
        return
    fast = fast_read(path, MODEL.schema, delimiter, strict)
    event(f"fastload: {'columnar' if fast is not None else 'handed to data.py'}")
    for f in fields if fast is not None else ():
        assert getattr(fast, f) == getattr(slow, f), f"fastload differs from data.py in {f}"


@fuzz(200)
@given(leads=messy_csv(LEAD_COLUMNS), events=messy_csv(EVENT_COLUMNS),
       strict=st.sampled_from([False, False, False, True]))
def test_messy_csv_gives_rejects_or_a_data_error(workdir, leads, events, strict):
    load_and_score(leads, events, workdir, strict)


@fuzz(150)
@given(leads=st.binary(max_size=300), events=st.binary(max_size=300))
def test_random_csv_bytes(workdir, leads, events):
    header_l, header_e = b"id,created_at,n,x,ok,name\n", b"lead_id,ts,kind,v,page\n"
    load_and_score((leads, None), (events, None), workdir, False)
    load_and_score((header_l + leads, None), (header_e + events, None), workdir, False)


@fuzz(25)
@given(leads=messy_csv(LEAD_COLUMNS), events=messy_csv(EVENT_COLUMNS), strict=st.booleans())
def test_cli_run_on_messy_csv(workdir, leads, events, strict):
    model = workdir / "model.score"
    model.write_text(MODEL_SOURCE, encoding="utf-8")
    (workdir / "l.csv").write_bytes(leads[0])
    (workdir / "e.csv").write_bytes(events[0])
    out = workdir / "out.csv"
    out.unlink(missing_ok=True)
    args = ["run", str(model), "--leads", str(workdir / "l.csv"), "--events",
            str(workdir / "e.csv"), "--as-of", "2026-03-01T00:00:00Z", "--engine", "python",
            "--out", str(out)] + (["--strict"] if strict else [])
    if leads[1] is not None and leads[1] == events[1]:
        args += ["--delimiter", leads[1]]
    with time_limit():
        res = CliRunner().invoke(main, args)
    assert res.exit_code in (0, 1), res.output[-2000:]
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output and "internal error" not in res.output
    assert out.exists() == (res.exit_code == 0)
    if res.exit_code == 0:
        assert re.search(r"leads: \d+ read, \d+ scored, \d+ rejected", res.output), res.output



# ---------------------------------------------------------------- ReDoS shapes
try:
    from generators import pathological_patterns, pathological_values
except ImportError:  # pragma: no cover
    pathological_patterns = None


@pytest.mark.skipif(pathological_patterns is None, reason="tests/generators.py is not there")
@fuzz(150)
@given(data=st.data())
def test_pathological_patterns_answer_in_linear_time(workdir, data):
    """Nested quantifiers and overlapping alternations compile, score hostile values within
    the alarm in the Python evaluator (RE2), and their rewrite for backtracking engines
    (MariaDB/MySQL, Spark) finds the same matches."""
    import leadscore
    from leadscore.compiler.regex import compile_portable, searcher
    from leadscore.engines import DIALECTS

    pattern = data.draw(pathological_patterns())
    values = data.draw(st.lists(pathological_values(data.draw(st.sampled_from([33, 5000]))),
                                min_size=1, max_size=4))
    text = ('model "m"\nschema {\n  lead {\n    key id\n    field v: text\n  }\n}\n'
            f'score s {{\n  rule "r" +1 when v matches "{pattern.replace(chr(92), chr(92) * 2)}"\n}}\n')
    with time_limit():
        model = compile_source(text, "m.score")
        rx = compile_portable(pattern)
        rewritten = searcher(rx.backtracking_safe(end="\\z", dot="."))
        for dialect in ("mysql", "spark"):
            to_sql(model, dialect=DIALECTS[dialect])
        leads = [{"id": str(i), "v": v} for i, v in enumerate(values)]
        rows = leadscore.loads(text).score(leads, [], "2024-01-01T00:00:00Z")
        for value, row in zip(values, rows):
            found = rx.search(value.lower())
            assert rewritten(value.lower()) == found, (pattern, value)
            assert row["s"] == (1.0 if found else 0.0), (pattern, value)


# ---------------------------------------------------------------- import paths and sizes
SECRET = "fuzz-fake-secret-51d0"


@pytest.fixture(scope="module")
def import_tree(tmp_path_factory) -> Path:
    """A model directory with what hostile paths reach for: a secret beside it, links out
    and in circles, a FIFO, a directory named like a model."""
    top = tmp_path_factory.mktemp("imports")
    (top / "outside").mkdir()
    (top / "outside" / "secret.score").write_text(f"TOKEN={SECRET}\n")
    proj = top / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / "base.score").write_text("let base_ok = 1\n")
    (proj / "sub" / "base.score").write_text('import "../base.score"\n')
    (proj / "link.score").symlink_to(top / "outside" / "secret.score")
    (proj / "outside").symlink_to(top / "outside", target_is_directory=True)
    (proj / "loop.score").symlink_to("loop.score")
    os.mkfifo(proj / "fifo.score")
    (proj / "dir.score").mkdir()
    return proj


@fuzz(150)
@given(path=import_paths())
def test_import_paths(import_tree, path):
    # any path: the model compiles or the import is a located error; never a hang (a FIFO),
    # never a line of a file outside the tree
    text = f"import {score_string(path)}\n" + SCHEMA_TEXT
    try:
        with time_limit():
            compile_source(text, str(import_tree / "m.score"))
    except CompileError as err:
        _check_located(err, repr(path))
        assert SECRET not in err.render(), err.render()
        event("outcome: located errors")
        return
    except Hang as hang:
        pytest.fail(f"{hang} importing {path!r}")
    event("outcome: compiled")


@fuzz(15)
@given(case=sized_models({"MAX_STRING": MAX_STRING, "MAX_LINES": MAX_LINES,
                          "MAX_SOURCE_BYTES": MAX_SOURCE_BYTES, "MAX_NESTING": MAX_NESTING,
                          **({"MAX_RULES": MAX_RULES} if os.environ.get(EXAMPLES_ENV) else {})}))
def test_sizes_at_the_limits(workdir, case):
    # just under, at and just past each limit: compiled, or a located error naming it (a
    # model of MAX_RULES rules takes about 40 s to compile and generate: long runs only)
    what, text = case
    event(f"size: {what}")
    outcome(text, workdir / "sized.score", seconds=max(TIMEOUT, 60))


@pytest.mark.parametrize("depth", [MAX_IMPORT_DEPTH, MAX_IMPORT_DEPTH + 1])
def test_import_depth_at_the_limit(tmp_path, depth):
    # the root imports c1, which imports c2, ...: c{depth} is `depth` imports deep
    for i in range(1, depth):
        (tmp_path / f"c{i}.score").write_text(f'import "c{i + 1}.score"\n')
    (tmp_path / f"c{depth}.score").write_text(SCHEMA_TEXT)
    got = outcome('import "c1.score"\n', tmp_path / "root.score")
    assert got == ("ok" if depth <= MAX_IMPORT_DEPTH else "error")
