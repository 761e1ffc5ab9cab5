"""External calendars: connect, disconnect, and refresh the busy time they block.

The feed is fetched and expanded by the calendar provider client
(`integrations.calendar.feeds`); the busy time it yields is stored here, per coach.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coachhub.audit import audit_record
from coachhub.calls import call_recorded
from coachhub.models import CallProvider, Practice, User
from coachhub.services import coach_setup_authorize
from coachhub.tasks import PracticeTask
from integrations.calendar import feeds

from ..models import AllDayEvents, BusyInterval, ExternalCalendar
from ..slot_cache import coach_availability_changed

EXPAND_PAST = dt.timedelta(days=1)
EXPAND_FUTURE = dt.timedelta(days=400)


def external_calendar_add(
    *, practice: Practice, actor: User, coach: User, name: str, url: str, **options
) -> ExternalCalendar:
    coach_setup_authorize(practice, actor, coach)
    url = url.strip()
    if url.lower().startswith("webcal://"):  # calendar apps hand these out; they are HTTPS
        url = "https://" + url[len("webcal://") :]
    calendar = ExternalCalendar(
        practice=practice, coach=coach, name=name or "My calendar", url=url, **options
    )
    calendar.full_clean()
    calendar.save()
    audit_record(practice=practice, actor=actor, action="calendar.add", obj=calendar)
    external_calendar_refresh_task.delay_on_commit(practice_id=practice.pk, calendar_id=calendar.pk)
    return calendar


def external_calendar_remove(*, calendar: ExternalCalendar, actor: User) -> None:
    """Disconnect a calendar; its busy time stops blocking booking at once."""
    coach_setup_authorize(calendar.practice, actor, calendar.coach)
    audit_record(practice=calendar.practice, actor=actor, action="calendar.remove", obj=calendar)
    calendar.delete()
    coach_availability_changed(calendar.coach_id)


def external_calendar_refresh(*, calendar: ExternalCalendar, now: dt.datetime | None = None) -> str:
    """Fetch and store busy time. Returns "updated", "unchanged" or "failed".

    A failure is recorded on the calendar and the old busy time kept until a good fetch.
    """
    now = now or timezone.now()
    calendar.last_fetched_at = now
    try:
        # Beat's sweep reads every calendar again, so a failed fetch is always retried.
        with call_recorded(
            practice_id=calendar.practice_id,
            provider=CallProvider.CALENDAR,
            operation="feed.fetch",
            subject=calendar,
            will_retry=True,
        ):
            fetched = feeds.fetch(
                calendar.url,
                etag=calendar.etag,
                allow_private=settings.CALENDAR_ALLOW_PRIVATE_URLS,
            )
        if fetched.not_modified or fetched.content_hash == calendar.content_hash:
            calendar.last_success_at, calendar.last_error = now, ""
            calendar.save(update_fields=["last_fetched_at", "last_success_at", "last_error"])
            return "unchanged"
        spans = feeds.busy_spans(
            fetched.body,
            start=now - EXPAND_PAST,
            end=now + EXPAND_FUTURE,
            zone=ZoneInfo(calendar.coach.time_zone),
            all_day_busy=calendar.all_day_events == AllDayEvents.BUSY,
            transparent_blocks=calendar.transparent_events_block,
        )
    except feeds.FeedError as error:
        calendar.last_error = str(error)
        calendar.save(update_fields=["last_fetched_at", "last_error"])
        return "failed"
    with transaction.atomic():
        BusyInterval.objects.filter(calendar=calendar).delete()
        BusyInterval.objects.bulk_create(
            [
                BusyInterval(
                    practice_id=calendar.practice_id,
                    calendar=calendar,
                    coach_id=calendar.coach_id,
                    starts_at=start,
                    ends_at=end,
                )
                for start, end in spans
            ],
            batch_size=1000,
        )
        coach_availability_changed(calendar.coach_id)
        calendar.etag = fetched.etag
        calendar.content_hash = fetched.content_hash
        calendar.last_success_at, calendar.last_error = now, ""
        calendar.busy_count = len(spans)
        calendar.save(
            update_fields=[
                "etag",
                "content_hash",
                "last_fetched_at",
                "last_success_at",
                "last_error",
                "busy_count",
            ]
        )
    return "updated"


@shared_task(base=PracticeTask)
def external_calendar_refresh_task(*, practice_id: int, calendar_id: int) -> str:
    """Re-read one calendar (after it is connected, and for beat's sweep)."""
    calendar = ExternalCalendar.objects.select_related("coach").filter(pk=calendar_id).first()
    if calendar is None:
        return "gone"
    return external_calendar_refresh(calendar=calendar)
