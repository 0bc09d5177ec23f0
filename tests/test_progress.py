"""The progress hook of a run: called as the run goes, drawn only on a terminal."""

import io
import sys

from click.testing import CliRunner

import leadscore
from conftest import ROOT
from leadscore.cli import main
from leadscore.runtime import progress
from leadscore.runtime.data import parse_timestamp
from leadscore.runtime.progress import TerminalProgress, terminal_progress
from leadscore.runtime.runner import score_files

REF = str(ROOT / "examples" / "reference.score")
LEADS = str(ROOT / "examples" / "data" / "leads.csv")
EVENTS = str(ROOT / "examples" / "data" / "events.csv")
ERASE = "\r" + " " * 80 + "\r"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_bar_in_pipes_or_ci(monkeypatch):
    assert terminal_progress(io.StringIO()) is None  # a pipe or a file
    monkeypatch.setenv("CI", "true")
    assert terminal_progress(Tty()) is None
    monkeypatch.delenv("CI")
    monkeypatch.setenv("TERM", "xterm")
    assert isinstance(terminal_progress(Tty()), TerminalProgress)


def test_terminal_progress_draws_on_a_terminal(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    out = Tty()
    bar = terminal_progress(out)
    assert bar is not None
    bar.delay = 0.0  # drawn from the first call on
    bar("reading leads.csv", 1, 2)
    assert "reading leads.csv" in out.getvalue() and "50%" in out.getvalue()


def test_bar_draws_and_erases():
    out = Tty()
    bar = TerminalProgress(out, delay=0.0, rate=1000.0)
    bar("reading events.csv", 50, 100)
    bar("scoring on python", 100, 100)
    assert "scoring on python" in out.getvalue() and "100%" in out.getvalue()
    bar.close()
    assert out.getvalue().endswith("\r")


def test_run_reports_each_stage_and_the_same_rows(monkeypatch):
    from leadscore.runtime import engines

    monkeypatch.setattr(engines, "PROGRESS_STEP", 100)
    model = leadscore.load(ROOT / "examples" / "reference.score").ir
    data = ROOT / "examples" / "data"
    as_of = parse_timestamp("2026-03-01T00:00:00Z")
    calls = []
    for engine in ("python", "duckdb"):
        with_bar = score_files(model, data / "leads.csv", data / "events.csv", as_of, engine,
                               progress=lambda *a: calls.append(a))
        plain = score_files(model, data / "leads.csv", data / "events.csv", as_of, engine)
        assert with_bar.rows == plain.rows
    stages = {stage for stage, _, _ in calls}
    assert {"reading leads.csv", "reading events.csv", "scoring on python",
            "scoring on duckdb"} <= stages
    python_steps = [done for stage, done, _ in calls if stage == "scoring on python"]
    assert python_steps == sorted(python_steps) and python_steps[-1] == 300
    assert len(python_steps) >= 4  # 300 leads reported every 100


def run_cli(tmp_path, *extra, leads=LEADS):
    return CliRunner().invoke(main, ["run", REF, "--leads", leads, "--events", EVENTS, "--as-of",
                                     "2026-03-01T00:00:00Z", "--out", str(tmp_path / "out.csv"),
                                     *extra], catch_exceptions=False)


def test_run_has_no_bar_when_stderr_is_not_a_terminal(tmp_path, monkeypatch):
    made = []
    real = progress.terminal_progress
    monkeypatch.setattr(progress, "terminal_progress", lambda: made.append(real()) or made[-1])
    res = run_cli(tmp_path)
    assert res.exit_code == 0, res.output
    assert made == [None]  # asked, and CliRunner's stderr is no terminal
    assert "\r" not in res.stderr


def test_run_erases_the_bar_before_the_summary_and_errors(tmp_path, monkeypatch):
    # a bar drawn on every call, on the stderr the command writes its summary to
    monkeypatch.setattr(progress, "terminal_progress",
                        lambda: TerminalProgress(sys.stderr, delay=0.0, rate=1e9))
    res = run_cli(tmp_path)
    assert res.exit_code == 0, res.output
    err = res.stderr
    assert "scoring on duckdb" in err
    assert err.rindex("%") < err.rindex(ERASE) < err.index("as_of 2026-03-01")

    bad = tmp_path / "leads.csv"
    bad.write_text("id,created_at,email,industry,title,employees,country,plan_interest,account\n"
                   "a,2026-01-01,,,,ten,,,\n")
    res = run_cli(tmp_path, "--strict", leads=str(bad))
    assert res.exit_code == 1
    err = res.stderr
    assert "reading leads.csv" in err
    assert err.rindex("%") < err.rindex(ERASE) < err.index("leads.csv:2")
