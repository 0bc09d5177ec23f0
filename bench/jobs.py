"""Whole-process comparisons: a leadscore job and the hand-written job doing the same work,
each started as its own process, alternated and repeated; medians with their spread, and
each side's peak memory (the job's own max RSS: bench/rss.py).

Start-up is measured as users get it: bytecode is written and used (PYTHONDONTWRITEBYTECODE
is removed from the children's environment) and one unmeasured run of each side warms the
page cache and the .pyc files first.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RSS = Path(__file__).with_name("rss.py")


def user_env() -> dict[str, str]:
    """The environment a user's shell gives: bytecode on."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@dataclass
class Timing:
    seconds: list[float]
    peak_mb: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def spread(self) -> str:
        return f"{min(self.seconds):.2f}–{max(self.seconds):.2f} s"

    @property
    def peak(self) -> float:
        return max(self.peak_mb)


def once(cmd: Sequence[str], cwd: str | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one run of `cmd`, measured by bench/rss.py (see why
    there); raises if it fails."""
    proc = subprocess.run([sys.executable, "-I", "-S", str(RSS), *cmd], cwd=cwd, env=user_env(),
                          capture_output=True, text=True)
    wall, kib, code = proc.stdout.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {code}:\n{proc.stderr[-2000:]}")
    return float(wall), int(kib) / 1024


def alternate(ours: Sequence[str], hand: Sequence[str], repeat: int,
              cwd: str | None = None) -> tuple[Timing, Timing]:
    """Both commands `repeat` times, alternating, after one warm-up run of each."""
    once(ours, cwd)
    once(hand, cwd)
    a, b = Timing([], []), Timing([], [])
    for _ in range(repeat):
        for cmd, out in ((ours, a), (hand, b)):
            s, mb = once(cmd, cwd)
            out.seconds.append(s)
            out.peak_mb.append(mb)
    return a, b
