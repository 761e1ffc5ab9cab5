"""Races on the real database between visitors of one coach: the daily maximum holds,
and a fresh group slot fills every place when its first visitors arrive together.

Each visitor is a thread with its own connection, released together by a barrier.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scopes_disabled

from engagements.models import EngagementKind
from engagements.services import practice_set_up
from sessions_app import services
from sessions_app.models import Booking, BookingStatus, Session, SessionStatus
from sessions_app.services import booking as booking_module

from ..kit.factories import UserFactory

UTC = dt.UTC
NOW = dt.datetime(2030, 5, 1, 8, tzinfo=UTC)
DAY = dt.date(2030, 5, 7)


def _race(count: int, attempt: Callable[[int], None]) -> list[str]:
    """Run `attempt(i)` in `count` threads at once; each ends "booked" or its refusal."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            with scopes_disabled():
                attempt(index)
            outcomes.append("booked")
        except ValidationError as error:
            outcomes.append(error.messages[0])
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _coach_with_link(name: str, **link_fields):
    coach = UserFactory(time_zone="America/New_York")
    practice = practice_set_up(owner=coach, name=name)
    with scopes_disabled():
        services.weekly_hours_add(
            practice=practice,
            actor=coach,
            coach=coach,
            weekday=DAY.weekday(),
            starts=dt.time(8),
            ends=dt.time(20),
        )
        link = services.booking_link_save(
            practice=practice,
            actor=coach,
            slug="race",
            title="Race",
            duration_minutes=55,
            step_minutes=60,
            minimum_notice_minutes=0,
            horizon_days=60,
            **link_fields,
        )
    return practice, coach, link


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_visitors_booking_ten_hours_of_a_max_one_day_book_one():
    _practice, coach, link = _coach_with_link("Max one, racing", max_per_day=1)

    def book(index: int) -> None:
        services.booking_create(
            link=link,
            name=f"Visitor {index}",
            email=f"v{index}@example.net",
            starts_at=dt.datetime(2030, 5, 7, 12 + index, tzinfo=UTC),  # 08:00 … 17:00 New York
            time_zone="Europe/Berlin",
            now=NOW,
        )

    outcomes = _race(10, book)
    assert sorted(outcomes) == sorted(["booked"] + [services.SLOT_TAKEN] * 9)
    with scopes_disabled():
        assert Session.objects.filter(coach=coach, status=SessionStatus.SCHEDULED).count() == 1


def _group_link(name: str, *, capacity: int):
    """A coach's group link into a fresh team workshop of `capacity` places."""
    practice, coach, link = _coach_with_link(name)
    with scopes_disabled():
        workshop = services.engagement_create_team_workshop(
            practice=practice,
            actor=coach,
            coach=coach,
            title="Team offsite",
            core_subject="Feedback",
            participants=[],
        )
        return services.booking_link_save(
            practice=practice, actor=coach, link=link, capacity=capacity, engagement=workshop
        )


def _joiner(link, slot: dt.datetime, *, prefix: str):
    """Visitor `index` taking a place at `slot` (for `_race`)."""

    def join(index: int) -> None:
        services.booking_create(
            link=link,
            name=f"Joiner {index}",
            email=f"{prefix}{index}@example.net",
            starts_at=slot,
            time_zone="Europe/Berlin",
            now=NOW,
        )

    return join


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("capacity", [2, 5])
def test_first_visitors_of_a_fresh_group_slot_fill_every_place(capacity):
    link = _group_link("Group, racing", capacity=capacity)
    assert link.engagement.kind == EngagementKind.TEAM_WORKSHOP
    slot = dt.datetime(2030, 5, 7, 14, tzinfo=UTC)
    join = _joiner(link, slot, prefix="j")

    outcomes = _race(capacity + 1, join)  # one more visitor than places
    assert outcomes.count("booked") == capacity
    (refusal,) = [outcome for outcome in outcomes if outcome != "booked"]
    assert refusal in (
        services.SLOT_TAKEN,
        "That session just filled up. Please choose another time.",
    )
    with scopes_disabled():
        (session,) = Session.objects.filter(coach=link.coach, booking_link=link, starts_at=slot)
        assert session.status == SessionStatus.SCHEDULED
        assert (
            Booking.objects.filter(session=session, status=BookingStatus.CONFIRMED).count()
            == capacity
        )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_losing_the_insert_of_a_fresh_group_session_joins_the_winner(monkeypatch):
    """Without the coach's lock (a session created by another path), the exclusion
    constraint decides who creates the session, and the loser joins it."""
    monkeypatch.setattr(booking_module, "coach_bookings_lock", lambda coach_id: None)
    link = _group_link("Group, no lock", capacity=4)
    slot = dt.datetime(2030, 5, 7, 15, tzinfo=UTC)
    join = _joiner(link, slot, prefix="n")

    assert _race(4, join) == ["booked"] * 4
    with scopes_disabled():
        (session,) = Session.objects.filter(coach=link.coach, booking_link=link, starts_at=slot)
        assert session.bookings.filter(status=BookingStatus.CONFIRMED).count() == 4
