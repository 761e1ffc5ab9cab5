"""A company seat's monthly allowance when its client books: used, restored by a timely
cancel, kept by a late one, and counted by the month in the practice's zone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scopes_disabled

from sessions_app import services
from sessions_app.models import SessionStatus

from ..kit.booking import open_all_week
from ..kit.factories import seat_client_engagement


@pytest.mark.django_db
def test_late_cancel_counts_as_used_and_timely_cancel_restores_the_seat_allowance():
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 1, 2, tzinfo=dt.UTC), name="Cancel"
    )
    from sessions_app.allowances import seat_allowance

    with scopes_disabled():
        link = open_all_week(practice, owner)
        now = dt.datetime(2030, 3, 1, 8, tzinfo=dt.UTC)
        email = engagement.client.email
        early = services.booking_create(
            link=link,
            name="S",
            email=email,
            starts_at=dt.datetime(2030, 3, 10, 10, tzinfo=dt.UTC),
            time_zone="UTC",
            now=now,
        )
        late = services.booking_create(
            link=link,
            name="S",
            email=email,
            starts_at=dt.datetime(2030, 3, 11, 10, tzinfo=dt.UTC),
            time_zone="UTC",
            now=now,
        )
        assert early.session.consumes == "seat_month"
        assert seat_allowance(seat, at=now).used == 2
        # A third in March is beyond the allowance of 2.
        with pytest.raises(ValidationError, match="used all 2 sessions"):
            services.booking_create(
                link=link,
                name="S",
                email=email,
                starts_at=dt.datetime(2030, 3, 12, 10, tzinfo=dt.UTC),
                time_zone="UTC",
                now=now,
            )
        services.booking_cancel(booking=early, now=now)  # days ahead: restored
        services.booking_cancel(booking=late, now=dt.datetime(2030, 3, 11, 0, tzinfo=dt.UTC))
        late.session.refresh_from_db()
        assert late.session.status == SessionStatus.LATE_CANCELLED
        assert seat_allowance(seat, at=now).used == 1


@pytest.mark.django_db
def test_seat_month_boundary_is_the_practice_zone():
    """22:30 UTC on 31 March is 1 April in Auckland: it uses April's allowance."""
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 1, 2, tzinfo=dt.UTC), name="Boundary"
    )
    from sessions_app.allowances import seat_allowance

    with scopes_disabled():
        practice.time_zone = "Pacific/Auckland"
        practice.save(update_fields=["time_zone"])
        link = open_all_week(practice, owner)
        now = dt.datetime(2030, 3, 1, tzinfo=dt.UTC)
        booking = services.booking_create(
            link=link,
            name="S",
            email=engagement.client.email,
            starts_at=dt.datetime(2030, 3, 31, 22, tzinfo=dt.UTC),
            time_zone="UTC",
            now=now,
        )
        assert seat_allowance(seat, at=dt.datetime(2030, 4, 10, tzinfo=dt.UTC)).used == 1
        assert seat_allowance(seat, at=dt.datetime(2030, 3, 10, tzinfo=dt.UTC)).used == 0
        # Not bookable in the past.
        with pytest.raises(ValidationError):
            services.booking_create(
                link=link,
                name="S",
                email=engagement.client.email,
                starts_at=dt.datetime(2030, 2, 27, 10, tzinfo=dt.UTC),
                time_zone="UTC",
                now=now,
            )
        assert booking.session.status == SessionStatus.SCHEDULED
