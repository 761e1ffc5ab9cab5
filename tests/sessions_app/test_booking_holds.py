"""Paid booking links hold the slot until the checkout expires; expired holds are released
(by the next booking, and by beat's sweep)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scopes_disabled

from sessions_app import services
from sessions_app.models import BookingStatus, SessionStatus

from ..kit.booking import open_all_week


@pytest.mark.django_db
def test_paid_link_holds_the_slot_until_expiry_then_frees_it(world):
    link = open_all_week(world.home.practice, world.home.coach, requires_payment=True)
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    slot = now + dt.timedelta(days=3)
    with scopes_disabled():
        with pytest.raises(ValidationError, match="online payment is not set up"):
            services.booking_create(
                link=link,
                name="P",
                email="payer@example.net",
                starts_at=slot,
                time_zone="UTC",
                now=now,
            )
        hold = services.booking_create(
            link=link,
            name="P",
            email="payer@example.net",
            starts_at=slot,
            time_zone="UTC",
            now=now,
            checkout_ready=True,
        )
        assert hold.status == BookingStatus.HELD
        assert hold.session.hold_expires_at - now >= dt.timedelta(minutes=30)
        with pytest.raises(services.SlotTaken):
            services.booking_create(
                link=link,
                name="Q",
                email="other@example.net",
                starts_at=slot,
                time_zone="UTC",
                now=now + dt.timedelta(minutes=10),
                checkout_ready=True,
            )
        # After the hold expires the slot is offered and can be taken by someone else.
        later = now + dt.timedelta(minutes=31)
        from sessions_app.selectors import link_slots

        assert slot in link_slots(
            link, window_start=slot, window_end=slot + dt.timedelta(hours=1), now=later
        )
        taken = services.booking_create(
            link=link,
            name="Q",
            email="other@example.net",
            starts_at=slot,
            time_zone="UTC",
            now=later,
            checkout_ready=True,
        )
        assert taken.session_id != hold.session_id
        hold.session.refresh_from_db()
        assert hold.session.status == SessionStatus.RELEASED
        with pytest.raises(ValidationError, match="expired"):
            services.booking_hold_confirm(booking=hold, now=later)
        # The second visitor's hold confirms into a scheduled session, once.
        services.booking_hold_confirm(booking=taken, now=later)
        services.booking_hold_confirm(booking=taken, now=later)
        taken.session.refresh_from_db()
        assert taken.session.status == SessionStatus.SCHEDULED


@pytest.mark.django_db
def test_beat_task_releases_expired_holds(world):
    from sessions_app.tasks import holds_release

    link = open_all_week(world.home.practice, world.home.coach, requires_payment=True)
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=1)
    with scopes_disabled():
        hold = services.booking_create(
            link=link,
            name="P",
            email="payer@example.net",
            starts_at=now + dt.timedelta(days=3),
            time_zone="UTC",
            now=now,
            checkout_ready=True,
        )
    assert holds_release() == 1
    with scopes_disabled():
        hold.refresh_from_db()
        assert hold.status == BookingStatus.CANCELLED
