"""Writes for sessions: create (with the seat rules) and recurring generation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.models import Practice, User
from coachhub.services import audit_record
from coachhub.tenancy import membership_of
from engagements.models import (
    Cadence,
    Collection,
    Engagement,
    Funding,
    SeatAssignment,
)

from .models import Consumes, Session, SessionSource, SessionStatus


def seat_booking_check(
    *,
    seat: SeatAssignment,
    starts_at: dt.datetime,
    now: dt.datetime,
    override_allowed: bool,
) -> None:
    """Refuse what a seat client may not book: the past, outside the contract, over allowance."""
    from engagements.selectors import seat_allowance

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
    """A session for an engagement; with no time yet it waits "to be scheduled"."""
    now = now or timezone.now()
    seat, consumes, override_reason = _funding_for(
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
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=minutes) if starts_at else None,
        status=SessionStatus.SCHEDULED if starts_at else SessionStatus.TO_SCHEDULE,
        source=source,
        location=location,
        consumes=consumes,
        seat=seat,
        allowance_override_reason=override_reason,
    )
    session.full_clean()
    session.save()
    audit_record(
        practice=practice,
        actor=actor,
        action="session.create",
        obj=session,
        override=override_reason,
    )
    return session


def _funding_for(
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
    membership = membership_of(practice, actor)
    if override_reason and not (membership and membership.is_owner):
        raise ValidationError(
            {"allowance_override_reason": "Only an owner can book beyond a seat's allowance."}
        )
    if engagement.funding != Funding.SEAT or not engagement.client_id:
        return None, Consumes.NOTHING, override_reason
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
    return seat, Consumes.SEAT_MONTH, override_reason


def _local_start(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """A wall-clock time in `zone`; a time inside a DST gap moves forward past the gap."""
    local = dt.datetime.combine(day, at, tzinfo=zone)
    round_trip = local.astimezone(dt.UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != local.replace(tzinfo=None):
        local = round_trip
    return local.astimezone(dt.UTC)


def recurring_dates(
    *, starts_on: dt.date, ends_on: dt.date, weekday: int, cadence: str, per_month: int
) -> list[dt.date]:
    """Session dates for a cadence, at most `per_month` in any calendar month."""
    first = starts_on + dt.timedelta(days=(weekday - starts_on.weekday()) % 7)
    candidates: list[dt.date] = []
    if cadence == Cadence.MONTHLY:
        day = first
        while day <= ends_on:
            candidates.append(day)
            next_month = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            day = next_month + dt.timedelta(days=(weekday - next_month.weekday()) % 7)
    else:
        step = dt.timedelta(days=7 if cadence == Cadence.WEEKLY else 14)
        day = first
        while day <= ends_on:
            candidates.append(day)
            day += step
    counts: dict[tuple[int, int], int] = {}
    dates = []
    for day in candidates:
        key = (day.year, day.month)
        if counts.get(key, 0) < per_month:
            counts[key] = counts.get(key, 0) + 1
            dates.append(day)
    return dates


@transaction.atomic
def recurring_sessions_generate(*, engagement: Engagement, actor: User) -> int:
    """Schedule a monthly package's sessions from its cadence, within its monthly hours.

    Wall-clock times are the coach's; a future session already generated is replaced.
    """
    from engagements.services import sessions_per_month

    if engagement.preferred_weekday is None or engagement.preferred_time is None:
        raise ValidationError("Agree a day and time before generating sessions.")
    now = timezone.now()
    Session.objects.filter(
        practice_id=engagement.practice_id,
        engagement=engagement,
        source=SessionSource.RECURRING,
        status=SessionStatus.SCHEDULED,
        starts_at__gt=now,
    ).delete()
    zone = ZoneInfo(engagement.coach.time_zone)
    dates = recurring_dates(
        starts_on=engagement.starts_on,
        ends_on=engagement.ends_on,
        weekday=engagement.preferred_weekday,
        cadence=engagement.cadence,
        per_month=sessions_per_month(engagement.hours_per_month, engagement.session_minutes),
    )
    length = dt.timedelta(minutes=engagement.session_minutes)
    sessions = []
    for day in dates:
        starts_at = _local_start(day, engagement.preferred_time, zone)
        if starts_at <= now:
            continue
        sessions.append(
            Session(
                practice_id=engagement.practice_id,
                engagement=engagement,
                collection=engagement.collection,
                coach_id=engagement.coach_id,
                client_id=engagement.client_id,
                title=engagement.title,
                starts_at=starts_at,
                ends_at=starts_at + length,
                status=SessionStatus.SCHEDULED,
                source=SessionSource.RECURRING,
            )
        )
    Session.objects.bulk_create(sessions)
    audit_record(
        practice=engagement.practice,
        actor=actor,
        action="sessions.generate",
        obj=engagement,
        count=len(sessions),
    )
    return len(sessions)


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
    from engagements.models import EngagementKind, StepState
    from engagements.services import checklist_mark

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
        seat, consumes, override_reason = _funding_for(
            practice=practice,
            actor=actor,
            engagement=engagement,
            starts_at=starts_at,
            minutes=minutes,
            now=now or timezone.now(),
            allowance_override_reason=allowance_override_reason,
        )
        waiting.starts_at = starts_at
        waiting.ends_at = starts_at + dt.timedelta(minutes=minutes)
        waiting.status = SessionStatus.SCHEDULED
        waiting.location = location or waiting.location
        waiting.consumes, waiting.seat = consumes, seat
        waiting.allowance_override_reason = override_reason
        waiting.full_clean()
        waiting.save(
            update_fields=[
                "starts_at",
                "ends_at",
                "status",
                "location",
                "consumes",
                "seat",
                "allowance_override_reason",
            ]
        )
        audit_record(
            practice=practice,
            actor=actor,
            action="session.schedule",
            obj=waiting,
            override=override_reason,
        )
        scheduled = waiting
    if engagement.kind == EngagementKind.TEAM_WORKSHOP:
        checklist_mark(engagement=engagement, key="workshop_session", state=StepState.DONE)
    return scheduled
