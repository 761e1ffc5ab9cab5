"""When a coach leaves: their booking links stop taking bookings, and the owner passes
their future sessions to another coach (same time, same record, a new SEQUENCE)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.audit import audit_record, model_update
from coachhub.models import Practice, User
from coachhub.permissions import require
from coachhub.services import coach_must_coach_here
from coachhub.tenancy import membership_of

from ..models import BookingLink, Session, SessionStatus
from ..slot_cache import coach_availability_changed
from .claims import SlotTaken, time_claim


def booking_links_close_for_coach(
    *, practice: Practice, actor: User, coach: User
) -> list[BookingLink]:
    """Turn off every active booking link of this coach (each change audited)."""
    require(membership_of(practice, actor), "members.manage")
    links = list(BookingLink.objects.filter(practice=practice, coach=coach, is_active=True))
    for link in links:
        model_update(
            instance=link,
            data={"is_active": False},
            fields=["is_active"],
            actor=actor,
            action="booking_link.close",
            practice=practice,
        )
    if links:
        coach_availability_changed(coach.pk)
    return links


@transaction.atomic
def session_coach_change(
    *,
    practice: Practice,
    actor: User,
    session: Session,
    coach: User,
    now: dt.datetime | None = None,
) -> Session:
    """Give a future scheduled session to another coach of the practice, if they are free
    then; the session keeps its time, URL and UID, and its SEQUENCE goes up."""
    require(membership_of(practice, actor), "sessions.reassign")
    coach_must_coach_here(practice, coach)
    now = now or timezone.now()
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("practice", "coach")
        .get(practice=practice, pk=session.pk)
    )
    if session.status != SessionStatus.SCHEDULED or session.starts_at <= now:
        raise ValidationError("Only a session still to come can go to another coach.")
    if session.coach_id == coach.pk:
        return session
    previous = session.coach
    session.coach = coach
    session.sequence += 1
    try:
        time_claim(
            session,
            starts_at=session.starts_at,
            minutes=int(session.duration.total_seconds() // 60),
            status=SessionStatus.SCHEDULED,
            now=now,
            update_fields=["coach", "sequence"],
        )
    except SlotTaken:
        raise ValidationError(
            f"{coach.display_name} already has a session at that time; choose another coach."
        ) from None
    coach_availability_changed(previous.pk)
    audit_record(
        practice=practice,
        actor=actor,
        action="session.reassign",
        obj=session,
        coach=session.coach.email,
        previous=previous.email,
    )
    return session
