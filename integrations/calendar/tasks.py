"""Periodic refresh of every external calendar (one task per feed)."""

from __future__ import annotations

from celery import shared_task
from django_scopes import scopes_disabled

from coachhub.tenancy import practice_scope
from integrations.models import ExternalCalendar


@shared_task
def external_calendars_refresh() -> int:
    with scopes_disabled():
        ids = list(ExternalCalendar.objects.values_list("pk", flat=True))
    for calendar_id in ids:
        external_calendar_refresh.delay(calendar_id)
    return len(ids)


@shared_task
def external_calendar_refresh(calendar_id: int) -> str:
    from .services import external_calendar_refresh as refresh

    with scopes_disabled():
        calendar = ExternalCalendar.objects.select_related("coach").filter(pk=calendar_id).first()
    if calendar is None:
        return "gone"
    with practice_scope(calendar.practice_id):
        return refresh(calendar=calendar)
