"""Races on the real database: a seat's monthly allowance is never overbooked."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scopes_disabled

from sessions_app.models import Session
from sessions_app.services import session_create

from ..kit.factories import seat_client_engagement

UTC = dt.UTC


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookings_never_exceed_the_allowance():
    practice, owner, _seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 1, 2, tzinfo=UTC), name="Race"
    )
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def book(day: int) -> None:
        barrier.wait()
        try:
            with scopes_disabled():
                session_create(
                    practice=practice,
                    actor=owner,
                    engagement=engagement,
                    starts_at=dt.datetime(2030, 3, day, 10, tzinfo=UTC),
                    minutes=55,
                    now=dt.datetime(2030, 2, 1, tzinfo=UTC),
                )
            outcomes.append("booked")
        except ValidationError as error:
            assert "used all 2 sessions" in " ".join(error.messages)
            outcomes.append("refused")
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=book, args=(day,)) for day in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] * 2 + ["refused"] * 18
    with scopes_disabled():
        assert Session.objects.filter(engagement=engagement, starts_at__isnull=False).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_visitors_racing_for_one_slot_one_wins_the_rest_are_told_cleanly():
    """Separate threads and connections; the exclusion constraint decides."""
    from engagements.services import practice_set_up
    from sessions_app import services

    from ..kit.factories import UserFactory

    coach = UserFactory(time_zone="UTC")
    practice = practice_set_up(owner=coach, name="Race for a slot")
    now = dt.datetime(2030, 5, 1, 8, tzinfo=UTC)
    slot = dt.datetime(2030, 5, 6, 10, tzinfo=UTC)
    with scopes_disabled():
        for weekday in range(7):
            services.weekly_hours_add(
                practice=practice,
                actor=coach,
                coach=coach,
                weekday=weekday,
                starts=dt.time(9),
                ends=dt.time(17),
            )
        link = services.booking_link_save(
            practice=practice,
            actor=coach,
            slug="race",
            title="Race",
            minimum_notice_minutes=0,
            horizon_days=60,
        )
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def book(index: int) -> None:
        barrier.wait()
        try:
            with scopes_disabled():
                services.booking_create(
                    link=link,
                    name=f"Visitor {index}",
                    email=f"v{index}@example.net",
                    starts_at=slot,
                    time_zone="Europe/Berlin",
                    now=now,
                )
            outcomes.append("booked")
        except services.SlotTaken as error:
            assert error.messages == [services.SLOT_TAKEN]
            outcomes.append("taken")
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] + ["taken"] * 19
    with scopes_disabled():
        live = Session.objects.filter(coach=coach, status="scheduled")
        assert live.count() == 1
        assert live.get().starts_at == slot


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_itself_refuses_overlapping_sessions():
    """Even a write that skips the service cannot overlap: the constraint is the last word."""
    from django.db import IntegrityError

    from engagements import services as engagement_services
    from engagements.services import practice_set_up
    from sessions_app import services as session_services

    from ..kit.factories import UserFactory

    coach = UserFactory()
    practice = practice_set_up(owner=coach, name="Constraint")
    with scopes_disabled():
        client = engagement_services.client_create(
            practice=practice, actor=coach, name="C", email="c@example.net"
        )
        engagement = session_services.engagement_create_per_session(
            practice=practice,
            actor=coach,
            client=client,
            coach=coach,
            first_session_at=dt.datetime(2031, 1, 6, 10, tzinfo=UTC),
        )
        with pytest.raises(IntegrityError, match="session_no_overlap_per_coach"):
            Session.objects.create(
                practice=practice,
                engagement=engagement,
                coach=coach,
                title="Overlap",
                starts_at=dt.datetime(2031, 1, 6, 10, 30, tzinfo=UTC),
                ends_at=dt.datetime(2031, 1, 6, 11, 30, tzinfo=UTC),
                status="scheduled",
            )
        # A cancelled session never blocks.
        Session.objects.create(
            practice=practice,
            engagement=engagement,
            coach=coach,
            title="Cancelled",
            starts_at=dt.datetime(2031, 1, 6, 10, 30, tzinfo=UTC),
            ends_at=dt.datetime(2031, 1, 6, 11, 30, tzinfo=UTC),
            status="cancelled",
        )
