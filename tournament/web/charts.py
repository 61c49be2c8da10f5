"""Inline SVG line charts computed server-side: no JavaScript library and no external asset is needed."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 32
MAX_POINTS = 600
"""Long series are thinned to this many points: a 1,000,000-round match still draws quickly."""


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    values: tuple[float, ...]
    """y values at x = 1, 2, ... (or at the given xs)."""
    css_class: str
    xs: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class Line:
    label: str
    css_class: str
    points: str
    """The polyline's `points` attribute."""
    dots: tuple[tuple[float, float, str], ...]
    """Markers (x, y, tooltip) for short series, so single points stay visible."""


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    plot: tuple[float, float, float, float]
    """left, top, right, bottom of the plotting area."""
    lines: tuple[Line, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    zero: float | None
    """y of the zero line when zero is inside the range."""
    x_label: str
    y_label: str


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 5 x 10^k steps) from a step at or below `low` to one at or above `high`."""
    if high - low < 1e-9 * max(1.0, abs(low), abs(high)):
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step), math.ceil(high / step)
    # The divisions may land a hair below or above a whole number: drop a tick that lies wholly outside.
    if round((first + 1) * step, 10) <= low:
        first += 1
    if round((last - 1) * step, 10) >= high:
        last -= 1
    return [round(index * step, 10) for index in range(first, last + 1)]


def _format(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")


def line_chart(series: Sequence[Series], *, x_label: str, y_label: str) -> Chart:
    """Scale every series into one plot with shared axes."""
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    all_x = [x for s in series for x in (s.xs or range(1, len(s.values) + 1))]
    all_y = [y for s in series for y in s.values]
    if not all_y:
        all_x, all_y = [1.0], [0.0]
    x_min, x_max = min(all_x), max(all_x)
    y_ticks = nice_ticks(min(all_y), max(all_y))
    y_min, y_max = y_ticks[0], y_ticks[-1]

    def sx(x: float) -> float:
        return left + (x - x_min) / (x_max - x_min) * (right - left) if x_max > x_min else (left + right) / 2

    def sy(y: float) -> float:
        return bottom - (y - y_min) / (y_max - y_min) * (bottom - top)

    lines = []
    for s in series:
        xs = s.xs or tuple(float(x) for x in range(1, len(s.values) + 1))
        step = max(1, math.ceil(len(s.values) / MAX_POINTS))
        keep = list(range(0, len(s.values), step))
        if s.values and keep[-1] != len(s.values) - 1:
            keep.append(len(s.values) - 1)
        points = " ".join(f"{sx(xs[i]):.1f},{sy(s.values[i]):.1f}" for i in keep)
        dots = (
            tuple((sx(xs[i]), sy(s.values[i]), f"{s.label}: {_format(s.values[i])}") for i in keep)
            if len(keep) <= 40
            else ()
        )
        lines.append(Line(s.label, s.css_class, points, dots))
    x_ticks = [x for x in nice_ticks(x_min, x_max, 6) if x_min <= x <= x_max and float(x).is_integer()]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot=(left, top, right, bottom),
        lines=tuple(lines),
        x_ticks=tuple(Tick(sx(x), _format(x)) for x in x_ticks),
        y_ticks=tuple(Tick(sy(y), _format(y)) for y in y_ticks),
        zero=sy(0) if y_min < 0 < y_max else None,
        x_label=x_label,
        y_label=y_label,
    )
