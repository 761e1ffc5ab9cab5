"""A monthly package's recurring sessions, generated from the agreed cadence and hours."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.audit import audit_record
from coachhub.models import User
from coachhub.timezones import wall_clock_instant
from engagements.models import Engagement

from ..models import Session, SessionSource, SessionStatus
from ..recurrence import recurring_dates
from ..slot_cache import coach_availability_changed
from .claims import SlotTaken, time_claim
from .invites import attendees_notify
from .scheduling import session_cancel_step


@dataclass(frozen=True)
class RecurringResult:
    created: int
    clashes: list[dt.datetime]  # cadence dates skipped because the coach was already busy
    kept: int = 0  # future sessions already at a time of the new schedule
    cancelled: int = 0  # future sessions at a time the new schedule no longer has


@transaction.atomic
def recurring_sessions_generate(*, engagement: Engagement, actor: User) -> RecurringResult:
    """Schedule a monthly package's sessions from its cadence, within its monthly hours.

    Wall-clock times are the coach's. Each session is its own event with its own invite
    (docs/product.md §4). A future session already at a time of the schedule is kept; one
    at a time the schedule no longer has is cancelled, never deleted: its URL still opens,
    nothing is consumed, and its attendee gets the CANCEL for it (and a REQUEST for each
    new session).
    """
    if engagement.preferred_weekday is None or engagement.preferred_time is None:
        raise ValidationError("Agree a day and time before generating sessions.")
    now = timezone.now()
    zone = ZoneInfo(engagement.coach.time_zone)
    dates = recurring_dates(
        starts_on=engagement.starts_on,
        ends_on=engagement.ends_on,
        weekday=engagement.preferred_weekday,
        cadence=engagement.cadence,
        per_month=engagement.sessions_per_month,
    )
    wanted = [wall_clock_instant(day, engagement.preferred_time, zone) for day in dates]
    wanted = [starts_at for starts_at in wanted if starts_at > now]
    length = dt.timedelta(minutes=engagement.session_minutes)
    future = (
        Session.objects.select_for_update(of=("self",))
        .select_related("practice", "coach")
        .filter(
            practice_id=engagement.practice_id,
            engagement=engagement,
            source=SessionSource.RECURRING,
            status=SessionStatus.SCHEDULED,
            starts_at__gt=now,
        )
        .order_by("starts_at", "pk")
    )
    kept: dict[dt.datetime, Session] = {}
    cancelled = 0
    for session in future:
        if session.starts_at in wanted and session.duration == length:
            if session.starts_at not in kept:
                kept[session.starts_at] = session
                continue
        session_cancel_step(session, late=False, now=now)
        cancelled += 1
    coach_availability_changed(engagement.coach_id)
    created, clashes = 0, []
    for starts_at in wanted:
        if starts_at in kept:
            continue
        session = Session(
            practice_id=engagement.practice_id,
            engagement=engagement,
            collection=engagement.collection,
            coach_id=engagement.coach_id,
            client_id=engagement.client_id,
            title=engagement.title,
            source=SessionSource.RECURRING,
        )
        try:
            time_claim(
                session,
                starts_at=starts_at,
                minutes=engagement.session_minutes,
                status=SessionStatus.SCHEDULED,
                now=now,
            )
        except SlotTaken:
            clashes.append(starts_at)
            continue
        attendees_notify(session, "confirmed")
        created += 1
    audit_record(
        practice=engagement.practice,
        actor=actor,
        action="sessions.generate",
        obj=engagement,
        count=created,
        kept=len(kept),
        cancelled=cancelled,
        clashes=len(clashes),
    )
    return RecurringResult(created=created, clashes=clashes, kept=len(kept), cancelled=cancelled)


def recurring_summary(result: RecurringResult, time_zone: str) -> str:
    text = f"{result.created + result.kept} sessions scheduled."
    if result.cancelled:
        text += (
            f" {result.cancelled} earlier sessions at times the schedule no longer has were"
            " cancelled, and the client was told."
        )
    if result.clashes:
        zone = ZoneInfo(time_zone)
        skipped = ", ".join(f"{c.astimezone(zone):%a %d %b %H:%M}" for c in result.clashes[:5])
        text += f" Skipped because the coach is already booked then: {skipped}."
    return text
