"""Telling people about a change: e-mails with invites after commit, and the invites a
workshop's late-added participants get.

The e-mail task itself (`notifications.session_notify`) ticks the checklist's
"calendar invite sent" step once the invite has been handed to the e-mail backend.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from chat.services import slack_invites_add
from coachhub.models import User
from engagements.models import Client, Collection
from engagements.participants import Participant
from engagements.services import participants_add

from ..models import Session, SessionStatus
from ..notifications import NoticeKind, session_notify


def attendees_notify(
    session: Session,
    kind: NoticeKind,
    *,
    previous_coach_id: int | None = None,
    booking_id: int | None = None,
) -> None:
    """E-mail the attendees and the coach (with the invite) once the transaction commits;
    `booking_id` tells only the person who just took a place in a group slot."""
    extra = {"previous_coach_id": previous_coach_id} if previous_coach_id else {}
    if booking_id:
        extra["booking_id"] = booking_id
    session_notify.delay_on_commit(
        practice_id=session.practice_id, session_id=session.pk, kind=kind, **extra
    )


@transaction.atomic
def workshop_participants_add(
    *, collection: Collection, actor: User, participants: list[Participant]
) -> int:
    """Add participants to a collection; each one new to it gets the invite of every
    upcoming session the coach scheduled for it (a group link's bookers book their own),
    and their way into the collection's Slack channel."""
    before = set(collection.participants.values_list("pk", flat=True))
    added = participants_add(collection=collection, actor=actor, participants=participants)
    new_ids = sorted(set(collection.participants.values_list("pk", flat=True)) - before)
    if not new_ids:
        return added
    slack_invites_add(
        practice=collection.engagement.practice,
        collection=collection,
        clients=list(Client.objects.filter(practice_id=collection.practice_id, pk__in=new_ids)),
    )
    upcoming = Session.objects.filter(
        practice_id=collection.practice_id,
        collection=collection,
        client__isnull=True,
        booking_link__isnull=True,
        status=SessionStatus.SCHEDULED,
        starts_at__gt=timezone.now(),
    ).values_list("pk", flat=True)
    for session_id in upcoming:
        session_notify.delay_on_commit(
            practice_id=collection.practice_id,
            session_id=session_id,
            kind="confirmed",
            client_ids=new_ids,
        )
    return added
