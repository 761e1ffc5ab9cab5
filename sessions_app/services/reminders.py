"""Reminders before a session: each sent once per lead time and start time."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction

from ..models import ReminderSent, Session
from ..notifications import session_emails

logger = logging.getLogger(__name__)


def reminder_send(*, session: Session, lead_minutes: int, now: dt.datetime) -> bool:
    """Claim the reminder (unique per session, lead and start) and send it; False if another
    run claimed it first, or if nobody is there to remind (then nothing is recorded).
    A rescheduled session has a new start, so it is reminded again.

    The claim and the sending share one transaction: a send that fails takes the claim
    back with it, so a `ReminderSent` row means an e-mail was handed to the backend."""
    messages = session_emails(session, "reminder", now=now)
    if not messages:
        return False
    try:
        with transaction.atomic(durable=True):
            ReminderSent.objects.create(
                practice_id=session.practice_id,
                session=session,
                lead_minutes=lead_minutes,
                starts_at=session.starts_at,
            )
            for message in messages:
                message.send()
    except IntegrityError:
        return False
    except OSError as error:  # the mail server is down: unclaimed, the next run tries again
        logger.warning("Reminder for session %s not sent: %s", session.pk, error)
        return False
    return True
