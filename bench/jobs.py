"""Whole-process comparisons: a leadscore job and the hand-written job doing the same work,
each started as its own process, alternated and repeated; medians with their spread, and
each side's peak memory (the child's max RSS, from wait4).

Start-up is measured as users get it: bytecode is written and used (PYTHONDONTWRITEBYTECODE
is removed from the children's environment) and one unmeasured run of each side warms the
page cache and the .pyc files first.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass


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
    """(wall seconds, peak RSS in MB) of one run of `cmd`; raises if it fails."""
    t = time.perf_counter()
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=user_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024


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
