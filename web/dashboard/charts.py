"""Bar charts drawn as inline SVG on the server, so dashboards need no script or CDN.

`bar_chart` only does the geometry (bar rectangles, a rounded axis, gridlines); the
template `_bar_chart.html` draws it. Every bar carries its own label and a `<title>`,
and pages show the same figures in a table, so the chart is never the only way in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 640
HEIGHT = 220
LEFT = 56  # room for the axis labels
BOTTOM = 28  # room for the bar labels
TOP = 12


@dataclass(frozen=True)
class ChartPoint:
    label: str
    value: float
    shown: str  # the value as the page writes it ("£1,200", "7 sessions")


@dataclass(frozen=True)
class Bar:
    point: ChartPoint
    x: float
    y: float
    width: float
    height: float

    @property
    def label_x(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Gridline:
    y: float
    label: str


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    gridlines: list[Gridline]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM

    @property
    def is_empty(self) -> bool:
        return not any(bar.point.value for bar in self.bars)


def nice_step(value: float) -> float:
    """The smallest 1, 2 or 5 × 10ⁿ at or above `value` (a step people read easily)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power * (1 + 1e-9):
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def axis_ticks(largest: float, *, whole: bool = False, ticks: int = 4) -> list[float]:
    """0 up to a round top at or above `largest`, in about `ticks` round steps.

    `whole` keeps steps at 1 or more (no "2.5 sessions").
    """
    step = nice_step(largest / ticks if largest > 0 else 1)
    if whole:
        step = max(step, 1)
    count = max(1, math.ceil(largest / step - 1e-9))
    return [step * index for index in range(count + 1)]


def bar_chart(
    title: str,
    points: list[ChartPoint],
    *,
    whole: bool = False,
    axis_format=lambda value: f"{value:,g}",
) -> BarChart:
    """Lay `points` out as vertical bars on an axis from 0 to a round maximum."""
    ticks = axis_ticks(max((point.value for point in points), default=0), whole=whole)
    top = ticks[-1]
    plot_height = HEIGHT - BOTTOM - TOP
    plot_width = WIDTH - LEFT - 8
    slot = plot_width / max(len(points), 1)
    bar_width = slot * 0.7
    bars = []
    for index, point in enumerate(points):
        height = plot_height * max(point.value, 0) / top
        bars.append(
            Bar(
                point=point,
                x=round(LEFT + index * slot + (slot - bar_width) / 2, 1),
                y=round(HEIGHT - BOTTOM - height, 1),
                width=round(bar_width, 1),
                height=round(height, 1),
            )
        )
    gridlines = [
        Gridline(y=round(HEIGHT - BOTTOM - plot_height * tick / top, 1), label=axis_format(tick))
        for tick in ticks
    ]
    return BarChart(title=title, bars=bars, gridlines=gridlines)
