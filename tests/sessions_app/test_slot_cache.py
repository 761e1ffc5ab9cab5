"""The public slots are computed once per coach availability version and minute:
a repeat visit costs no slot queries, and every change a visitor could notice
shows at once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from sessions_app import services
from sessions_app.models import DateOverride, ExternalCalendar, WeeklyHours
from sessions_app.services import external_calendar_refresh
from sessions_app.slot_cache import SlotCacheEntry, coach_availability_changed

from ..kit.booking import open_all_week

# Clear of the world's own sessions (days 2 and 5) in every zone, at any hour the suite runs.
DAY = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).date()


def _slots(client, link, *, day: dt.date = DAY, tz: str = "UTC") -> tuple[list[str], int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            f"/book/{link.practice.slug}/{link.slug}/slots?start={day}&end={day}&tz={tz}"
        )
    assert response.status_code == 200, response.content
    return response.json()["slots"], len(queries)


@pytest.mark.django_db
def test_a_repeat_visit_needs_no_database_and_shows_the_same_slots(world, client):
    link = open_all_week(world.home.practice, world.home.coach)
    first, cold_queries = _slots(client, link)
    again, warm_queries = _slots(client, link)
    assert again == first
    assert warm_queries == 0 < cold_queries
    # Another zone is another answer (the same instants, written with its offset).
    tokyo, _ = _slots(client, link, tz="Asia/Tokyo")
    assert tokyo != first and len(tokyo) == len(first)


@pytest.mark.django_db
def test_rule_changes_show_at_once(world, client):
    home = world.home
    link = open_all_week(home.practice, home.coach)
    assert len(_slots(client, link)[0]) == 24
    with scopes_disabled():
        services.date_override_add(
            practice=home.practice,
            actor=home.coach,
            coach=home.coach,
            date=DAY,
            starts=dt.time(9),
            ends=dt.time(11),
        )
    coach_zone = ZoneInfo(home.coach.time_zone)
    assert _slots(client, link)[0] == [
        dt.datetime.combine(DAY, dt.time(hour), tzinfo=coach_zone).astimezone(dt.UTC).isoformat()
        for hour in (9, 10)
    ]
    with scopes_disabled():
        override = DateOverride.objects.get(coach=home.coach, date=DAY)
        services.availability_row_delete(row=override, actor=home.coach)
    assert len(_slots(client, link)[0]) == 24
    with scopes_disabled():
        services.booking_link_save(
            practice=home.practice, actor=home.coach, link=link, step_minutes=120
        )
        link.refresh_from_db()
    assert len(_slots(client, link)[0]) == 12  # every other hour
    with scopes_disabled():
        for hours in WeeklyHours.objects.filter(coach=home.coach):
            services.availability_row_delete(row=hours, actor=home.coach)
    assert _slots(client, link)[0] == []


@pytest.mark.django_db
def test_a_refreshed_feed_shows_at_once(world, client, feed_server):
    home = world.home
    link = open_all_week(home.practice, home.coach)
    assert f"{DAY}T10:00:00+00:00" in _slots(client, link)[0]
    stamp = DAY.strftime("%Y%m%d")
    feed_server.body = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:busy@test\r\nDTSTART:{stamp}T100000Z\r\nDTEND:{stamp}T110000Z\r\n"
        "SUMMARY:Busy\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    with scopes_disabled():
        calendar = ExternalCalendar.objects.create(
            practice=home.practice, coach=home.coach, url=feed_server.url
        )
        assert external_calendar_refresh(calendar=calendar) == "updated"
    assert f"{DAY}T10:00:00+00:00" not in _slots(client, link)[0]


@pytest.mark.django_db
def test_a_new_minute_is_a_new_entry_judged_at_the_end_of_that_minute():
    """Notice and hold expiry move on by themselves, conservatively."""
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

    def entry(now: dt.datetime) -> SlotCacheEntry:
        return SlotCacheEntry(
            practice_slug="p",
            link_slug="l",
            view="test",
            window_start=start,
            window_end=start + dt.timedelta(days=1),
            now=now,
        )

    nine = dt.datetime(2029, 12, 31, 9, 0, 10, tzinfo=dt.UTC)
    first = entry(nine)
    assert first.as_of == dt.datetime(2029, 12, 31, 9, 1, tzinfo=dt.UTC)
    first.put(coach_id=7, version=first.version_of(7), value=["computed"])
    assert entry(nine + dt.timedelta(seconds=40)).get() == ["computed"]
    assert entry(nine + dt.timedelta(seconds=60)).get() is None
    coach_availability_changed(7)
    assert entry(nine + dt.timedelta(seconds=40)).get() is None
