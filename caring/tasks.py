"""Beat's sweeps for caring between sessions, each fanned out one task per practice.

The e-mail tasks that services enqueue live beside their messages in `caring.emails`."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from coachhub.models import Practice
from coachhub.tasks import PracticeTask

from . import selectors, services
from .emails import commitment_reminder_send, prep_email_send, recap_email_send

__all__ = [
    "commitment_reminder_send",
    "commitments_sweep",
    "commitments_sweep_for_practice",
    "prep_email_send",
    "preps_send",
    "preps_send_for_practice",
    "recap_email_send",
]


def _now(now_iso: str | None) -> dt.datetime:
    return dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()


@shared_task
def preps_send(now_iso: str | None = None) -> int:
    """Beat: a task for each practice with a prep questionnaire due; returns how many."""
    practice_ids = selectors.practices_with_prep_due(now=_now(now_iso))
    for practice_id in practice_ids:
        preps_send_for_practice.delay(practice_id=practice_id, now_iso=now_iso)
    return len(practice_ids)


@shared_task(base=PracticeTask)
def preps_send_for_practice(*, practice_id: int, now_iso: str | None = None) -> int:
    """Send this practice's due prep questionnaires, each once even if the task runs twice."""
    now = _now(now_iso)
    practice = Practice.objects.get(pk=practice_id)
    return sum(
        services.prep_send(session=session, now=now)
        for session in selectors.sessions_due_prep(practice, now=now)
    )


@shared_task
def commitments_sweep(now_iso: str | None = None) -> int:
    """Beat: a task for each practice with a commitment to flag or a client to remind."""
    practice_ids = selectors.practices_with_commitments_to_sweep(now=_now(now_iso))
    for practice_id in practice_ids:
        commitments_sweep_for_practice.delay(practice_id=practice_id, now_iso=now_iso)
    return len(practice_ids)


@shared_task(base=PracticeTask)
def commitments_sweep_for_practice(*, practice_id: int, now_iso: str | None = None) -> int:
    """Flag the practice's missed commitments (once each), then, from its reminder time
    on, remind each client of theirs (once each); returns how many were flagged."""
    now = _now(now_iso)
    practice = Practice.objects.get(pk=practice_id)
    flagged = services.commitments_flag_missed(practice=practice, now=now)
    services.commitment_reminders_claim(practice=practice, now=now)
    return flagged
