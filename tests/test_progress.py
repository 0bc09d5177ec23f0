"""The progress hook of a run: called as the run goes, drawn only on a terminal."""

import io

import leadscore
from conftest import ROOT
from leadscore.runtime.data import parse_timestamp
from leadscore.runtime.progress import TerminalProgress, terminal_progress
from leadscore.runtime.runner import score_files


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
