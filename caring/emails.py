"""The e-mails of caring between sessions, each sent by a task after the commit that made
it due: a session's prep questionnaire, a shared recap, a missed commitment's reminder.
Each carries the client's own portal link (it signs them in)."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from coachhub.mail import email_send
from coachhub.tasks import PracticeTask
from engagements.models import Client
from engagements.portal import portal_home_path, portal_link, portal_session_path
from engagements.services import clients_portal_users_ensure
from sessions_app.models import Session
from sessions_app.notifications import session_attendees

from .models import Commitment, CommitmentStatus, Recap, SessionPrep

logger = logging.getLogger(__name__)


def portal_prep_path(session: Session) -> str:
    return reverse(
        "portal_prep",
        kwargs={"practice_slug": session.practice.slug, "session_uuid": session.public_id},
    )


def session_clients(session: Session) -> list[Client]:
    """Who a session's prep and recap are for: its attendees (bookings, client, workshop),
    each with a portal account (made here, when the e-mail is about to go)."""
    return [
        attendee.client for attendee in session_attendees(session, "reminder", now=timezone.now())
    ]


def _zone(client: Client) -> ZoneInfo:
    try:
        return ZoneInfo(client.time_zone)
    except (ValueError, KeyError):
        return client.practice.zone


def prep_message(session: Session, client: Client, prep: SessionPrep) -> EmailMessage:
    start = session.starts_at.astimezone(_zone(client))
    lines = [
        f"Hello {client.name},",
        "",
        f"Your session “{session.title}” with {session.coach.display_name} is on "
        f"{start:%A %d %B at %H:%M} ({_zone(client).key}).",
        "A few questions to think about beforehand, so the time goes where it matters:",
        "",
        *(f"  {number}. {question}" for number, question in enumerate(prep.questions, 1)),
        "",
        "Answer them here (you can change your answers until the session starts):",
        portal_link(client, path=portal_prep_path(session)),
        "",
        session.practice.name,
    ]
    return EmailMessage(
        subject=f"Before your session: {session.title}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[client.email],
    )


@shared_task(base=PracticeTask, bind=True, max_retries=5)
def prep_email_send(self, *, practice_id: int, prep_id: int, still_to: list[int] | None = None):
    """E-mail a session's prep questionnaire to its attendees; each handed over once (a
    mail server that fails part-way is tried again for the ones still owed)."""
    prep = SessionPrep.objects.select_related("session__practice", "session__coach").get(pk=prep_id)
    session = prep.session
    clients = session_clients(session)
    if still_to is not None:
        clients = [client for client in clients if client.pk in still_to]
    for number, client in enumerate(clients):
        try:
            email_send(
                prep_message(session, client, prep),
                practice_id=practice_id,
                kind="caring.prep",
                subject=session,
                engagement_id=session.engagement_id,
                attempt=self.attempt,
                will_retry=False if self.last_attempt else None,
            )
        except OSError as error:
            owed = [later.pk for later in clients[number:]]
            if self.is_eager:
                logger.warning("Prep for session %s: %d not sent: %s", session.pk, len(owed), error)
                return number
            raise self.retry_later(error, still_to=owed) from error
    SessionPrep.objects.filter(pk=prep.pk).update(emailed_at=timezone.now())
    return len(clients)


def recap_message(recap: Recap, client: Client) -> EmailMessage:
    session = recap.session
    commitments = [c for c in session.commitments.all() if c.status == CommitmentStatus.OPEN]
    lines = [
        f"Hello {client.name},",
        "",
        f"Here is the recap of “{session.title}” with {session.coach.display_name}:",
        "",
        recap.shared_body,
        "",
    ]
    if commitments:
        lines += ["What we agreed:", ""]
        lines += [
            f"  – {c.text} ({c.get_owner_display()}, by {c.due_on:%d %b})" for c in commitments
        ]
        lines.append("")
    lines += [
        "It is in your portal too, where you can mark your commitments done:",
        portal_link(client, path=portal_session_path(session.practice, session.public_id)),
        "",
        session.practice.name,
    ]
    return EmailMessage(
        subject=f"Recap: {session.title}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[client.email],
    )


@shared_task(base=PracticeTask, bind=True, max_retries=5)
def recap_email_send(self, *, practice_id: int, recap_id: int, version: int) -> int:
    """E-mail one shared version of a recap, once: the version is claimed before sending
    (a second run, or an older version's late task, sends nothing)."""
    claimed = Recap.objects.filter(pk=recap_id, emailed_version__lt=version).update(
        emailed_version=version
    )
    if not claimed:
        return 0
    recap = Recap.objects.select_related("session__practice", "session__coach").get(pk=recap_id)
    sent = 0
    for client in session_clients(recap.session):
        try:
            email_send(
                recap_message(recap, client),
                practice_id=practice_id,
                kind="caring.recap",
                subject=recap.session,
                engagement_id=recap.engagement_id,
                attempt=self.attempt,
                will_retry=False if self.last_attempt or sent else None,
            )
        except OSError as error:
            if sent or self.is_eager:  # some have it: never a second copy for them
                logger.warning("Recap %s: not all e-mailed: %s", recap_id, error)
                return sent
            Recap.objects.filter(pk=recap_id, emailed_version=version).update(
                emailed_version=F("emailed_version") - 1
            )
            raise self.retry_later(error) from error
        sent += 1
    return sent


def commitment_reminder_message(client: Client, commitments: list[Commitment]) -> EmailMessage:
    practice = client.practice
    lines = [
        f"Hello {client.name},",
        "",
        "A gentle nudge: "
        + ("this commitment is" if len(commitments) == 1 else "these commitments are")
        + " past the date you agreed:",
        "",
        *(f"  – {c.text} (due {c.due_on:%A %d %B})" for c in commitments),
        "",
        "Done already? Mark it in your portal; if not, there is no blame — bring it to your "
        "next session:",
        portal_link(client, path=portal_home_path(practice)),
        "",
        practice.name,
    ]
    return EmailMessage(
        subject="A reminder of what you committed to",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[client.email],
    )


@shared_task(base=PracticeTask, bind=True, max_retries=5)
def commitment_reminder_send(
    self, *, practice_id: int, client_id: int, commitment_ids: list[int]
) -> int:
    """E-mail a client the missed commitments claimed for them (`reminded_at` set by the
    sweep, so a commitment is never in two reminders); done ones since are left out."""
    client = Client.objects.select_related("practice", "user").filter(pk=client_id).first()
    commitments = list(
        Commitment.objects.filter(
            pk__in=commitment_ids, client_id=client_id, status=CommitmentStatus.OPEN
        )
    )
    if client is None or not commitments:
        return 0
    clients_portal_users_ensure(clients=[client])
    try:
        email_send(
            commitment_reminder_message(client, commitments),
            practice_id=practice_id,
            kind="caring.commitment_reminder",
            subject=client,
            engagement_id=commitments[0].engagement_id,
            attempt=self.attempt,
            will_retry=False if self.last_attempt else None,
        )
    except OSError as error:
        if self.is_eager:
            logger.warning("Commitment reminder for client %s not sent: %s", client_id, error)
            return 0
        raise self.retry_later(error) from error
    return len(commitments)
