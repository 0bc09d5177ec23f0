"""Hostile rule files, imports and terminal output, through the CLI as a subprocess.

Rule files may come from an unreviewed pull request checked in CI where secrets live: an
import never reads outside the model's directory tree, never blocks, never echoes a file that
is not a model; limits are located errors, not a hang or an internal error; data holding
terminal escapes reaches the terminal escaped (docs/security.md). The corpus is
tests/hostile/rulefiles/; what git cannot hold (links, FIFOs, huge files) is made here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engines import engine_params, ensure
from leadscore.compiler.imports import MAX_IMPORT_DEPTH, MAX_IMPORT_FILES
from leadscore.compiler.parse import MAX_LINES, MAX_SOURCE_BYTES, MAX_STRING
from leadscore.compiler.resolve import MAX_RULES

HOSTILE = Path(__file__).parent / "hostile" / "rulefiles"
SECRET = "leadscore-fake-secret-7f3a9c"
AS_OF = "2026-03-01T00:00:00Z"
SCHEMA = ('schema {\n'
          '  lead { key id  field title: text  field employees: int }\n'
          '  event { lead lead_id  time occurred_at  type kind  types page_view\n'
          '          field page: text }\n'
          '}\n')
LOCATED = re.compile(r"^(?P<path>[^\n]+?):(?P<line>\d+):(?P<col>\d+): error: ", re.M)


def leadscore(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEADSCORE_SECRET_FOR_TEST": SECRET, "NO_COLOR": "1", "COLUMNS": "250"}
    env.pop("LEADSCORE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "leadscore", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=timeout)


def output(proc: subprocess.CompletedProcess) -> str:
    return (proc.stdout + proc.stderr).decode("utf-8", "replace")


def assert_clean(proc: subprocess.CompletedProcess) -> str:
    """No traceback, no internal error, no secret, no raw control character on the terminal."""
    text = output(proc)
    assert "Traceback" not in text and "internal error" not in text, text
    assert SECRET not in text, text
    raw = (proc.stdout + proc.stderr)
    assert b"\x1b" not in raw and b"\xc2\x9b" not in raw, text  # ESC, C1 CSI
    assert not re.search("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\x00-\x08\x7f]", text), text
    return text


def assert_located(proc: subprocess.CompletedProcess, message: str, line: int | None = None,
                   caret: bool = True) -> str:
    """A non-zero exit with `message` at file:line:col, its source line and a caret."""
    text = assert_clean(proc)
    assert proc.returncode != 0, text
    assert message in text, text
    where = LOCATED.search(text)
    assert where is not None, text
    if line is not None:
        assert int(where.group("line")) == line, text
    if caret:
        assert re.search(r"^\s*\d+ \| .*\n\s*\^+", text, re.M), text
    return text


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A model directory `proj/` beside a directory holding a secret (outside the tree)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    for name in ("secret.score", "secret.txt", ".env"):
        (outside / name).write_text(f"API_TOKEN={SECRET}\n")
    (outside / "model.score").write_text(SCHEMA + f'score s {{ rule "{SECRET}" +1 when employees > 1 }}\n')
    proj = tmp_path / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / "base.score").write_text(SCHEMA)
    (proj / "leads.csv").write_text("id,title,employees\nL1,vp,10\n")
    return proj


def model_importing(proj: Path, target: str, name: str = "m.score") -> Path:
    path = proj / name
    path.write_text(f'import "{target}"\nscore s {{ rule "x" +1 when employees > 1 }}\n')
    return path


# Every command that reads the model, as (argv...) after `leadscore`.
def commands(model: Path, proj: Path) -> list[list[str]]:
    m, leads = str(model), str(proj / "leads.csv")
    return [["check", m], ["lint", m], ["compile", m], ["run", m, "--leads", leads, "--as-of", AS_OF,
            "--engine", "python"], ["test", m, "--engine", "python"],
            ["explain", m, "--lead", "L1", "--leads", leads, "--as-of", AS_OF]]


# ---------------------------------------------------------------- imports


@pytest.mark.parametrize("target, message", [
    ("{outside}/secret.score", "an absolute path"),
    ("{outside}/model.score", "an absolute path"),
    ("/proc/self/environ", "an absolute path"),
    ("/dev/zero", "an absolute path"),
    ("../outside/secret.score", "outside the model's directory"),
    ("../outside/model.score", "outside the model's directory"),
    ("sub/../../outside/secret.score", "outside the model's directory"),
    ("../outside/.env", "only .score files"),
    ("../outside/secret.txt", "only .score files"),
], ids=["absolute", "absolute-model", "proc-environ", "dev-zero", "dotdot", "dotdot-model",
        "sub-dotdot", "dotenv", "txt"])
def test_an_import_outside_the_tree_is_refused_by_every_command(tree, target, message):
    model = model_importing(tree, target.format(outside=tree.parent / "outside"))
    for argv in commands(model, tree):
        assert_located(leadscore(*argv, cwd=tree), message, line=1)


def test_symbolic_links_are_resolved_before_the_tree_is_checked(tree):
    outside = tree.parent / "outside"
    (tree / "link.score").symlink_to(outside / "secret.score")
    (tree / "model_link.score").symlink_to(outside / "model.score")
    (tree / "env.score").symlink_to("/proc/self/environ")
    (tree / "dirlink").symlink_to(outside, target_is_directory=True)
    (tree / "txtlink.score").symlink_to(outside / "secret.txt")
    (tree / "sub" / "inside_txt.score").symlink_to(tree / "leads.csv")
    for target in ("link.score", "model_link.score", "env.score", "dirlink/secret.score",
                   "txtlink.score"):
        model = model_importing(tree, target)
        for argv in commands(model, tree)[:3]:
            assert_located(leadscore(*argv, cwd=tree), "outside the model's directory", line=1)
    model = model_importing(tree, "sub/inside_txt.score")
    assert_located(leadscore("check", str(model), cwd=tree), "not a .score file", line=1)


def test_a_linked_root_model_that_is_no_model_is_not_echoed(tree):
    # `leadscore check models/*.score` on a pull request that adds a link to a secret
    outside = tree.parent / "outside"
    (tree / "env.score").symlink_to("/proc/self/environ")
    (tree / "secret.score").symlink_to(outside / "secret.score")
    (tree / "binary.score").write_bytes(b"\xff\xfe" + SECRET.encode() + b"\n")
    for name in ("env.score", "secret.score", "binary.score"):
        for argv in [["check", name], ["lint", name], ["fmt", "--check", name], ["compile", name]]:
            proc = leadscore(*argv, cwd=tree)
            text = assert_clean(proc)
            assert proc.returncode != 0 and "not a model file" in text, text


def test_special_files_and_bad_paths_are_located_errors_that_never_block(tree):
    os.mkfifo(tree / "fifo.score")
    (tree / "dir.score").mkdir()
    (tree / "loop1.score").symlink_to("loop2.score")
    (tree / "loop2.score").symlink_to("loop1.score")
    (tree / "notmodel.score").write_text(f"API_TOKEN={SECRET}\n")
    (tree / "latin1.score").write_bytes(f"# {SECRET} caf\xe9\n".encode("latin-1"))
    (tree / "nul.score").write_bytes(b"schema {\x00" + SECRET.encode() + b"}\n")
    cases = [("fifo.score", "not a regular file"), ("dir.score", "a directory"),
             ("loop1.score", "symbolic link loop"), ("nope.score", "no such file"),
             ("notmodel.score", "not a model file"), ("latin1.score", "not a model file"),
             ("nul.score", "not a model file"), ("", "an empty path"),
             ("sub", "only .score files")]
    for target, message in cases:
        model = model_importing(tree, target)
        started = time.monotonic()
        assert_located(leadscore("check", str(model), cwd=tree, timeout=60), message, line=1)
        assert time.monotonic() - started < 30


def test_an_import_may_reach_a_sibling_inside_the_root_tree(tree):
    (tree / "shared").mkdir()
    (tree / "shared" / "fit.score").write_text('import "../base.score"\n'
                                              'score fit { rule "vp" +10 when title == "vp" }\n')
    model = model_importing(tree, "shared/fit.score")
    proc = leadscore("check", str(model), cwd=tree)
    assert proc.returncode == 0, output(proc)
    # the imported file's own directory is no root: it may not climb out of the model's
    (tree / "shared" / "up.score").write_text('import "../../outside/model.score"\n')
    model = model_importing(tree, "shared/up.score")
    assert_located(leadscore("check", str(model), cwd=tree), "outside the model's directory",
                   line=1)


def test_a_chain_of_1200_imports_is_a_located_error(tree):
    for i in range(1200):
        (tree / f"f{i}.score").write_text(f'import "f{i + 1}.score"\n' if i < 1199 else SCHEMA)
    for argv in (["check", "f0.score"], ["lint", "f0.score"], ["compile", "f0.score"]):
        text = assert_located(leadscore(*argv, cwd=tree), "imports nested too deeply", line=1)
        assert f"f{MAX_IMPORT_DEPTH}.score:1:8" in text, text


def test_imports_doubling_at_every_level_stop_at_the_file_limit(tree):
    # each file imports the next one twice: 2**20 reads without a total limit
    for i in range(20):
        (tree / f"d{i}.score").write_text(f'import "d{i + 1}.score"\nimport "d{i + 1}.score"\n')
    (tree / "d20.score").write_text('let x = 1\n')
    started = time.monotonic()
    assert_located(leadscore("check", "d0.score", cwd=tree), "too many imported files")
    assert time.monotonic() - started < 60
    assert MAX_IMPORT_FILES < 2 ** 20


def test_a_cycle_through_a_link_is_reported(tree):
    (tree / "a.score").write_text('import "b.score"\n')
    (tree / "b.score").symlink_to("a.score")
    assert_located(leadscore("check", "a.score", cwd=tree), "import cycle", line=1)


# ---------------------------------------------------------------- rule-file contents

BAD_FILES = [("bidi_comment.score", "bidirectional control character U+202E", 7),
             ("bidi_string.score", "bidirectional control character U+202E", 7),
             ("bidi_quoted_name.score", "bidirectional control character U+202E", 6),
             ("bidi_label.score", "bidirectional control character U+200F", 7),
             ("control_esc_label.score", "control character U+001B", 7),
             ("control_c1.score", "control character U+009B", 7),
             ("impossible_as_of.score", "`2026-02-30T00:00:00Z` is not a real date and time", 8),
             ("impossible_event_time.score", "`2026-02-01T24:30:00Z` is not a real date", 10)]


@pytest.mark.parametrize("name, message, line", BAD_FILES, ids=[n for n, _, _ in BAD_FILES])
def test_hostile_rule_files_are_located_errors_in_every_command(tmp_path, name, message, line):
    shutil.copy(HOSTILE / name, tmp_path / name)
    (tmp_path / "leads.csv").write_text("id,title,employees\nL1,vp,10\n")
    argv_list = commands(tmp_path / name, tmp_path)
    if not name.startswith("impossible"):  # fmt only parses: a test's date is the checker's
        argv_list.append(["fmt", "--check", str(tmp_path / name)])
    for argv in argv_list:
        assert_located(leadscore(*argv, cwd=tmp_path), message, line=line)


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\x85", "\x1c", "\x0b"],
                         ids=["u2028", "u2029", "nel", "fs", "vt"])
def test_a_character_that_breaks_a_line_in_some_editor_is_a_located_error(brk):
    # in a comment it would make the rest of the comment look like code
    from leadscore.compiler import CompileError, compile_source

    text = SCHEMA + "# a" + brk + 'score s { rule "r" +1 when employees > 1 }\n'
    with pytest.raises(CompileError) as err:
        compile_source(text, "f.score")
    [d] = err.value.diagnostics
    assert f"U+{ord(brk):04X}" in d.message
    assert (d.span.line, d.span.column) == (6, 4)
    assert err.value.render().splitlines()[1] == "   6 | # a score s { rule \"r\" +1 when employees > 1 }"


def test_bidi_errors_name_each_character_in_a_string(tmp_path):
    text = assert_located(leadscore("check", str(HOSTILE / "bidi_string.score"), cwd=tmp_path),
                          "Trojan Source")
    for code in ("U+202E", "U+2066", "U+2069", "U+202C"):
        assert code in text, text


@pytest.mark.parametrize("kind", ["bytes", "lines", "string", "rules"])
def test_huge_rule_files_stop_at_a_named_limit_quickly(tmp_path, kind):
    path = tmp_path / "huge.score"
    rule = '  rule "r{i}" +1 when title == "t{i}" and employees > {i}\n'
    if kind == "bytes":  # about 5 MB of ordinary rules
        n = 5_000_000 // len(rule.format(i=10_000))
        body = "score s {\n" + "".join(rule.format(i=i) for i in range(n)) + "}\n"
    elif kind == "lines":
        body = "\n" * (MAX_LINES + 1)
    elif kind == "string":
        body = 'score s { rule "' + "x" * (MAX_STRING + 1) + '" +1 when employees > 1 }\n'
    else:  # rules past MAX_RULES, in a file under the size limit
        rules = "".join(f'  rule "{i}" +1 when employees > 1\n' for i in range(MAX_RULES + 1))
        body = "score s {\n" + rules + "}\n"
    path.write_text(SCHEMA + body)
    if kind == "rules":
        assert path.stat().st_size <= MAX_SOURCE_BYTES
    message = {"bytes": "rule file too large", "lines": "rule file too long",
               "string": "string too long", "rules": "too many rules"}[kind]
    started = time.monotonic()
    proc = leadscore("check", str(path), cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert_located(proc, message, caret=kind != "lines")
    assert elapsed < 60, elapsed


def test_a_2000_rule_model_checks_fast(tmp_path):
    rules = "".join(f'  rule "rule {i}" +{i % 9 + 1} when title == "t{i}" and employees >= {i}\n'
                    for i in range(2000))
    path = tmp_path / "big.score"
    path.write_text(SCHEMA + "score s {\n" + rules + "}\ntiers { cold; warm at 10 }\n")
    started = time.monotonic()
    proc = leadscore("check", str(path), cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert time.monotonic() - started < 20  # about 1 s; generous on a loaded machine


def test_many_typos_among_many_names_are_not_quadratic(tmp_path):
    lets = "".join(f"let l{i} = employees > {i}\n" for i in range(3000))
    rules = "".join(f'  rule "r{i}" +1 when lx{i}\n' for i in range(3000))
    path = tmp_path / "typos.score"
    path.write_text(SCHEMA + lets + "score s {\n" + rules + "}\n")
    started = time.monotonic()
    text = assert_located(leadscore("check", str(path), cwd=tmp_path), "unknown name")
    assert time.monotonic() - started < 30
    assert "did you mean" in text  # the first errors, those shown, keep their hints


# ---------------------------------------------------------------- data on the terminal


@pytest.mark.parametrize("engine", engine_params())
def test_escape_filled_data_reaches_the_terminal_escaped_on_every_engine(tmp_path, engine):
    ensure(engine)
    proc = leadscore("run", str(HOSTILE / "escape_data.score"), "--leads",
                     str(HOSTILE / "escape_leads.csv"), "--events",
                     str(HOSTILE / "escape_events.csv"), "--as-of", AS_OF, "--engine", engine,
                     "--top", "20", "--verbose", cwd=tmp_path)
    text = assert_clean(proc)
    assert proc.returncode == 0, text
    assert "\\x1b" in text and "\\u202e" in text  # shown, escaped
    assert "[link=" in text  # rich markup in a key is text, not a link


def test_explain_and_diff_escape_keys_labels_and_names(tmp_path):
    leads, events = str(HOSTILE / "escape_leads.csv"), str(HOSTILE / "escape_events.csv")
    model = str(HOSTILE / "escape_data.score")
    for fmt in ("text", "json"):
        proc = leadscore("explain", model, "--lead", "\x1b[2J\x1b[31mowned", "--leads", leads,
                         "--events", events, "--as-of", AS_OF, "--format", fmt, cwd=tmp_path)
        text = assert_clean(proc)
        assert proc.returncode == 0, text
        if fmt == "json":  # still JSON, holding the key itself
            assert json.loads(proc.stdout)["key"] == "\x1b[2J\x1b[31mowned"
    proc = leadscore("explain", model, "--lead", "nobody\x1b[31m", "--leads", leads,
                     "--events", events, "--as-of", AS_OF, cwd=tmp_path)
    assert "nobody\\x1b[31m" in assert_clean(proc) and proc.returncode != 0
    new = tmp_path / "new.score"
    new.write_text((HOSTILE / "escape_data.score").read_text().replace("warm at 10", "warm at 5"))
    for fmt in ("text", "json", "markdown"):
        proc = leadscore("diff", model, str(new), "--leads", leads, "--events", events,
                         "--as-of", AS_OF, "--format", fmt, cwd=tmp_path)
        assert proc.returncode == 0, assert_clean(proc)
        if fmt == "json":
            assert json.loads(proc.stdout)["leads"] == 7


def test_a_path_holding_escapes_is_shown_escaped(tmp_path):
    # an OSC 8 link in a file name (click strips CSI sequences off a pipe, not these)
    odd = tmp_path / "odd\x1b]8;;evil\x07name.score"
    odd.write_text(SCHEMA + "score s { rule \"x\" +1 when nope > 1 }\n")
    for argv in (["check", odd.name], ["lint", odd.name], ["compile", odd.name]):
        text = assert_located(leadscore(*argv, cwd=tmp_path), "unknown name `nope`")
        assert "odd\\x1b]8;;evil\\x07name.score" in text, text
    unformatted = tmp_path / "fmt\x1b]8;;x\x07.score"
    unformatted.write_text(SCHEMA + "score  s { rule \"x\" +1 when employees > 1 }\n")
    for argv in (["fmt", "--check", unformatted.name], ["fmt", "--diff", unformatted.name]):
        proc = leadscore(*argv, cwd=tmp_path)
        assert proc.returncode != 0 or argv[1] == "--diff"
        assert "fmt\\x1b]8;;x\\x07.score" in assert_clean(proc)
    for command in ("check", "fmt"):
        proc = leadscore(command, "missing\x1b]8;;x\x07.score", cwd=tmp_path)
        assert proc.returncode != 0 and "missing\\x1b]8;;x\\x07.score" in assert_clean(proc)


@pytest.mark.parametrize("name, header", [
    ("quoted_header_semicolon.csv", ["id", "title; role", "employees"]),
    ("quoted_header_comma.csv", ["id", "title, role", "size, staff"])])
def test_delimiter_detection_counts_separators_outside_quotes(name, header):
    from leadscore.runtime.csvscreen import screen_csv
    from leadscore.runtime.data import csv_text_records

    got, rows = csv_text_records((HOSTILE / name).read_text())
    assert got == header
    assert [len(r) for _, r in rows] == [3, 3]
    layout = screen_csv(HOSTILE / name, None)
    assert layout is None or layout.header == header
