"""Time-zone helpers: validation, the viewer's zone for a request, a zone's likely currency,
and calendar months in a given zone."""

from __future__ import annotations

import calendar
import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.utils import timezone


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


def known_zone(name: str | None) -> ZoneInfo | None:
    """The zone of that IANA name, or None for anything else (empty, misspelt, made up)."""
    return ZoneInfo(name) if name and name in zone_names() else None


def viewer_zone(user, practice) -> ZoneInfo:
    """The zone a signed-in member sees times in: their own (the one their weekly hours are
    read in), else their practice's, else the project's default."""
    return (
        known_zone(getattr(user, "time_zone", None))
        or known_zone(getattr(practice, "time_zone", None))
        or timezone.get_default_timezone()
    )


class ViewerTimeZoneMiddleware:
    """Activate the viewer's zone once per request (after the practice is resolved), so every
    template, `{% now %}` and `LocalDateTimeField` shows and reads times in it.

    Anonymous requests keep the default zone; public pages convert to the visitor's zone
    explicitly (`{% timezone zone %}`), which wins over this.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        timezone.activate(viewer_zone(user, getattr(request, "practice", None)))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# The currency a new practice most likely charges in, from its zone: exact zones first, then
# a region prefix. A suggestion only: the sign-up form shows it and the person may change it.
EURO_ZONES = frozenset(
    {
        "Europe/Amsterdam", "Europe/Athens", "Europe/Berlin", "Europe/Bratislava",
        "Europe/Brussels", "Europe/Busingen", "Europe/Dublin", "Europe/Helsinki",
        "Europe/Lisbon", "Europe/Ljubljana", "Europe/Luxembourg", "Europe/Madrid",
        "Europe/Malta", "Europe/Monaco", "Europe/Paris", "Europe/Riga", "Europe/Rome",
        "Europe/San_Marino", "Europe/Tallinn", "Europe/Vatican", "Europe/Vienna",
        "Europe/Vilnius", "Europe/Zagreb", "Europe/Andorra", "Atlantic/Madeira",
        "Atlantic/Azores", "Atlantic/Canary", "Africa/Ceuta", "Asia/Nicosia", "Asia/Famagusta",
        "Europe/Nicosia",
    }
)  # fmt: skip
CURRENCY_BY_ZONE: dict[str, str] = {
    "Europe/London": "GBP", "Europe/Belfast": "GBP", "Europe/Guernsey": "GBP",
    "Europe/Isle_of_Man": "GBP", "Europe/Jersey": "GBP",
    "Europe/Zurich": "CHF", "Europe/Vaduz": "CHF",
    "Europe/Oslo": "NOK", "Europe/Stockholm": "SEK", "Europe/Copenhagen": "DKK",
    "Europe/Warsaw": "PLN", "Europe/Prague": "CZK", "Europe/Budapest": "HUF",
    "America/Toronto": "CAD", "America/Vancouver": "CAD", "America/Edmonton": "CAD",
    "America/Winnipeg": "CAD", "America/Halifax": "CAD", "America/St_Johns": "CAD",
    "America/Regina": "CAD", "America/Mexico_City": "MXN", "America/Sao_Paulo": "BRL",
    "Asia/Tokyo": "JPY", "Asia/Singapore": "SGD", "Asia/Hong_Kong": "HKD",
    "Asia/Kolkata": "INR", "Asia/Dubai": "AED", "Pacific/Auckland": "NZD",
    "Africa/Johannesburg": "ZAR",
}  # fmt: skip
CURRENCY_BY_REGION: dict[str, str] = {"America/": "USD", "Australia/": "AUD", "US/": "USD"}
FALLBACK_TIME_ZONE, FALLBACK_CURRENCY = "Europe/London", "GBP"


def currency_for_zone(name: str) -> str:
    """The currency a practice in that zone most likely charges in (GBP when we cannot say)."""
    if name in EURO_ZONES:
        return "EUR"
    if name in CURRENCY_BY_ZONE:
        return CURRENCY_BY_ZONE[name]
    for prefix, currency in CURRENCY_BY_REGION.items():
        if name.startswith(prefix):
            return currency
    return FALLBACK_CURRENCY


def currency_table() -> dict[str, str]:
    """Every exact zone → currency pair and each region prefix (the sign-up script reads it)."""
    return {
        **dict.fromkeys(sorted(EURO_ZONES), "EUR"),
        **CURRENCY_BY_ZONE,
        **CURRENCY_BY_REGION,
    }


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


TYPED_TIME_RANGE = dt.timedelta(days=36525)  # a century either side of now
PICKER_HORIZON = dt.timedelta(days=731)  # booking horizons reach 730 days at most


def typed_instant(value: str | None, *, now: dt.datetime) -> dt.datetime | None:
    """A time typed into an address or form (ISO, with its offset) in UTC; None for
    anything else: no offset, a year 1 or 9999 time that overflows on the way to UTC, or
    one so far from now that a slot search around it would overflow."""
    try:
        instant = dt.datetime.fromisoformat(value or "")
        instant = instant.astimezone(dt.UTC) if instant.tzinfo else None
    except (ValueError, OverflowError):
        return None
    if instant is None or abs(instant - now) > TYPED_TIME_RANGE:
        return None
    return instant


def picker_first_day(value: str | None, *, today: dt.date) -> dt.date:
    """A time picker's first day from `?from=`: today at the earliest, and no later than
    any booking horizon reaches (a typed 9999-12-31 would overflow the week after it)."""
    try:
        wanted = dt.date.fromisoformat(value or "")
    except ValueError:
        return today
    return min(max(wanted, today), today + PICKER_HORIZON)
