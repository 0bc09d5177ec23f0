"""A few plotting primitives that write plain SVG text: axes with nice ticks, bars, lines,
points, error bars and a legend. Enough for the calibration report, with no dependencies."""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

import numpy as np

BLUE = "#2f6db5"
ORANGE = "#e07b00"
GREY_BLUE = "#5b8fd0"
INK = "#1d2530"
GRID = "#e6e9ee"
MUTED = "#5b6675"
PALETTE = (BLUE, ORANGE, "#3a9d5d", "#9b59b6", "#c0392b", "#7f8c8d", "#16a2b8")  # one per series


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def bin_edges(lo: float, hi: float, most: int = 30) -> np.ndarray:
    """Histogram edges: whole-number widths when totals are whole numbers in a small range."""
    if hi <= lo:
        return np.array([lo - 0.5, lo + 0.5])
    width = (hi - lo) / most
    if width < 1 and float(lo).is_integer() and float(hi).is_integer():
        return np.arange(lo - 0.5, hi + 1.5, 1.0)
    power = 10 ** math.floor(math.log10(width))
    width = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= width)
    start = math.floor(lo / width) * width
    n = int(math.ceil((hi - start) / width + 1e-9))
    edges = start + width * np.arange(n + 1)
    if edges[-1] <= hi:
        edges = np.append(edges, edges[-1] + width)
    return edges


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


class Axes:
    def __init__(self, width: int, height: int, title: str = "", xlabel: str = "",
                 ylabel: str = "", square: bool = False) -> None:
        self.w, self.h = width, height
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.left, self.right, self.top, self.bottom = 62, 18, 34, 46
        self.items: list[str] = []
        self.x0, self.x1, self.y0, self.y1 = 0.0, 1.0, 0.0, 1.0
        self.square = square

    # -------------------------------------------------------------- coordinates
    def set_limits(self, x0: float, x1: float, y0: float, y1: float) -> None:
        self.x0, self.x1 = float(x0), float(x1) if x1 > x0 else float(x0) + 1
        self.y0, self.y1 = float(y0), float(y1) if y1 > y0 else float(y0) + 1

    def X(self, v: float) -> float:
        span = self.w - self.left - self.right
        return self.left + (float(v) - self.x0) / (self.x1 - self.x0) * span

    def Y(self, v: float) -> float:
        span = self.h - self.top - self.bottom
        return self.h - self.bottom - (float(v) - self.y0) / (self.y1 - self.y0) * span

    # -------------------------------------------------------------- furniture
    def axes(self, yfmt: Callable[[float], str] = _fmt, xfmt: Callable[[float], str] = _fmt,
             xticks: Sequence[tuple[float, str]] | None = None, rotate: bool = False) -> None:
        if rotate:
            self.bottom = 78
        out = self.items
        for t in nice_ticks(self.y0, self.y1, 5):
            y = self.Y(t)
            out.append(f'<line x1="{self.left}" y1="{y:.1f}" x2="{self.w - self.right}" '
                       f'y2="{y:.1f}" stroke="{GRID}"/>')
            out.append(f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                       f'font-size="11" fill="{MUTED}">{_e(yfmt(t))}</text>')
        base = self.h - self.bottom
        ticks = xticks if xticks is not None else [(t, xfmt(t)) for t in
                                                   nice_ticks(self.x0, self.x1, 6)]
        for v, text in ticks:
            x = self.X(v)
            out.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" '
                       f'stroke="{MUTED}"/>')
            if rotate:
                out.append(f'<text x="{x:.1f}" y="{base + 14}" text-anchor="end" font-size="10" '
                           f'fill="{MUTED}" transform="rotate(-35 {x:.1f} {base + 14})">'
                           f'{_e(text)}</text>')
            else:
                out.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" '
                           f'font-size="11" fill="{MUTED}">{_e(text)}</text>')
        out.append(f'<line x1="{self.left}" y1="{base}" x2="{self.w - self.right}" y2="{base}" '
                   f'stroke="{INK}"/>')
        out.append(f'<line x1="{self.left}" y1="{self.top}" x2="{self.left}" y2="{base}" '
                   f'stroke="{INK}"/>')

    # -------------------------------------------------------------- marks
    def bars(self, edges: np.ndarray, heights: np.ndarray, color: str,
             opacity: float = 1.0) -> None:
        for a, b, h in zip(edges[:-1], edges[1:], heights):
            if h > 0:
                self.bar(a, b, h, color, opacity)

    def bar(self, a: float, b: float, h: float, color: str, opacity: float = 1.0) -> None:
        x, y = self.X(a), self.Y(h)
        width = max(0.5, self.X(b) - x)
        height = max(0.0, self.Y(self.y0) - y)
        self.items.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                          f'height="{height:.1f}" fill="{color}" fill-opacity="{opacity}"/>')

    def line(self, points: Sequence[tuple[float, float]], color: str, width: float = 1.5,
             dash: str | None = None) -> None:
        if not points:
            return
        path = " ".join(f"{self.X(x):.1f},{self.Y(y):.1f}" for x, y in points)
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        self.items.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                          f'stroke-width="{width}"{extra}/>')

    def point(self, x: float, y: float, color: str, r: float = 4) -> None:
        self.items.append(f'<circle cx="{self.X(x):.1f}" cy="{self.Y(y):.1f}" r="{r}" '
                          f'fill="{color}"/>')

    def errorbar(self, x: float, lo: float | None, hi: float | None, cap: float = 4) -> None:
        if lo is None or hi is None:
            return
        X, a, b = self.X(x), self.Y(lo), self.Y(hi)
        self.items.append(
            f'<path d="M{X:.1f},{a:.1f}V{b:.1f}M{X - cap:.1f},{a:.1f}H{X + cap:.1f}'
            f'M{X - cap:.1f},{b:.1f}H{X + cap:.1f}" stroke="{INK}" stroke-width="1" fill="none"/>')

    def label(self, x: float, y: float, text: str) -> None:
        self.items.append(f'<text x="{self.X(x):.1f}" y="{self.Y(y) - 5:.1f}" text-anchor="middle"'
                          f' font-size="10" fill="{INK}">{_e(text)}</text>')

    def hline(self, y: float, text: str = "") -> None:
        Y = self.Y(y)
        self.items.append(f'<line x1="{self.left}" y1="{Y:.1f}" x2="{self.w - self.right}" '
                          f'y2="{Y:.1f}" stroke="{ORANGE}" stroke-width="1.5" '
                          f'stroke-dasharray="6 4"/>')
        if text:
            self.items.append(f'<text x="{self.left + 6}" y="{Y - 5:.1f}" font-size="11" '
                              f'fill="{ORANGE}">{_e(text)}</text>')

    def legend(self, items: Sequence[tuple[str, str]], corner: str = "top-right") -> None:
        width = 14 + max(len(t) for t, _ in items) * 6.3
        x = self.left + 10 if corner == "top-left" else self.w - self.right - width - 6
        y = self.top + 8
        self.items.append(f'<rect x="{x - 6:.1f}" y="{y - 4}" width="{width + 8:.1f}" '
                          f'height="{len(items) * 17 + 4}" fill="#fff" fill-opacity="0.85" '
                          f'stroke="{GRID}"/>')
        for i, (text, color) in enumerate(items):
            yy = y + i * 17
            self.items.append(f'<rect x="{x:.1f}" y="{yy + 2}" width="10" height="10" '
                              f'fill="{color}"/>')
            self.items.append(f'<text x="{x + 15:.1f}" y="{yy + 11}" font-size="11" '
                              f'fill="{INK}">{_e(text)}</text>')

    def render(self) -> str:
        mid_x = (self.left + self.w - self.right) / 2
        mid_y = (self.top + self.h - self.bottom) / 2
        head = [f'<text x="{self.w / 2:.1f}" y="20" text-anchor="middle" font-size="14" '
                f'font-weight="600" fill="{INK}">{_e(self.title)}</text>',
                f'<text x="{mid_x:.1f}" y="{self.h - 6}" text-anchor="middle" font-size="12" '
                f'fill="{INK}">{_e(self.xlabel)}</text>',
                f'<text x="14" y="{mid_y:.1f}" text-anchor="middle" font-size="12" fill="{INK}" '
                f'transform="rotate(-90 14 {mid_y:.1f})">{_e(self.ylabel)}</text>']
        return (f'<svg width="{self.w}" height="{self.h}" '
                f'viewBox="0 0 {self.w} {self.h}" role="img" aria-label="{_e(self.title)}" '
                f'font-family="system-ui, sans-serif">' + "".join(head + self.items) + "</svg>")
