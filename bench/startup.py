"""Start-up: `leadscore check` on the reference model against `ruff check` on a small file,
each a whole process, alternated (bench/jobs.py), with bytecode as users have it.

The parser cache (compiler/parse.py) is warm after the unmeasured first run, as it is on a
user's machine after the first command; `--help` is reported beside it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Protocol

from .jobs import Timing, alternate

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "reference.score"
TARGET = 0.25  # seconds, issue 12


class _Report(Protocol):
    def add(self, section: str, name: str, value: str, target: str = "", ok: bool | None = None,
            note: str = "") -> object: ...


def _ruff() -> list[str]:
    beside = Path(sys.executable).with_name("ruff")
    found = str(beside) if beside.exists() else shutil.which("ruff")
    if found is None:
        raise RuntimeError("ruff is not installed: it is the hand baseline of the start-up row")
    return [found, "check", "--no-cache", "--isolated"]


def startup(rep: _Report, repeat: int) -> None:
    """The median wall time of `leadscore check` (target <= 0.25 s) and of `leadscore --help`,
    each alternated with `ruff check` on a two-line file."""
    ours = [sys.executable, "-m", "leadscore.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small.py"
        small.write_text("import os\n\nprint(os.sep)\n")
        hand = [*_ruff(), str(small)]
        check, ruff = alternate([*ours, "check", str(MODEL)], hand, repeat)
        helped, _ = alternate([*ours, "--help"], hand, max(3, repeat // 2))
    rep.add("startup", "leadscore check examples/reference.score", f"{check.median:.3f} s",
            f"<= {TARGET} s", check.median <= TARGET,
            note=f"{_spread(check)}, {repeat} runs; ruff check on a small file "
                 f"{ruff.median:.3f} s ({_spread(ruff)}), ratio {check.median / ruff.median:.0f}x; "
                 f"peak {check.peak:.0f} MB")
    rep.add("startup", "leadscore --help", f"{helped.median:.3f} s",
            note=f"{_spread(helped)}, {max(3, repeat // 2)} runs")


def _spread(t: Timing) -> str:
    return f"{min(t.seconds):.3f}–{max(t.seconds):.3f} s"  # Timing.spread's 0.01 s is too coarse
