"""Races on the real database: a seat's monthly allowance is never overbooked."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scopes_disabled

from sessions_app.models import Session
from sessions_app.services import session_create

from ..factories import seat_client_engagement

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
