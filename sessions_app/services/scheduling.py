"""Sessions the coach schedules: create, give a time, move, cancel, record what happened.

What a session uses up is decided here too: a seat client's session takes the month's
allowance (checked under the seat's row lock); a paid one a credit from the ledger.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.audit import audit_record
from coachhub.models import Practice, User
from coachhub.permissions import can, refusal
from coachhub.tenancy import membership_of
from coachhub.timezones import local_month_of
from engagements.models import (
    Collection,
    Engagement,
    EngagementKind,
    Funding,
    SeatAssignment,
    StepState,
)
from engagements.services import checklist_mark

from ..allowances import seat_allowance
from ..ledger import credit_restore_for_session
from ..models import BookingStatus, Consumption, Session, SessionSource, SessionStatus
from ..slot_cache import coach_availability_changed
from .claims import time_claim
from .invites import attendees_notify


def seat_booking_check(
    *,
    seat: SeatAssignment,
    starts_at: dt.datetime,
    now: dt.datetime,
    override_allowed: bool,
) -> None:
    """Refuse what a seat client may not book: the past, outside the contract, over allowance."""
    if starts_at <= now:
        raise ValidationError(
            {"starts_at": "Seat clients cannot be booked into the past; choose a future time."}
        )
    local_day = starts_at.astimezone(seat.practice.zone).date()
    if not seat.contract.covers(local_day):
        raise ValidationError(
            {
                "starts_at": f"{seat.contract.organization}'s contract runs "
                f"{seat.contract.starts_on:%d %b %Y}–{seat.contract.ends_on:%d %b %Y}; "
                "this time is outside it."
            }
        )
    allowance = seat_allowance(seat, at=starts_at)
    if allowance.exhausted and not override_allowed:
        raise ValidationError(
            {
                "starts_at": f"{seat.client.name} has used all {allowance.allowed} sessions of "
                f"their allowance for {allowance.label}. Choose another month, or an owner "
                "can book beyond the allowance with a reason."
            }
        )


@transaction.atomic
def session_create(
    *,
    practice: Practice,
    actor: User,
    engagement: Engagement,
    collection: Collection | None = None,
    starts_at: dt.datetime | None,
    minutes: int,
    title: str = "",
    source: str = SessionSource.MANUAL,
    location: str = "",
    allowance_override_reason: str = "",
    now: dt.datetime | None = None,
) -> Session:
    """A session for an engagement; with no time yet it waits "to be scheduled". A session
    created with a time sends its attendees their invite after commit."""
    now = now or timezone.now()
    seat, consumes, override_reason = funding_for(
        practice=practice,
        actor=actor,
        engagement=engagement,
        starts_at=starts_at,
        minutes=minutes,
        now=now,
        allowance_override_reason=allowance_override_reason,
    )
    session = Session(
        practice=practice,
        engagement=engagement,
        collection=collection or getattr(engagement, "collection", None),
        coach=engagement.coach,
        client=engagement.client,
        title=title or engagement.title,
        status=SessionStatus.TO_SCHEDULE,
        source=source,
        location=location,
        consumes=consumes,
        seat=seat,
        allowance_override_reason=override_reason,
    )
    if starts_at is None:
        session.validate_for_save()
        session.save()
    else:
        time_claim(
            session, starts_at=starts_at, minutes=minutes, status=SessionStatus.SCHEDULED, now=now
        )
        attendees_notify(session, "confirmed")
    audit_record(
        practice=practice,
        actor=actor,
        action="session.create",
        obj=session,
        override=override_reason,
    )
    return session


def funding_for(
    *,
    practice: Practice,
    actor: User,
    engagement: Engagement,
    starts_at: dt.datetime | None,
    minutes: int,
    now: dt.datetime,
    allowance_override_reason: str,
) -> tuple[SeatAssignment | None, str, str]:
    """What a session at `starts_at` consumes, after the seat rules allow it.

    For seat-funded engagements the seat row is locked, so two bookings cannot
    both take the month's last session.
    """
    if starts_at is not None and timezone.is_naive(starts_at):
        raise ValueError("starts_at must be an aware datetime")
    if not 5 <= minutes <= 8 * 60:
        raise ValidationError({"minutes": "A session lasts between 5 minutes and 8 hours."})
    override_reason = allowance_override_reason.strip()
    if override_reason and not can(membership_of(practice, actor), "sessions.override_allowance"):
        raise ValidationError({"allowance_override_reason": refusal("sessions.override_allowance")})
    if engagement.funding != Funding.SEAT or not engagement.client_id:
        return None, Consumption.NOTHING, override_reason
    seat = (
        SeatAssignment.objects.select_for_update(of=("self",))
        .select_related("contract__organization", "client", "practice")
        .filter(practice=practice, client_id=engagement.client_id, ended_on__isnull=True)
        .first()
    )
    if seat is None:
        raise ValidationError("This client no longer has a company seat.")
    if starts_at is not None:
        seat_booking_check(
            seat=seat, starts_at=starts_at, now=now, override_allowed=bool(override_reason)
        )
    return seat, Consumption.SEAT_MONTH, override_reason


@transaction.atomic
def session_schedule(
    *,
    practice: Practice,
    actor: User,
    engagement: Engagement,
    starts_at: dt.datetime,
    minutes: int,
    location: str = "",
    allowance_override_reason: str = "",
    now: dt.datetime | None = None,
) -> Session:
    """Give a time to the session waiting to be scheduled, or add a new one.

    The first session of a per-session engagement or a workshop exists before it has
    a time; scheduling fills it rather than leaving a second record behind.
    """
    waiting = (
        Session.objects.select_for_update()
        .filter(practice=practice, engagement=engagement, status=SessionStatus.TO_SCHEDULE)
        .order_by("created_at")
        .first()
    )
    if waiting is None:
        scheduled = session_create(
            practice=practice,
            actor=actor,
            engagement=engagement,
            starts_at=starts_at,
            minutes=minutes,
            location=location,
            allowance_override_reason=allowance_override_reason,
            now=now,
        )
    else:
        # Keep the waiting session's identity: its URL may already be in an invite.
        seat, consumes, override_reason = funding_for(
            practice=practice,
            actor=actor,
            engagement=engagement,
            starts_at=starts_at,
            minutes=minutes,
            now=now or timezone.now(),
            allowance_override_reason=allowance_override_reason,
        )
        waiting.location = location or waiting.location
        waiting.consumes, waiting.seat = consumes, seat
        waiting.allowance_override_reason = override_reason
        time_claim(
            waiting,
            starts_at=starts_at,
            minutes=minutes,
            status=SessionStatus.SCHEDULED,
            now=now or timezone.now(),
            update_fields=["location", "consumes", "seat", "allowance_override_reason"],
        )
        audit_record(
            practice=practice,
            actor=actor,
            action="session.schedule",
            obj=waiting,
            override=override_reason,
        )
        attendees_notify(waiting, "confirmed")
        scheduled = waiting
    if engagement.kind == EngagementKind.TEAM_WORKSHOP:
        checklist_mark(engagement=engagement, key="workshop_session", state=StepState.DONE)
    return scheduled


def session_cancel_step(session: Session, *, late: bool, now: dt.datetime) -> None:
    """Cancel a locked session; in time, a session paid with a credit gives the credit back."""
    if not late and session.consumes == Consumption.CREDIT:
        credit_restore_for_session(session)
    session.status = SessionStatus.LATE_CANCELLED if late else SessionStatus.CANCELLED
    session.cancelled_at = now
    session.sequence += 1
    session.save(update_fields=["status", "cancelled_at", "sequence"])
    coach_availability_changed(session.coach_id)
    session.bookings.filter(status__in=[BookingStatus.CONFIRMED, BookingStatus.HELD]).update(
        status=BookingStatus.LATE_CANCELLED if late else BookingStatus.CANCELLED, cancelled_at=now
    )
    attendees_notify(session, "cancelled")


@transaction.atomic(durable=True)
def session_cancel(
    *, session: Session, actor: User, late: bool = False, now: dt.datetime | None = None
) -> Session:
    """A coach cancels from the dashboard; `late` counts it as used (a client's late notice)."""
    return _coach_cancels(session=session, actor=actor, late=late, now=now or timezone.now())


def _coach_cancels(*, session: Session, actor: User, late: bool, now: dt.datetime) -> Session:
    session = Session.objects.select_for_update(of=("self",)).get(pk=session.pk)
    if session.status not in (
        SessionStatus.SCHEDULED,
        SessionStatus.HELD,
        SessionStatus.TO_SCHEDULE,
    ):
        raise ValidationError(
            f"A {session.get_status_display().lower()} session cannot be cancelled."
        )
    session_cancel_step(session, late=late, now=now)
    audit_record(
        practice=session.practice, actor=actor, action="session.cancel", obj=session, late=late
    )
    return session


@transaction.atomic(durable=True)
def session_cancel_by_attendee(
    *, session: Session, client_id: int, now: dt.datetime | None = None
) -> Session:
    """The client cancels a session they have no booking for, from their signed page: inside
    the cancellation window it is late-cancelled and counts as used, as a booking's would."""
    now = now or timezone.now()
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("practice")
        .get(pk=session.pk)
    )
    if session.client_id != client_id:
        raise ValidationError("Only the session's client can cancel it; ask the coach.")
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError(
            f"A {session.get_status_display().lower()} session cannot be cancelled."
        )
    if session.starts_at <= now:
        raise ValidationError("This session has begun; it can no longer be cancelled.")
    late = session.is_late_cancel(at=now)
    session_cancel_step(session, late=late, now=now)
    audit_record(
        practice=session.practice,
        actor=None,
        action="session.cancel.attendee",
        obj=session,
        late=late,
    )
    return session


def session_cancel_as_package_ended(*, session: Session, now: dt.datetime | None = None) -> Session:
    """The package paying for a future session ended (the subscription is over): the session
    is cancelled with nothing charged. A step of billing's event processing."""
    now = now or timezone.now()
    session = Session.objects.select_for_update(of=("self",)).get(pk=session.pk)
    if session.status in (SessionStatus.SCHEDULED, SessionStatus.TO_SCHEDULE):
        session_cancel_step(session, late=False, now=now)
        audit_record(
            practice=session.practice, actor=None, action="session.cancel.billing", obj=session
        )
    return session


def session_move(session: Session, *, starts_at: dt.datetime, now: dt.datetime) -> Session:
    """Move a session in time: the same record, UID and funding; SEQUENCE goes up."""
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError("Only a scheduled session can be moved.")
    if session.seat_id:
        seat = (
            SeatAssignment.objects.select_for_update(of=("self",))
            .select_related("contract__organization", "client", "practice")
            .get(pk=session.seat_id)
        )
        zone = session.practice.zone
        same_month = local_month_of(starts_at, zone) == local_month_of(session.starts_at, zone)
        # Within the same month the session already counts; it never takes a second one.
        seat_booking_check(
            seat=seat,
            starts_at=starts_at,
            now=now,
            override_allowed=same_month or bool(session.allowance_override_reason),
        )
    session.sequence += 1
    return time_claim(
        session,
        starts_at=starts_at,
        minutes=int(session.duration.total_seconds() // 60),
        status=SessionStatus.SCHEDULED,
        now=now,
        update_fields=["sequence"],
    )


@transaction.atomic(durable=True)
def session_reschedule(
    *, session: Session, actor: User, starts_at: dt.datetime | None, now: dt.datetime | None = None
) -> Session:
    """A coach moves a session from the dashboard (any free time; no cut-off)."""
    now = now or timezone.now()
    if starts_at is None:
        # A scheduled session is moved, never put back to "no time yet".
        raise ValidationError({"starts_at": "Give the session's new start time."})
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be an aware datetime")
    if starts_at <= now:
        raise ValidationError({"starts_at": "Choose a time in the future."})
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("practice")
        .get(pk=session.pk)
    )
    session_move(session, starts_at=starts_at, now=now)
    audit_record(practice=session.practice, actor=actor, action="session.reschedule", obj=session)
    attendees_notify(session, "rescheduled")
    return session


ALLOWED_TRANSITIONS = {
    SessionStatus.SCHEDULED: {
        SessionStatus.COMPLETED,
        SessionStatus.CANCELLED,
        SessionStatus.LATE_CANCELLED,
        SessionStatus.NO_SHOW,
    },
    SessionStatus.COMPLETED: {SessionStatus.NO_SHOW},
    SessionStatus.NO_SHOW: {SessionStatus.COMPLETED},
}


@transaction.atomic(durable=True)
def session_status_set(
    *, session: Session, actor: User, status: str, now: dt.datetime | None = None
) -> Session:
    """Record what happened: completed / no-show after the start; cancels via session_cancel."""
    now = now or timezone.now()
    if status in (SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED):
        return _coach_cancels(
            session=session, actor=actor, late=status == SessionStatus.LATE_CANCELLED, now=now
        )
    if status not in ALLOWED_TRANSITIONS.get(session.status, set()):
        raise ValidationError(
            f"A {session.get_status_display().lower()} session cannot become "
            f"{SessionStatus(status).label.lower()}."
        )
    if session.starts_at is None or session.starts_at > now:
        raise ValidationError("A session can be marked completed or no-show once it has started.")
    session.status = status
    session.save(update_fields=["status"])
    coach_availability_changed(session.coach_id)
    audit_record(
        practice=session.practice, actor=actor, action="session.status", obj=session, status=status
    )
    return session
