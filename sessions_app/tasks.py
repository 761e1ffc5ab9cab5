"""Background work for sessions: e-mails with invites, reminders, releasing holds.

Tasks take ids, restore the practice scope and call services or selectors.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from coachhub.tenancy import practice_id_of, practice_scope

from .models import ReminderSent, Session, SessionStatus

logger = logging.getLogger(__name__)
# Reminders run every few minutes; one that is this late is not worth sending.
REMINDER_GRACE = dt.timedelta(hours=2)


@shared_task(bind=True, max_retries=5, default_retry_delay=60, retry_backoff=True)
def session_notify(self, session_id: int, kind: str) -> int:
    """E-mail attendees and the coach about a change, with the invite attached."""
    from .notifications import session_emails

    practice_id = practice_id_of(Session, session_id)
    if practice_id is None:
        return 0
    with practice_scope(practice_id):
        session = Session.objects.select_related(
            "practice", "coach", "client", "engagement", "booking_link"
        ).get(pk=session_id)
        messages = session_emails(session, kind)
        try:
            for message in messages:
                message.send()
        except OSError as error:  # SMTP down: try again later rather than lose it
            raise self.retry(exc=error) from error
    return len(messages)


@shared_task
def holds_release() -> int:
    from .services import holds_release_expired

    with scopes_disabled():
        return holds_release_expired()


def _due_reminders(now: dt.datetime) -> list[tuple[Session, int]]:
    """(session, lead minutes) whose reminder time has come and that were not yet sent."""
    with scopes_disabled():
        horizon = max((max(leads or [0]) for leads in _practice_leads().values()), default=0)
        sessions = Session.objects.filter(
            status=SessionStatus.SCHEDULED,
            starts_at__gt=now,
            starts_at__lte=now + dt.timedelta(minutes=horizon),
        ).select_related("practice")
        due = []
        for session in sessions:
            for lead in session.practice.reminder_lead_minutes or []:
                remind_at = session.starts_at - dt.timedelta(minutes=int(lead))
                booked_before = session.scheduled_at is None or session.scheduled_at <= remind_at
                if remind_at <= now < remind_at + REMINDER_GRACE and booked_before:
                    due.append((session, int(lead)))
        return due


def _practice_leads() -> dict[int, list[int]]:
    from coachhub.models import Practice

    return dict(Practice.objects.values_list("pk", "reminder_lead_minutes"))


@shared_task
def reminders_send(now_iso: str | None = None) -> int:
    """Send the reminders that are due, once each even if this task runs twice.

    The ReminderSent row (unique per session, lead and start time) is claimed before
    sending; a rescheduled session has a new start, so it is reminded again.
    """
    from .notifications import session_emails

    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    sent = 0
    for session, lead in _due_reminders(now):
        with practice_scope(session.practice_id):
            try:
                with transaction.atomic():
                    ReminderSent.objects.create(
                        practice_id=session.practice_id,
                        session=session,
                        lead_minutes=lead,
                        starts_at=session.starts_at,
                    )
                    for message in session_emails(session, "reminder", now=now):
                        message.send()
            except IntegrityError:
                continue  # another run claimed it
            sent += 1
    return sent
