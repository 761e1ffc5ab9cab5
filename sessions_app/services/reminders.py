"""Reminders before a session: each sent once per lead time and start time."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from ..models import ReminderSent, Session
from ..notifications import session_emails


def reminder_send(*, session: Session, lead_minutes: int, now: dt.datetime) -> bool:
    """Claim the reminder (unique per session, lead and start) and send it; False if another
    run claimed it first. A rescheduled session has a new start, so it is reminded again."""
    try:
        with transaction.atomic(durable=True):
            ReminderSent.objects.create(
                practice_id=session.practice_id,
                session=session,
                lead_minutes=lead_minutes,
                starts_at=session.starts_at,
            )
            for message in session_emails(session, "reminder", now=now):
                message.send()
    except IntegrityError:
        return False
    return True
