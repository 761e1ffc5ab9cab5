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


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value` (a readable axis top)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def bar_chart(
    title: str, points: list[ChartPoint], *, axis_format=lambda value: f"{value:g}"
) -> BarChart:
    """Lay `points` out as vertical bars on an axis from 0 to a round maximum."""
    top = nice_ceiling(max((point.value for point in points), default=0))
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
        Gridline(y=round(HEIGHT - BOTTOM - plot_height * share, 1), label=axis_format(top * share))
        for share in (0, 0.25, 0.5, 0.75, 1)
    ]
    return BarChart(title=title, bars=bars, gridlines=gridlines)
