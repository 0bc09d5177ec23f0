"""`-` reads the model from standard input for check, lint, compile and fmt; --stdin-filename
names it in messages, resolves its imports and finds its settings. Real subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import leadscore

ROOT = Path(__file__).resolve().parent.parent
SRC = str(Path(leadscore.__file__).resolve().parent.parent)  # the leadscore under test
STARTER = ROOT / "examples" / "starter.score"


def run(*args: str, stdin: str | bytes, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    env = {**os.environ, "NO_COLOR": "1",
           "PYTHONPATH": os.pathsep.join([SRC, *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "leadscore", *args], input=data, cwd=cwd,
                          capture_output=True, env=env, timeout=120)


def out(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.decode()


def err(proc: subprocess.CompletedProcess) -> str:
    return proc.stderr.decode()


def test_check_reads_stdin_under_its_name():
    # the acceptance line: printf '%s' "$(cat examples/starter.score)" | leadscore check - ...
    proc = run("check", "-", "--stdin-filename", "starter.score",
                     stdin=STARTER.read_text().rstrip("\n"))
    assert (proc.returncode, out(proc)) == (0, "starter.score: ok\n"), err(proc)


def test_a_broken_buffer_is_located_under_its_name():
    broken = STARTER.read_text().replace("employees >= 200", "employes >= 200")
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if "employes" in text)
    col = broken.splitlines()[line - 1].index("employes") + 1
    proc = run("check", "-", "--stdin-filename", "starter.score", stdin=broken)
    assert proc.returncode == 1
    assert f"starter.score:{line}:{col}: error: unknown name `employes`" in err(proc)
    assert "did you mean `employees`?" in err(proc)


def test_without_a_name_it_is_stdin():
    proc = run("check", "-", stdin="score s { rule \"x\" +1 when nope }")
    assert proc.returncode == 1
    assert err(proc).startswith("<stdin>:1:")


def test_imports_resolve_relative_to_the_name(tmp_path: Path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "base.score").write_text(STARTER.read_text())
    product = 'import "base.score"\nscore extra { rule "big" +5 when employees >= 1000 }\n'
    proc = run("check", "-", "--stdin-filename", "models/product.score", stdin=product,
                     cwd=tmp_path)
    assert (proc.returncode, out(proc)) == (0, "models/product.score: ok\n"), err(proc)
    # confined to the named file's directory, as a file on disk would be
    (tmp_path / "models" / "sub").mkdir()
    proc = run("check", "-", "--stdin-filename", "models/sub/product.score",
                     stdin=product.replace("base.score", "../base.score"), cwd=tmp_path)
    assert proc.returncode == 1
    assert "models/sub/product.score:1:8: error: " in err(proc)
    assert "inside the model's directory" in err(proc)


def test_an_unsaved_buffer_beside_its_file_on_disk(tmp_path: Path):
    """The editor's case: the buffer differs from the saved file; the buffer is checked."""
    saved = tmp_path / "m.score"
    saved.write_text(STARTER.read_text())
    proc = run("check", "-", "--stdin-filename", str(saved), stdin="score s {")
    assert proc.returncode == 1 and f"{saved}:1:" in err(proc)


def test_not_utf8_on_stdin_is_located():
    proc = run("check", "-", "--stdin-filename", "m.score",
                     stdin=b'score s { rule "caf\xe9" +1 when true }\n')
    assert proc.returncode == 1
    assert "m.score:1:" in err(proc) and "not valid UTF-8" in err(proc)
    assert "Traceback" not in err(proc)


def test_compile_reads_stdin_the_same_as_the_file():
    from_file = run("compile", str(STARTER), "--dialect", "sqlite", stdin=b"")
    from_stdin = run("compile", "-", "--stdin-filename", "starter.score", "--dialect",
                           "sqlite", stdin=STARTER.read_text())
    assert from_file.returncode == from_stdin.returncode == 0, err(from_stdin)
    assert out(from_stdin) == out(from_file)
    ir = run("compile", "-", "--ir", stdin=STARTER.read_text())
    assert ir.returncode == 0 and out(ir).startswith("{")


def test_compile_of_a_missing_file_is_a_usage_error():
    proc = run("compile", "no/such.score", stdin=b"")
    assert proc.returncode == 2 and "no such file" in err(proc)


def test_lint_reads_stdin_and_its_settings(tmp_path: Path):
    model = STARTER.read_text().replace('"manager or above"  +10 when title matches',
                                        '"manager or above"  +0 when title matches')
    proc = run("lint", "-", "--stdin-filename", "models/m.score", stdin=model, cwd=tmp_path)
    assert proc.returncode == 1
    assert "models/m.score:" in out(proc) and "[LS106 zero-points]" in out(proc)
    # the settings of the named file's directory apply
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "pyproject.toml").write_text(
        '[tool.leadscore.lint]\nignore = ["LS106"]\n')
    proc = run("lint", "-", "--stdin-filename", "models/m.score", stdin=model, cwd=tmp_path)
    assert "LS106" not in out(proc), out(proc)


def test_lint_fix_on_stdin_writes_the_model_to_stdout():
    model = STARTER.read_text() + "let unused = employees >= 5\n"
    proc = run("lint", "-", "--fix", "--isolated", "--select", "LS401",
                     "--stdin-filename", "starter.score", stdin=model)
    assert proc.returncode == 0, err(proc)
    assert out(proc) == STARTER.read_text()
    assert "fixed 1 finding in starter.score" in err(proc)
    assert "no findings" in err(proc)
    # nothing to fix: the model comes back as it was
    proc = run("lint", "-", "--fix", "--isolated", "--select", "LS401", stdin=model[:-28])
    assert out(proc) == STARTER.read_text()


def test_fmt_names_stdin():
    proc = run("fmt", "-", "--stdin-filename", "b2b.score", stdin="score s {")
    assert proc.returncode == 1 and err(proc).startswith("b2b.score:1:")
    proc = run("fmt", "-", "--stdin-filename", "b2b.score", stdin=STARTER.read_text())
    assert proc.returncode == 0 and out(proc) == STARTER.read_text()


@pytest.mark.parametrize("cmd", ["check", "lint", "compile", "fmt"])
def test_stdin_usage_errors(cmd: str):
    proc = run(cmd, str(STARTER), "--stdin-filename", "x.score", stdin=b"")
    assert proc.returncode == 2 and "give `-` too" in err(proc)
    if cmd != "compile":  # compile takes one model
        proc = run(cmd, "-", "-", stdin=b"")
        assert proc.returncode == 2 and "only once" in err(proc)
