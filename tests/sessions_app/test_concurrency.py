"""Races on the real database: a seat's monthly allowance is never overbooked."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scopes_disabled

from coachhub.services import practice_create
from engagements import services
from sessions_app.models import Session
from sessions_app.services import session_create

from ..factories import UserFactory

UTC = dt.UTC


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_bookings_never_exceed_the_allowance():
    owner = UserFactory()
    practice = practice_create(owner=owner, name="Race")
    with scopes_disabled():
        organization = services.organization_create(practice=practice, actor=owner, name="Co")
        contract = services.contract_create(
            practice=practice,
            actor=owner,
            organization=organization,
            starts_on=dt.date(2030, 1, 1),
            ends_on=dt.date(2030, 12, 31),
            seats=1,
            sessions_per_seat_per_month=2,
            session_minutes=55,
            price_per_seat_month=100,
        )
        client = services.client_create(practice=practice, actor=owner, name="C", email="c@x.org")
        services.seat_assign(
            practice=practice,
            actor=owner,
            contract=contract,
            client=client,
            coach=owner,
            coach_chosen_at=dt.datetime(2030, 1, 2, tzinfo=UTC),
        )
        engagement = services.engagement_create_per_session(
            practice=practice, actor=owner, client=client, coach=owner
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
