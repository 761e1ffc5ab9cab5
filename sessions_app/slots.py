"""Free slot computation: pure functions over already-loaded rules and busy time.

No database here, so the same code is checked against a brute-force reference in the
tests. Times are UTC-aware datetimes; availability is wall-clock time in the coach's zone.

How local hours become absolute time: the window is cut into pieces of constant UTC
offset (a DST change starts a new piece). Within a piece, wall-clock time and UTC differ
by one fixed offset, so each availability interval maps to an absolute span exactly —
a wall-clock time inside a DST gap simply has no instant, and one inside a repeated
hour has two. Candidate starts are the coach's wall-clock grid (interval start + k·step).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60
# Busy or session spans never last longer than this; lets queries bound their index scans.
MAX_SESSION_LENGTH = dt.timedelta(hours=8)
_OFFSET_SCAN_STEP = dt.timedelta(hours=3)

Interval = tuple[int, int]  # minutes since local midnight, end may be 1440 (midnight)
Span = tuple[dt.datetime, dt.datetime]  # UTC, half-open


@dataclass(frozen=True)
class Availability:
    """A coach's bookable hours and a booking link's limits, as plain data."""

    zone: ZoneInfo
    weekly: dict[int, list[Interval]]  # Monday=0
    overrides: dict[dt.date, list[Interval]] = field(default_factory=dict)  # [] = day off
    duration_minutes: int = 60
    step_minutes: int = 30
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    max_per_day: int | None = None

    def hours_on(self, day: dt.date) -> list[Interval]:
        """A date override replaces the weekday's hours for that date (Calendly's rule)."""
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), [])


def _offset(zone: ZoneInfo, instant: dt.datetime) -> dt.timedelta:
    return instant.astimezone(zone).utcoffset()


def offset_pieces(
    zone: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime, dt.timedelta]]:
    """Split [start, end) into runs of constant UTC offset, to the minute."""
    pieces = []
    piece_start, current = start, _offset(zone, start)
    probe = start
    while probe < end:
        step_end = min(probe + _OFFSET_SCAN_STEP, end)
        if _offset(zone, step_end) != current:
            # Find the first minute with the new offset (transitions are minute-aligned).
            low, high = probe, step_end
            while high - low > dt.timedelta(minutes=1):
                middle = low + (high - low) / 2
                middle = middle.replace(second=0, microsecond=0)
                if middle <= low:
                    middle = low + dt.timedelta(minutes=1)
                if _offset(zone, middle) == current:
                    low = middle
                else:
                    high = middle
            pieces.append((piece_start, high, current))
            piece_start, current = high, _offset(zone, high)
        probe = step_end
    pieces.append((piece_start, end, current))
    return pieces


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _local_naive(day: dt.date, minutes: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minutes)


def available_spans_and_starts(
    availability: Availability, start: dt.datetime, end: dt.datetime
) -> tuple[list[Span], set[dt.datetime]]:
    """The coach's open hours in [start, end) as merged UTC spans, and the grid starts."""
    spans: list[Span] = []
    starts: set[dt.datetime] = set()
    step = dt.timedelta(minutes=availability.step_minutes)
    for piece_start, piece_end, offset in offset_pieces(availability.zone, start, end):
        local_low = (piece_start + offset).replace(tzinfo=None)
        local_high = (piece_end + offset).replace(tzinfo=None)
        day = local_low.date()
        while _local_naive(day, 0) < local_high:
            for open_minute, close_minute in availability.hours_on(day):
                interval_start = _local_naive(day, open_minute)
                low = max(local_low, interval_start)
                high = min(local_high, _local_naive(day, close_minute))
                if low >= high:
                    continue
                spans.append(
                    ((low - offset).replace(tzinfo=dt.UTC), (high - offset).replace(tzinfo=dt.UTC))
                )
                steps_in = -((interval_start - low) // step)  # ceil((low - start) / step)
                grid = interval_start + steps_in * step
                while grid < high:
                    starts.add((grid - offset).replace(tzinfo=dt.UTC))
                    grid += step
            day += dt.timedelta(days=1)
    return _merge(spans), starts


def _inside(spans: Sequence[Span], start: dt.datetime, end: dt.datetime) -> bool:
    index = bisect.bisect_right(spans, (start, dt.datetime.max.replace(tzinfo=dt.UTC))) - 1
    return index >= 0 and spans[index][0] <= start and end <= spans[index][1]


def _overlaps(busy: Sequence[Span], busy_ends: Sequence[dt.datetime], start, end) -> bool:
    # busy is merged and sorted, so ends are sorted too: the first span ending after
    # `start` is the only one that can overlap.
    index = bisect.bisect_right(busy_ends, start)
    return index < len(busy) and busy[index][0] < end


def free_slots(
    availability: Availability,
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    earliest: dt.datetime,
    latest: dt.datetime,
    busy: Iterable[Span] = (),
    booked_starts: Iterable[dt.datetime] = (),
) -> list[dt.datetime]:
    """Start times in [window_start, window_end) a visitor may book, sorted, in UTC.

    `earliest` is now + minimum notice, `latest` now + horizon (a start may equal either).
    `busy` blocks time (sessions, holds, external events); `booked_starts` are the live
    sessions counted towards the per-day maximum, by the coach's local date.
    """
    low = max(window_start, earliest)
    high = min(window_end, latest + dt.timedelta(microseconds=1))
    if low >= high:
        return []
    length = dt.timedelta(minutes=availability.duration_minutes)
    before = dt.timedelta(minutes=availability.buffer_before_minutes)
    after = dt.timedelta(minutes=availability.buffer_after_minutes)
    spans, starts = available_spans_and_starts(
        availability, low - dt.timedelta(days=1), high + length + dt.timedelta(days=1)
    )
    merged_busy = _merge(busy)
    busy_ends = [span_end for _, span_end in merged_busy]
    per_day: Counter[dt.date] = Counter()
    if availability.max_per_day is not None:
        per_day.update(s.astimezone(availability.zone).date() for s in booked_starts)
    slots = []
    for start in sorted(starts):
        if not low <= start < high:
            continue
        end = start + length
        if not _inside(spans, start, end):
            continue
        if _overlaps(merged_busy, busy_ends, start - before, end + after):
            continue
        if (
            availability.max_per_day is not None
            and per_day[start.astimezone(availability.zone).date()] >= availability.max_per_day
        ):
            continue
        slots.append(start)
    return slots
