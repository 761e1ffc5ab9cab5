"""The daily maximum counts the coach's whole local day, whatever zone the visitor
looks from, and booking enforces it (races: test_booking_races.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scopes_disabled

from engagements.services import client_create, practice_set_up
from sessions_app import services
from sessions_app.models import Session, SessionStatus
from sessions_app.slot_cache import coach_availability_changed

from ..kit.booking import book, slots_url
from ..kit.factories import UserFactory

NEW_YORK = ZoneInfo("America/New_York")
DAY = dt.date(2027, 3, 16)  # a Tuesday, just after the US clocks went forward


def new_york_coach_with_a_full_day(*, name: str = "Max per day"):
    """Tuesday hours 09:30–17:30 New York, a max-1 link, and the day already taken by a
    session the coach booked outside their hours (21:30–22:00)."""
    coach = UserFactory(time_zone="America/New_York")
    practice = practice_set_up(owner=coach, name=name)
    with scopes_disabled():
        services.weekly_hours_add(
            practice=practice,
            actor=coach,
            coach=coach,
            weekday=1,
            starts=dt.time(9, 30),
            ends=dt.time(17, 30),
        )
        link = services.booking_link_save(
            practice=practice,
            actor=coach,
            slug="max-one",
            title="One a day",
            duration_minutes=55,
            step_minutes=15,
            buffer_before_minutes=0,
            buffer_after_minutes=5,
            minimum_notice_minutes=0,
            horizon_days=730,
            max_per_day=1,
        )
        client = client_create(
            practice=practice, actor=coach, name="Evening", email="e@example.net"
        )
        services.engagement_create_per_session(
            practice=practice,
            actor=coach,
            client=client,
            coach=coach,
            session_minutes=30,
            first_session_at=dt.datetime.combine(DAY, dt.time(21, 30), tzinfo=NEW_YORK),
        )
    return practice, coach, link


@pytest.mark.django_db
@pytest.mark.parametrize("visitor_zone", ["America/New_York", "Europe/London", "Asia/Tokyo"])
def test_a_full_day_offers_nothing_in_any_visitor_zone(client, visitor_zone):
    _practice, _coach, link = new_york_coach_with_a_full_day()
    response = client.get(slots_url(link, start=DAY, end=DAY, tz=visitor_zone))
    assert response.status_code == 200
    assert response.json()["slots"] == []
    # Asked a day either side (the visitor's Tuesday may straddle two of the coach's days).
    wide = client.get(
        slots_url(
            link, start=DAY - dt.timedelta(days=1), end=DAY + dt.timedelta(days=1), tz=visitor_zone
        )
    )
    assert wide.json()["slots"] == []


@pytest.mark.django_db
def test_booking_a_full_day_is_refused_and_the_coach_keeps_one_session(client):
    _practice, coach, link = new_york_coach_with_a_full_day()
    for hour, minute in ((9, 30), (15, 0)):
        start = dt.datetime.combine(DAY, dt.time(hour, minute), tzinfo=NEW_YORK)
        response = book(
            client, link, start.isoformat(), email=f"v{hour}@example.net", tz="Europe/London"
        )
        assert response.status_code == 409
        assert "That time was just taken" in response.content.decode()
    with scopes_disabled():
        assert Session.objects.filter(coach=coach, status=SessionStatus.SCHEDULED).count() == 1


@pytest.mark.django_db
def test_a_day_with_room_offers_its_hours_until_the_maximum_is_reached(client):
    _practice, coach, link = new_york_coach_with_a_full_day()
    next_tuesday = DAY + dt.timedelta(days=7)
    slots = client.get(slots_url(link, start=next_tuesday, end=next_tuesday, tz="Europe/London"))
    assert len(slots.json()["slots"]) == 29  # 09:30 … 16:30 New York, every 15 minutes
    first = slots.json()["slots"][0]
    assert book(client, link, first, tz="Europe/London").status_code == 302
    after = client.get(slots_url(link, start=next_tuesday, end=next_tuesday, tz="America/New_York"))
    assert after.json()["slots"] == []


@pytest.mark.django_db
def test_a_live_checkout_hold_counts_towards_the_maximum(client):
    """A held slot is a session promised to someone paying for it."""
    _practice, coach, link = new_york_coach_with_a_full_day()
    with scopes_disabled():
        session = Session.objects.get(coach=coach)
        session.status = SessionStatus.HELD
        session.hold_expires_at = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
        session.save(update_fields=["status", "hold_expires_at"])
    assert client.get(slots_url(link, start=DAY, end=DAY, tz="UTC")).json()["slots"] == []
    with scopes_disabled():
        session.hold_expires_at = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # lapsed: frees the day
        session.save(update_fields=["hold_expires_at"])
        coach_availability_changed(coach.pk)
    assert len(client.get(slots_url(link, start=DAY, end=DAY, tz="UTC")).json()["slots"]) == 29
