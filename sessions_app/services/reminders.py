"""Reminders before a session: each sent once per lead time and start time."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction

from coachhub.mail import email_hand_over, email_handed_over_record

from ..models import ReminderSent, Session
from ..notifications import session_emails

logger = logging.getLogger(__name__)


def reminder_send(*, session: Session, lead_minutes: int, now: dt.datetime) -> bool:
    """Claim the reminder (unique per session, lead and start) and send it; False if another
    run claimed it first, or if nobody is there to remind (then nothing is recorded).
    A rescheduled session has a new start, so it is reminded again.

    The claim is committed before any e-mail goes (no transaction held open while the
    mail server answers). If no e-mail could be handed over the claim is taken back, so
    the next run tries again; a `ReminderSent` row means an e-mail was handed over."""
    messages = session_emails(session, "reminder", now=now)
    if not messages:
        return False
    try:
        with transaction.atomic(durable=True):
            claim = ReminderSent.objects.create(
                practice_id=session.practice_id,
                session=session,
                lead_minutes=lead_minutes,
                starts_at=session.starts_at,
            )
    except IntegrityError:
        return False
    handed = [email_hand_over(message) for message in messages]
    missed = [each.error for each in handed if each.error is not None]
    for each in handed:  # a failure is tried again only when nobody got the reminder
        email_handed_over_record(
            each,
            practice_id=session.practice_id,
            kind="session.reminder",
            subject=session,
            engagement_id=session.engagement_id,
            will_retry=len(missed) == len(messages),
        )
    if len(missed) == len(messages):  # the mail server is down: unclaimed, tried again
        claim.delete()
        logger.warning("Reminder for session %s not sent: %s", session.pk, missed[0])
        return False
    if missed:  # sent to the others, who must not get it twice: recorded as sent
        logger.warning(
            "Reminder for session %s not sent to %d of %d attendees: %s",
            session.pk,
            len(missed),
            len(messages),
            missed[0],
        )
    return True
