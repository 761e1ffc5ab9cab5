"""Background work for sessions: beat's sweeps, each fanned out one task per practice.

The tasks services enqueue live beside their work: `notifications.session_notify`
(e-mails with invites) and `services.calendars.external_calendar_refresh_task`.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from chat import services as chat_services
from coachhub.models import Practice
from coachhub.tasks import PracticeTask
from coachhub.tenancy import practice_id_of

from . import channel_posts, selectors, services
from .models import ExternalCalendar, Session
from .notifications import session_notify
from .services.calendars import external_calendar_refresh_task

__all__ = [
    "external_calendar_refresh_task",
    "external_calendars_refresh",
    "holds_release",
    "holds_release_for_practice",
    "reminders_send",
    "reminders_send_for_practice",
    "session_notify",
]


@shared_task
def reminders_send(now_iso: str | None = None) -> int:
    """Beat: a task for each practice with a session to remind soon; returns how many
    practices. `now_iso` (tests, a catch-up by hand) judges the reminders at that moment."""
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    practice_ids = selectors.practices_with_sessions_to_remind(now=now)
    for practice_id in practice_ids:
        reminders_send_for_practice.delay(practice_id=practice_id, now_iso=now_iso)
    return len(practice_ids)


@shared_task(base=PracticeTask)
def reminders_send_for_practice(*, practice_id: int, now_iso: str | None = None) -> int:
    """Send this practice's due reminders, once each even if the task runs twice. Judged
    when the task runs (a late queue never reminds of a session that has begun)."""
    now = dt.datetime.fromisoformat(now_iso) if now_iso else timezone.now()
    practice = Practice.objects.get(pk=practice_id)
    due = selectors.reminders_due(practice, now=now)
    sent = sum(
        services.reminder_send(session=session, lead_minutes=lead, now=now) for session, lead in due
    )
    if due and chat_services.slack_posts_wanted(practice, "post_reminders"):
        for session, lead in due:
            channel_posts.reminder_post(session=session, lead_minutes=lead)
    return sent


@shared_task
def holds_release() -> int:
    """Beat: a task for each practice with a hold past its expiry; returns how many."""
    practice_ids = selectors.practices_with_expired_holds(now=timezone.now())
    for practice_id in practice_ids:
        holds_release_for_practice.delay(practice_id=practice_id)
    return len(practice_ids)


@shared_task(base=PracticeTask)
def holds_release_for_practice(*, practice_id: int) -> int:
    return services.holds_release_expired()


@shared_task
def external_calendars_refresh() -> int:
    """Beat: re-read every external calendar, one task per feed."""
    with scopes_disabled():
        calendars = list(ExternalCalendar.objects.values_list("practice_id", "pk"))
    for practice_id, calendar_id in calendars:
        external_calendar_refresh_task.delay(practice_id=practice_id, calendar_id=calendar_id)
    return len(calendars)


# --- Messages queued before the task base (old names, positional ids) --------------------
# A worker of this release still runs them, by handing each to the task that does the work
# now. Remove once no worker of the earlier release has messages in the queue.
@shared_task(name="sessions_app.tasks.session_notify")
def session_notify_queued_before(session_id: int, kind: str) -> str:
    practice_id = practice_id_of(Session, session_id)
    if practice_id is None:
        return "gone"
    session_notify.delay(practice_id=practice_id, session_id=session_id, kind=kind)
    return "handed on"


@shared_task(name="integrations.calendar.tasks.external_calendar_refresh")
def external_calendar_refresh_queued_before(calendar_id: int) -> str:
    practice_id = practice_id_of(ExternalCalendar, calendar_id)
    if practice_id is None:
        return "gone"
    external_calendar_refresh_task.delay(practice_id=practice_id, calendar_id=calendar_id)
    return "handed on"
