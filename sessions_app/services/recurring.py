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


@dataclass(frozen=True)
class RecurringResult:
    created: int
    clashes: list[dt.datetime]  # cadence dates skipped because the coach was already busy


@transaction.atomic
def recurring_sessions_generate(*, engagement: Engagement, actor: User) -> RecurringResult:
    """Schedule a monthly package's sessions from its cadence, within its monthly hours.

    Wall-clock times are the coach's; a future session already generated is replaced.
    """
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
    coach_availability_changed(engagement.coach_id)
    zone = ZoneInfo(engagement.coach.time_zone)
    dates = recurring_dates(
        starts_on=engagement.starts_on,
        ends_on=engagement.ends_on,
        weekday=engagement.preferred_weekday,
        cadence=engagement.cadence,
        per_month=engagement.sessions_per_month,
    )
    created, clashes = 0, []
    for day in dates:
        starts_at = wall_clock_instant(day, engagement.preferred_time, zone)
        if starts_at <= now:
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
        created += 1
    audit_record(
        practice=engagement.practice,
        actor=actor,
        action="sessions.generate",
        obj=engagement,
        count=created,
        clashes=len(clashes),
    )
    return RecurringResult(created=created, clashes=clashes)


def recurring_summary(result: RecurringResult, time_zone: str) -> str:
    text = f"{result.created} sessions scheduled."
    if result.clashes:
        zone = ZoneInfo(time_zone)
        skipped = ", ".join(f"{c.astimezone(zone):%a %d %b %H:%M}" for c in result.clashes[:5])
        text += f" Skipped because the coach is already booked then: {skipped}."
    return text
