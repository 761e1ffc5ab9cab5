"""Claiming coach time: the one place that writes a session's time, and holds that lapse.

Every service that gives a session a time (booking, scheduling, moving, recurring
generation) goes through `time_claim`, so the overlap rule is written once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from coachhub.models import User

from ..models import (
    EXCLUSION_CONSTRAINT_NAME,
    STATUSES_THAT_BLOCK_TIME,
    Booking,
    BookingStatus,
    Session,
    SessionStatus,
)
from ..slot_cache import coach_availability_changed

SLOT_TAKEN = "That time was just taken. Please choose another time."

# A hold lasts exactly as long as its checkout. Stripe refuses an expiry under 30
# minutes from when *it* receives the call; the extra minute covers the trip.
HOLD_MINUTES = 31


class SlotTaken(ValidationError):
    """Someone else holds or booked that time (or it is no longer offered)."""

    def __init__(self, message: str = SLOT_TAKEN):
        super().__init__(message, code="slot_taken")


def _release_expired_holds(
    *, coach_id: int, start: dt.datetime, end: dt.datetime, now: dt.datetime
) -> None:
    """Free holds past their expiry that overlap [start, end), so they stop blocking."""
    expired = Session.objects.filter(
        coach_id=coach_id,
        status=SessionStatus.HELD,
        hold_expires_at__lte=now,
        starts_at__lt=end,
        ends_at__gt=start,
    )
    holds_release(expired, now=now)


def holds_release(holds: QuerySet[Session], *, now: dt.datetime) -> int:
    """Free these holds and their bookings; returns how many were still held."""
    released = list(holds.values_list("pk", "coach_id"))
    if not released:
        return 0
    ids = [pk for pk, _ in released]
    for coach_id in {coach_id for _, coach_id in released}:
        coach_availability_changed(coach_id)
    Booking.objects.filter(session_id__in=ids, status=BookingStatus.HELD).update(
        status=BookingStatus.CANCELLED, cancelled_at=now
    )
    return Session.objects.filter(pk__in=ids, status=SessionStatus.HELD).update(
        status=SessionStatus.RELEASED, cancelled_at=now
    )


def coach_bookings_lock(coach_id: int) -> None:
    """Bookings of one coach take turns: the coach's row is locked before any session.

    What one booking decides from the coach's other sessions (the daily maximum, whether
    a group session exists yet to join) is then read after the booking before it has
    committed. Lock order: the coach's row first, then sessions. SQLite serialises
    writers anyway; the lock is a no-op there.
    """
    list(User.objects.select_for_update().filter(pk=coach_id).values_list("pk", flat=True))


def time_claim(
    session: Session,
    *,
    starts_at: dt.datetime,
    minutes: int,
    status: str,
    now: dt.datetime,
    hold_expires_at: dt.datetime | None = None,
    update_fields: Sequence[str] = (),
) -> Session:
    """Give `session` a time that no other live session or hold of the coach overlaps.

    The re-check gives the clean message on SQLite (where IMMEDIATE transactions
    serialise writers); on PostgreSQL the exclusion constraint is the last word, and
    its violation becomes the same message.
    """
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    _release_expired_holds(coach_id=session.coach_id, start=starts_at, end=ends_at, now=now)
    clash = (
        Session.objects.filter(
            coach_id=session.coach_id,
            status__in=STATUSES_THAT_BLOCK_TIME,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        )
        .exclude(pk=session.pk)
        .exists()
    )
    if clash:
        raise SlotTaken()
    session.starts_at, session.ends_at = starts_at, ends_at
    session.status = status
    session.hold_expires_at = hold_expires_at
    session.scheduled_at = now
    session.full_clean(exclude=["engagement", "coach", "practice", "collection", "client", "seat"])
    try:
        with transaction.atomic():
            if session.pk is None:
                session.save()
            else:
                session.save(
                    update_fields=[
                        "starts_at",
                        "ends_at",
                        "status",
                        "hold_expires_at",
                        "scheduled_at",
                        *update_fields,
                    ]
                )
    except IntegrityError as error:
        if EXCLUSION_CONSTRAINT_NAME in str(error):
            raise SlotTaken() from None
        raise
    coach_availability_changed(session.coach_id)
    return session


@transaction.atomic(durable=True)
def holds_release_expired(*, now: dt.datetime | None = None) -> int:
    """Free every hold of this practice past its expiry (beat; booking also does it in place)."""
    now = now or timezone.now()
    return holds_release(
        Session.objects.filter(status=SessionStatus.HELD, hold_expires_at__lte=now), now=now
    )
