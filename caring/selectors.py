"""Reads of caring between sessions: what a session page opens with (so no session starts
from a blank slate), what the portal shows a client, and the sweeps' fan-out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django_scopes import scopes_disabled

from coachhub.models import Membership, Practice
from coachhub.permissions import can
from engagements.models import Client
from engagements.selectors import engagements_visible_to
from sessions_app.models import Session, SessionStatus

from .models import (
    Commitment,
    CommitmentOwner,
    CommitmentStatus,
    PrepAnswer,
    Recap,
    SessionAgenda,
    SessionNote,
    SessionPrep,
)

PREP_MISSING_WITHIN = dt.timedelta(hours=24)


@dataclass
class Workspace:
    """What the coach's session page shows around the session itself."""

    agenda: list[str]
    agenda_from_template: bool
    prep_questions: list[str]
    prep_sent_at: dt.datetime | None
    prep_answers: list[PrepAnswer]
    recap: Recap | None
    last_recap: Recap | None  # the engagement's last shared recap before this session
    commitments_made: list[Commitment]  # agreed in this session
    commitments_carried: list[Commitment]  # still open (or missed) from earlier sessions
    can_read_notes: bool
    notes: str = ""
    can_change: bool = False
    warnings: list[str] = field(default_factory=list)


def session_workspace(session: Session, membership: Membership) -> Workspace:
    """A fixed number of queries, however many commitments or answers there are."""
    agenda_row = SessionAgenda.objects.filter(session=session).first()
    collection = session.collection
    if agenda_row is not None:
        agenda, from_template = list(agenda_row.items), False
    else:
        agenda, from_template = list(collection.agenda_items if collection else []), True
    prep = SessionPrep.objects.filter(session=session).first()
    answers = (
        list(prep.answers.select_related("client", "prep").order_by("client__name")) if prep else []
    )
    questions = prep.questions if prep else list(collection.prep_questions if collection else [])
    recap = Recap.objects.filter(session=session).first()
    earlier = Q(session__starts_at__lt=session.starts_at) if session.starts_at else Q()
    last_recap = (
        Recap.objects.filter(engagement_id=session.engagement_id, shared_at__isnull=False)
        .exclude(session=session)
        .filter(earlier)
        .select_related("session")
        .order_by("-session__starts_at", "-shared_at")
        .first()
    )
    commitments = list(
        Commitment.objects.filter(engagement_id=session.engagement_id).filter(
            Q(session=session) | Q(status=CommitmentStatus.OPEN)
        )
    )
    can_read_notes = can(membership, "clients.notes")
    notes = ""
    if can_read_notes:
        note = SessionNote.objects.filter(session=session).first()
        notes = note.body if note else ""
    return Workspace(
        agenda=agenda,
        agenda_from_template=from_template,
        prep_questions=list(questions),
        prep_sent_at=prep.sent_at if prep else None,
        prep_answers=answers,
        recap=recap,
        last_recap=last_recap,
        commitments_made=[c for c in commitments if c.session_id == session.pk],
        commitments_carried=[c for c in commitments if c.session_id != session.pk],
        can_read_notes=can_read_notes,
        notes=notes,
        can_change=can(membership, "engagements.change"),
    )


def commitment_get_for_member(membership: Membership, pk: int) -> Commitment:
    """A commitment of an engagement this member sees; anything else is a 404."""
    commitment = (
        Commitment.objects.filter(
            practice=membership.practice,
            pk=pk,
            engagement__in=engagements_visible_to(membership),
        )
        .select_related("engagement", "session")
        .first()
    )
    if commitment is None:
        raise Http404("No such commitment.")
    return commitment


def client_missed_commitments(client: Client) -> list[Commitment]:
    """What the client card shows: commitments flagged missed and still open."""
    return list(
        Commitment.objects.filter(
            practice_id=client.practice_id,
            client=client,
            status=CommitmentStatus.OPEN,
            missed_at__isnull=False,
        ).select_related("session")
    )


def with_missed_commitments(clients: QuerySet[Client]) -> QuerySet[Client]:
    """Each client with `missed_commitments`: how many are flagged missed and still open
    (one subquery, for the client list's badge)."""
    missed = (
        Commitment.objects.filter(
            client=OuterRef("pk"), status=CommitmentStatus.OPEN, missed_at__isnull=False
        )
        .order_by()
        .values("client")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return clients.annotate(missed_commitments=Subquery(missed, output_field=IntegerField()))


def _client_engagements(client: Client) -> Q:
    return Q(client=client) | Q(engagement__collection__participants=client)


def client_commitments(client: Client) -> list[Commitment]:
    """The portal's list: the client's own and their team's open commitments, then the
    recently done."""
    rows = (
        Commitment.objects.filter(practice_id=client.practice_id)
        .filter(_client_engagements(client))
        .distinct()
        .order_by("-status", "due_on", "pk")  # open before done
    )
    return list(rows[:100])


def client_commitment_get(client: Client, pk: int) -> Commitment | None:
    return (
        Commitment.objects.filter(practice_id=client.practice_id, pk=pk)
        .filter(_client_engagements(client))
        .distinct()
        .first()
    )


def client_recap_for(session: Session) -> Recap | None:
    """The shared version of a session's recap, for its clients (a draft never shows)."""
    return Recap.objects.filter(session=session, shared_at__isnull=False).first()


def client_recaps(client: Client, *, limit: int = 5) -> list[Recap]:
    return list(
        Recap.objects.filter(practice_id=client.practice_id, shared_at__isnull=False)
        .filter(
            Q(session__client=client)
            | Q(session__bookings__client=client)
            | Q(session__collection__participants=client)
        )
        .distinct()
        .select_related("session")
        .order_by("-shared_at")[:limit]
    )


def prep_questions_for(session: Session) -> list[str]:
    """The questions a session's prep asks: those sent, else its collection's now."""
    prep = SessionPrep.objects.filter(session=session).first()
    if prep is not None:
        return list(prep.questions)
    questions = session.collection.prep_questions if session.collection_id else []
    return [str(question).strip() for question in questions or [] if str(question).strip()]


def client_prep_answer(session: Session, client: Client) -> PrepAnswer | None:
    return PrepAnswer.objects.filter(prep__session=session, client=client).first()


def prep_missing_soon(
    practice: Practice,
    coach=None,
    within: dt.timedelta = PREP_MISSING_WITHIN,
    *,
    now: dt.datetime,
) -> QuerySet[Session]:
    """Scheduled sessions starting within `within` whose prep went out and nobody has
    answered (the attention list reads this)."""
    answered = PrepAnswer.objects.filter(prep__session=OuterRef("pk"))
    sessions = Session.objects.filter(
        practice=practice,
        status=SessionStatus.SCHEDULED,
        starts_at__gt=now,
        starts_at__lte=now + within,
        prep__sent_at__isnull=False,
    ).filter(~Exists(answered))
    if coach is not None:
        sessions = sessions.filter(coach=coach)
    return sessions.select_related("client", "coach").order_by("starts_at")


def sessions_due_prep(practice: Practice, *, now: dt.datetime) -> QuerySet[Session]:
    """Scheduled sessions inside the practice's prep lead time whose prep is not sent."""
    horizon = now + dt.timedelta(hours=practice.prep_lead_hours)
    return (
        Session.objects.filter(
            practice=practice,
            status=SessionStatus.SCHEDULED,
            starts_at__gt=now,
            starts_at__lte=horizon,
            collection__isnull=False,
        )
        .exclude(collection__prep_questions=[])
        .exclude(prep__sent_at__isnull=False)
        .select_related("practice", "collection", "coach", "client", "engagement", "booking_link")
    )


def practices_with_prep_due(*, now: dt.datetime) -> list[int]:
    """Practices with a scheduled session inside their prep lead time and no prep sent
    (beat's fan-out; the one read across practices, so it runs unscoped)."""
    leads = dict(Practice.objects.values_list("pk", "prep_lead_hours"))
    horizon = max(leads.values(), default=0)
    with scopes_disabled():
        rows = (
            Session.objects.filter(
                status=SessionStatus.SCHEDULED,
                starts_at__gt=now,
                starts_at__lte=now + dt.timedelta(hours=horizon),
                collection__isnull=False,
            )
            .exclude(prep__sent_at__isnull=False)
            .values_list("practice_id", "starts_at")
        )
        return sorted(
            {
                practice_id
                for practice_id, starts_at in rows
                if starts_at <= now + dt.timedelta(hours=leads[practice_id])
            }
        )


def practices_with_commitments_to_sweep(*, now: dt.datetime) -> list[int]:
    """Practices with an open commitment due before today somewhere in the world, not yet
    flagged, or flagged and its client not reminded (beat's fan-out, unscoped)."""
    yesterday_somewhere = (now + dt.timedelta(hours=14)).date()
    with scopes_disabled():
        return sorted(
            set(
                Commitment.objects.filter(status=CommitmentStatus.OPEN)
                .filter(
                    Q(missed_at__isnull=True, due_on__lt=yesterday_somewhere)
                    | Q(
                        missed_at__isnull=False,
                        reminded_at__isnull=True,
                        owner=CommitmentOwner.CLIENT,
                    )
                )
                .values_list("practice_id", flat=True)
            )
        )
