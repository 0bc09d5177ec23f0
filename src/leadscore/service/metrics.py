"""The service's Prometheus metrics, kept in process and written in the text format."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque

# request latency buckets (seconds): the 20 ms target sits on a bucket edge
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
RATE_WINDOW_S = 60  # events/s is the mean over this many seconds


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: Counter[tuple[str, tuple]] = Counter()
        self.hist: dict[str, list[float]] = {}  # route -> bucket counts, then sum and count
        self._recent: deque[tuple[float, int]] = deque()  # (monotonic time, events)

    def count(self, name: str, n: float = 1, **labels: str) -> None:
        with self._lock:
            self.counters[name, tuple(sorted(labels.items()))] += n

    def events(self, n: int) -> None:
        now = time.monotonic()
        with self._lock:
            self.counters["leadscore_events_total", ()] += n
            self._recent.append((now, n))
            self._trim(now)

    def _trim(self, now: float) -> None:
        while self._recent and self._recent[0][0] < now - RATE_WINDOW_S:
            self._recent.popleft()

    def observe(self, route: str, seconds: float) -> None:
        with self._lock:
            h = self.hist.get(route)
            if h is None:
                h = self.hist[route] = [0.0] * (len(BUCKETS) + 2)
            for i, edge in enumerate(BUCKETS):
                if seconds <= edge:
                    h[i] += 1
            h[-2] += seconds
            h[-1] += 1

    def text(self, gauges: dict[str, float]) -> str:
        """The Prometheus text exposition of every metric, with `gauges` read now."""
        now = time.monotonic()
        out = []
        with self._lock:
            self._trim(now)
            rate = sum(n for _, n in self._recent) / RATE_WINDOW_S
            names = sorted({name for name, _ in self.counters} | {"leadscore_events_total"})
            for name in names:
                out.append(f"# TYPE {name} counter")
                got = [(labels, v) for (n, labels), v in sorted(self.counters.items()) if n == name]
                for labels, v in got or [((), 0)]:
                    out.append(f"{name}{_labels(labels)} {v:g}")
            out += ["# HELP leadscore_events_per_second events accepted per second, "
                    f"over the last {RATE_WINDOW_S} s",
                    "# TYPE leadscore_events_per_second gauge",
                    f"leadscore_events_per_second {rate:g}",
                    "# TYPE leadscore_request_seconds histogram"]
            for route, h in sorted(self.hist.items()):
                for edge, n in zip(BUCKETS, h):
                    out.append(f'leadscore_request_seconds_bucket{{route="{route}",le="{edge:g}"}} {n:g}')
                out += [f'leadscore_request_seconds_bucket{{route="{route}",le="+Inf"}} {h[-1]:g}',
                        f'leadscore_request_seconds_sum{{route="{route}"}} {h[-2]:.6f}',
                        f'leadscore_request_seconds_count{{route="{route}"}} {h[-1]:g}']
        for name, v in sorted(gauges.items()):
            out += [f"# TYPE {name} gauge", f"{name} {v:g}"]
        return "\n".join(out) + "\n"


def _labels(labels: tuple) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
