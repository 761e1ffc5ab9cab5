"""When a coach leaves: their booking links stop taking bookings, and the owner passes
their future sessions to another coach (same time, same record, a new SEQUENCE)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.audit import audit_record, model_update
from coachhub.models import Practice, User
from coachhub.permissions import require
from coachhub.services import coach_must_coach_here
from coachhub.tenancy import coaches_here, membership_of
from engagements.models import Client, Engagement, EngagementStatus

from ..models import BookingLink, CalendarFeedToken, Session, SessionStatus
from ..slot_cache import coach_availability_changed
from .claims import SlotTaken, time_claim
from .invites import attendees_notify


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


def coach_feeds_close(*, practice: Practice, actor: User, coach: User) -> int:
    """A coach leaving the practice: their private feed URL (clients' names and e-mails)
    stops working at once."""
    require(membership_of(practice, actor), "members.manage")
    closed, _ = CalendarFeedToken.objects.filter(practice=practice, coach=coach).delete()
    if closed:
        audit_record(
            practice=practice, actor=actor, action="feed.close", obj=practice, coach=coach.email
        )
    return closed


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
    attendees_notify(session, "reassigned", previous_coach_id=previous.pk)
    return session


@dataclass
class Handover:
    """What passed from a former coach to another, and the sessions that could not."""

    sessions: list[Session] = field(default_factory=list)
    clashing: list[Session] = field(default_factory=list)
    engagements: int = 0
    clients: int = 0


def coach_handover(
    *,
    practice: Practice,
    actor: User,
    former_coach: User,
    coach: User,
    now: dt.datetime | None = None,
) -> Handover:
    """Everything a coach who no longer coaches here left: their sessions still to come
    (each in its own transaction; one that clashes with the new coach's calendar stays
    listed), their sessions waiting for a time, their open engagements and their clients,
    so what the engagements schedule next goes to the new coach too."""
    require(membership_of(practice, actor), "sessions.reassign")
    coach_must_coach_here(practice, coach)
    if coaches_here(practice, former_coach):
        raise ValidationError(f"{former_coach.display_name} still coaches here.")
    now = now or timezone.now()
    handover = Handover()
    upcoming = Session.objects.filter(
        practice=practice, coach=former_coach, status=SessionStatus.SCHEDULED, starts_at__gt=now
    ).order_by("starts_at")
    for session in upcoming:
        try:
            handover.sessions.append(
                session_coach_change(
                    practice=practice, actor=actor, session=session, coach=coach, now=now
                )
            )
        except ValidationError:
            handover.clashing.append(session)
    open_statuses = [EngagementStatus.PROPOSED, EngagementStatus.ACTIVE, EngagementStatus.PAUSED]
    with transaction.atomic():
        _coach_move(
            Session.objects.filter(
                practice=practice, coach=former_coach, status=SessionStatus.TO_SCHEDULE
            ),
            practice=practice,
            coach=coach,
            actor=actor,
            action="session.reassign",
        )
        handover.engagements = _coach_move(
            Engagement.objects.filter(
                practice=practice, coach=former_coach, status__in=open_statuses
            ),
            practice=practice,
            coach=coach,
            actor=actor,
            action="engagement.reassign",
        )
        handover.clients = _coach_move(
            Client.objects.filter(practice=practice, coach=former_coach),
            practice=practice,
            coach=coach,
            actor=actor,
            action="client.reassign",
        )
    return handover


def _coach_move(rows, *, practice: Practice, coach: User, actor: User, action: str) -> int:
    """Give each row (a session waiting for a time, an engagement, a client) to `coach`,
    each change audited; how many changed."""
    return sum(
        bool(
            model_update(
                instance=row,
                data={"coach_id": coach.pk},
                fields=["coach_id"],
                actor=actor,
                action=action,
                practice=practice,
            )
        )
        for row in rows
    )
