"""Slot computation against a minute-by-minute brute-force reference.

The reference shares no code with `sessions_app.slots`: it walks every minute of the
window, converts it to the coach's wall clock with zoneinfo and checks each rule
directly. Windows are drawn around real DST changes of zones with 30- and 45-minute
offsets and 30-minute DST shifts.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessions_app.slots import Availability, free_slots, offset_pieces

ZONES = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
]
MINUTE = dt.timedelta(minutes=1)


@cache
def dst_changes(zone_name: str) -> list[dt.datetime]:
    """UTC instants (to the hour) in 2026–2027 when the zone's offset changes."""
    zone = ZoneInfo(zone_name)
    instant = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    changes = []
    previous = instant.astimezone(zone).utcoffset()
    while instant.year < 2028:
        instant += dt.timedelta(hours=1)
        offset = instant.astimezone(zone).utcoffset()
        if offset != previous:
            changes.append(instant)
            previous = offset
    return changes or [dt.datetime(2026, 3, 29, tzinfo=dt.UTC)]


def wall(instant: dt.datetime, zone: ZoneInfo) -> tuple[dt.date, int]:
    local = instant.astimezone(zone)
    return local.date(), local.hour * 60 + local.minute


def reference_slots(
    availability: Availability,
    *,
    window_start,
    window_end,
    earliest,
    latest,
    busy,
    booked_starts,
):
    zone = availability.zone
    length = availability.duration_minutes

    def open_at(instant) -> bool:
        day, minute = wall(instant, zone)
        return any(a <= minute < b for a, b in availability.hours_on(day))

    def on_grid(instant) -> bool:
        day, minute = wall(instant, zone)
        return any(
            a <= minute < b and (minute - a) % availability.step_minutes == 0
            for a, b in availability.hours_on(day)
        )

    per_day: dict[dt.date, int] = {}
    for booked in booked_starts:
        local_day = booked.astimezone(zone).date()
        per_day[local_day] = per_day.get(local_day, 0) + 1

    slots = []
    minute = window_start
    while minute < window_end:
        ok = earliest <= minute <= latest and on_grid(minute)
        ok = ok and all(open_at(minute + k * MINUTE) for k in range(length))
        if ok:
            padded_start = minute - dt.timedelta(minutes=availability.buffer_before_minutes)
            padded_end = minute + dt.timedelta(minutes=length + availability.buffer_after_minutes)
            ok = not any(s < padded_end and padded_start < e for s, e in busy)
        if ok and availability.max_per_day is not None:
            ok = per_day.get(minute.astimezone(zone).date(), 0) < availability.max_per_day
        if ok:
            slots.append(minute)
        minute += MINUTE
    return slots


quarter_hours = st.integers(min_value=0, max_value=96).map(lambda q: q * 15)


@st.composite
def intervals(draw) -> list[tuple[int, int]]:
    result = []
    for _ in range(draw(st.integers(0, 2))):
        a, b = sorted(draw(st.lists(quarter_hours, min_size=2, max_size=2, unique=True)))
        result.append((a, b))
    return result


@st.composite
def scenarios(draw):
    coach_zone = draw(st.sampled_from(ZONES))
    visitor_zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    change = draw(st.sampled_from(dst_changes(coach_zone)))
    # Afternoon availability on the change day is in the mix: hours are drawn freely.
    window_start = (change + dt.timedelta(hours=draw(st.integers(-40, 10)))).astimezone(
        visitor_zone
    )
    window_start = window_start.replace(minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    window_end = window_start + dt.timedelta(hours=draw(st.integers(1, 56)))
    weekly = {day: draw(intervals()) for day in range(7)}
    change_day = change.astimezone(ZoneInfo(coach_zone)).date()
    overrides = {}
    if draw(st.booleans()):
        overrides[change_day + dt.timedelta(days=draw(st.integers(-1, 1)))] = draw(intervals())
    availability = Availability(
        zone=ZoneInfo(coach_zone),
        weekly=weekly,
        overrides=overrides,
        duration_minutes=draw(st.sampled_from([15, 30, 45, 55, 60, 90])),
        step_minutes=draw(st.sampled_from([15, 30, 60])),
        buffer_before_minutes=draw(st.sampled_from([0, 0, 10, 15])),
        buffer_after_minutes=draw(st.sampled_from([0, 5, 30])),
        max_per_day=draw(st.sampled_from([None, None, 1, 2])),
    )
    # Minimum notice that ends near the DST change.
    now = change + dt.timedelta(minutes=draw(st.integers(-48 * 60, 12 * 60)))
    earliest = now + dt.timedelta(minutes=draw(st.sampled_from([0, 60, 12 * 60])))
    latest = now + dt.timedelta(hours=draw(st.integers(1, 72)))
    busy = []
    for _ in range(draw(st.integers(0, 4))):
        start = window_start + dt.timedelta(minutes=draw(st.integers(-120, 56 * 60)))
        busy.append((start, start + dt.timedelta(minutes=draw(st.integers(1, 300)))))
    booked_starts = [s for s, _ in busy[: draw(st.integers(0, len(busy)))]]
    return availability, dict(
        window_start=window_start,
        window_end=window_end,
        earliest=earliest,
        latest=latest,
        busy=busy,
        booked_starts=booked_starts,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_slots_match_brute_force_reference(scenario):
    availability, arguments = scenario
    fast = free_slots(availability, **arguments)
    expected = reference_slots(availability, **arguments)
    assert fast == expected
    assert len(set(fast)) == len(fast), "a slot is offered twice"


def test_offset_pieces_find_the_exact_minute_of_a_dst_change():
    zone = ZoneInfo("Pacific/Chatham")
    # Chatham springs forward at 02:45 local standard time (+12:45 → +13:45).
    pieces = offset_pieces(
        zone,
        dt.datetime(2026, 9, 25, tzinfo=dt.UTC),
        dt.datetime(2026, 9, 28, tzinfo=dt.UTC),
    )
    assert len(pieces) == 2
    change = pieces[0][1]
    assert change.astimezone(zone).strftime("%H:%M %z") == "03:45 +1345"
    assert (change - MINUTE).astimezone(zone).strftime("%H:%M %z") == "02:44 +1245"


def test_spring_forward_gap_is_never_offered_and_hours_shrink():
    new_york = ZoneInfo("America/New_York")
    availability = Availability(
        zone=new_york, weekly={6: [(60, 240)]}, duration_minutes=30, step_minutes=30
    )
    start = dt.datetime(2027, 3, 14, 0, 0, tzinfo=new_york).astimezone(dt.UTC)
    slots = free_slots(
        availability,
        window_start=start,
        window_end=start + dt.timedelta(days=1),
        earliest=start,
        latest=start + dt.timedelta(days=2),
    )
    local = [s.astimezone(new_york).strftime("%H:%M") for s in slots]
    # 02:00 and 02:30 do not exist on 14 March 2027 in New York.
    assert local == ["01:00", "01:30", "03:00", "03:30"]


def test_fall_back_repeated_hour_offers_both_instants():
    new_york = ZoneInfo("America/New_York")
    availability = Availability(
        zone=new_york, weekly={6: [(60, 120)]}, duration_minutes=30, step_minutes=30
    )
    start = dt.datetime(2026, 11, 1, 0, 0, tzinfo=new_york).astimezone(dt.UTC)
    slots = free_slots(
        availability,
        window_start=start,
        window_end=start + dt.timedelta(days=1),
        earliest=start,
        latest=start + dt.timedelta(days=2),
    )
    assert [s.astimezone(new_york).strftime("%H:%M%z") for s in slots] == [
        "01:00-0400",
        "01:30-0400",
        "01:00-0500",
        "01:30-0500",
    ]


def test_afternoon_hours_on_a_dst_day_use_that_day_offset():
    london = ZoneInfo("Europe/London")
    availability = Availability(
        zone=london, weekly={6: [(14 * 60, 16 * 60)]}, duration_minutes=60, step_minutes=60
    )
    start = dt.datetime(2027, 3, 28, tzinfo=dt.UTC)
    slots = free_slots(
        availability,
        window_start=start,
        window_end=start + dt.timedelta(days=1),
        earliest=start,
        latest=start + dt.timedelta(days=2),
    )
    assert [s.isoformat() for s in slots] == [
        "2027-03-28T13:00:00+00:00",
        "2027-03-28T14:00:00+00:00",
    ]
