"""A one-line progress bar for long runs, on a terminal only.

`terminal_progress()` returns a callback for `runner.score_files(progress=...)`, or None
when stderr is not a terminal (a pipe, a file, CI logs), where a bar would only add noise.
The bar appears after `delay` seconds, so short runs print nothing, and erases itself.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from .data import Progress


class TerminalProgress:
    """`progress(stage, done, total)`: redraws at most `rate` times a second."""

    def __init__(self, stream: TextIO, delay: float = 0.5, rate: float = 10.0):
        self.stream = stream
        self.start = time.monotonic()
        self.delay = delay
        self.every = 1.0 / rate
        self.last = 0.0
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = total > 0 and done >= total
        if now - self.start < self.delay or (now - self.last < self.every and not finished):
            return
        self.last = now
        width = 24
        frac = min(1.0, done / total) if total > 0 else 0.0
        bar = "█" * int(frac * width) + "░" * (width - int(frac * width))
        line = f"\r{stage[:40]:<40} {bar} {frac:4.0%}  {now - self.start:5.1f}s"
        self.stream.write(line)
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """Erase the bar (call before printing the run's summary)."""
        if self.shown:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()
            self.shown = False


def terminal_progress(stream: TextIO | None = None) -> TerminalProgress | None:
    """A progress callback when `stream` (stderr) is an interactive terminal, else None."""
    stream = stream or sys.stderr
    if not stream.isatty() or os.environ.get("CI") or os.environ.get("TERM") == "dumb":
        return None
    return TerminalProgress(stream)


__all__ = ["Progress", "TerminalProgress", "terminal_progress"]
