"""The dates a monthly package's cadence gives, capped by its monthly hours (pure rules)."""

from __future__ import annotations

import datetime as dt

from engagements.models import Cadence


def recurring_dates(
    *, starts_on: dt.date, ends_on: dt.date, weekday: int, cadence: str, per_month: int
) -> list[dt.date]:
    """Session dates for a cadence, at most `per_month` in any calendar month."""
    first = starts_on + dt.timedelta(days=(weekday - starts_on.weekday()) % 7)
    candidates: list[dt.date] = []
    if cadence == Cadence.MONTHLY:
        day = first
        while day <= ends_on:
            candidates.append(day)
            next_month = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            day = next_month + dt.timedelta(days=(weekday - next_month.weekday()) % 7)
    else:
        step = dt.timedelta(days=7 if cadence == Cadence.WEEKLY else 14)
        day = first
        while day <= ends_on:
            candidates.append(day)
            day += step
    counts: dict[tuple[int, int], int] = {}
    dates = []
    for day in candidates:
        key = (day.year, day.month)
        if counts.get(key, 0) < per_month:
            counts[key] = counts.get(key, 0) + 1
            dates.append(day)
    return dates
