"""Time-zone helpers: validation, and calendar months in a given zone."""

from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError


@lru_cache(maxsize=1)
def zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in zone_names():
        raise ValidationError(
            "%(value)s is not a known time zone; use an IANA name such as Europe/London.",
            params={"value": value},
        )


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(zone_names())]


def month_bounds(year: int, month: int, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The instants (UTC) at which a calendar month starts and ends in `zone`."""
    start_local = dt.datetime(year, month, 1, tzinfo=zone)
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    end_local = dt.datetime(next_year, next_month, 1, tzinfo=zone)
    return start_local.astimezone(dt.UTC), end_local.astimezone(dt.UTC)


def parse_month(text: str) -> tuple[int, int] | None:
    """`2026-03` → (2026, 3); None for anything that is not a real month."""
    try:
        year, month = (int(part) for part in text.split("-"))
        dt.date(year, month, 1)
    except ValueError:
        return None
    return year, month


def local_month_of(instant: dt.datetime, zone: ZoneInfo) -> tuple[int, int]:
    local = instant.astimezone(zone)
    return local.year, local.month


def last_months(now: dt.datetime, zone: ZoneInfo, count: int) -> list[tuple[int, int]]:
    """The `count` calendar months (in `zone`) ending with the one that holds `now`."""
    year, month = local_month_of(now, zone)
    months = []
    for _ in range(count):
        months.append((year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months[::-1]


def months_span(months: list[tuple[int, int]], zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The instants (UTC) at which a run of consecutive months starts and ends in `zone`."""
    start, _ = month_bounds(*months[0], zone)
    _, end = month_bounds(*months[-1], zone)
    return start, end


def month_days(year: int, month: int) -> tuple[dt.date, dt.date]:
    """The first and last calendar days of a month."""
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def local_day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of a local date (where midnight falls in a DST gap, the gap's end)."""
    instant = dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    local = instant.astimezone(zone)
    if local.date() > day or (local.date() == day and local.time() > dt.time()):
        # Midnight did not exist; step back to the transition minute.
        while (instant - dt.timedelta(minutes=1)).astimezone(zone).date() == day:
            instant -= dt.timedelta(minutes=1)
    return instant


def wall_clock_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """A wall-clock time in `zone` as a UTC instant; inside a DST gap it moves past the gap."""
    local = dt.datetime.combine(day, at, tzinfo=zone)
    round_trip = local.astimezone(dt.UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != local.replace(tzinfo=None):
        local = round_trip
    return local.astimezone(dt.UTC)


def first_of_month_after(day: dt.date, months: int) -> dt.date:
    """The first day of the month `months` after `day`'s month (3 months after 14 Jan: 1 Apr)."""
    month_index = day.month - 1 + months
    return dt.date(day.year + month_index // 12, month_index % 12 + 1, 1)
