"""A coach's own set-up: weekly hours, date overrides, booking links, feeds and time zone.

Coaches change their own; an owner can change anyone's; assistants none
(`coach_setup_authorize`). Every change gives the coach a new availability version,
so the public pages stop showing what was cached before it.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from django.core.exceptions import ValidationError

from coachhub.audit import audit_record, model_update
from coachhub.models import Practice, User
from coachhub.services import coach_setup_authorize
from engagements.models import Client

from ..models import BookingLink, CalendarFeedToken, DateOverride, WeeklyHours
from ..slot_cache import coach_availability_changed


def weekly_hours_add(
    *, practice: Practice, actor: User, coach: User, weekday: int, starts: dt.time, ends: dt.time
) -> WeeklyHours:
    coach_setup_authorize(practice, actor, coach)
    hours = WeeklyHours(practice=practice, coach=coach, weekday=weekday, starts=starts, ends=ends)
    hours.full_clean()
    start, end = hours.interval
    for other in WeeklyHours.objects.filter(practice=practice, coach=coach, weekday=weekday):
        other_start, other_end = other.interval
        if start < other_end and other_start < end:
            raise ValidationError(f"These hours overlap {other} already set.")
    hours.save()
    coach_availability_changed(coach.pk)
    audit_record(practice=practice, actor=actor, action="availability.hours_add", obj=hours)
    return hours


def date_override_add(
    *,
    practice: Practice,
    actor: User,
    coach: User,
    date: dt.date,
    starts: dt.time | None = None,
    ends: dt.time | None = None,
) -> DateOverride:
    coach_setup_authorize(practice, actor, coach)
    override = DateOverride(practice=practice, coach=coach, date=date, starts=starts, ends=ends)
    override.full_clean()
    existing = DateOverride.objects.filter(practice=practice, coach=coach, date=date)
    if override.is_day_off:
        existing.delete()  # a day off replaces any hours set for that date
    else:
        existing.filter(starts__isnull=True).delete()
    override.save()
    coach_availability_changed(coach.pk)
    audit_record(practice=practice, actor=actor, action="availability.override_add", obj=override)
    return override


def availability_row_delete(*, row: WeeklyHours | DateOverride, actor: User) -> None:
    coach_setup_authorize(row.practice, actor, row.coach)
    audit_record(practice=row.practice, actor=actor, action="availability.delete", obj=row)
    row.delete()
    coach_availability_changed(row.coach_id)


def booking_link_save(
    *, practice: Practice, actor: User, link: BookingLink | None = None, **fields: Any
) -> BookingLink:
    """Create or update a booking link; new links take the practice's policy defaults."""
    if link is None:
        link = BookingLink(
            practice=practice,
            coach=fields.pop("coach", actor),
            duration_minutes=practice.default_session_minutes,
            buffer_before_minutes=practice.buffer_before_minutes,
            buffer_after_minutes=practice.buffer_after_minutes,
            minimum_notice_minutes=practice.minimum_notice_minutes,
            horizon_days=practice.booking_horizon_days,
        )
    coach_setup_authorize(practice, actor, link.coach)
    previous_coach = [link.coach_id] if link.pk else []
    for name, value in fields.items():
        setattr(link, name, value)
    if link.engagement_id and link.engagement.practice_id != practice.pk:
        raise ValidationError({"engagement": "Choose a workshop of this practice."})
    if link.offer_id and link.offer.practice_id != practice.pk:
        raise ValidationError({"offer": "Choose an offer of this practice."})
    if link.is_group and link.engagement_id is None:
        raise ValidationError(
            {"engagement": "A group link needs the team workshop its sessions belong to."}
        )
    link.full_clean()
    link.save()
    for coach_id in {link.coach_id, *previous_coach}:
        coach_availability_changed(coach_id)  # its page shows the new settings at once
    audit_record(practice=practice, actor=actor, action="booking_link.save", obj=link)
    return link


def feed_token_for(
    *, practice: Practice, coach: User | None = None, client: Client | None = None
) -> CalendarFeedToken:
    """The coach's or client's feed token, created on first use."""
    lookup = {"coach": coach} if coach is not None else {"client": client}
    token, _ = CalendarFeedToken.objects.get_or_create(
        practice=practice, **lookup, defaults={"token": secrets.token_urlsafe(32)}
    )
    return token


def feed_token_rotate(*, feed_token: CalendarFeedToken, actor: User) -> CalendarFeedToken:
    """A new secret: the old feed URL stops working at once (404)."""
    feed_token.token = secrets.token_urlsafe(32)
    feed_token.save(update_fields=["token"])
    audit_record(practice=feed_token.practice, actor=actor, action="feed.rotate", obj=feed_token)
    return feed_token


def coach_time_zone_set(*, practice: Practice, actor: User, time_zone: str) -> User:
    """The zone a coach's weekly hours are read in; their public slots move with it."""
    changed = model_update(
        instance=actor,
        data={"time_zone": time_zone},
        fields=["time_zone"],
        actor=actor,
        action="coach.time_zone",
        practice=practice,
    )
    if changed:
        coach_availability_changed(actor.pk)
    return actor
