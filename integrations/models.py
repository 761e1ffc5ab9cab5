"""Connections to the outside: external calendars whose busy time blocks booking."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from coachhub.models import Practice, PracticeScoped


class AllDayEvents(models.TextChoices):
    BUSY = "busy", "Block the whole day"
    IGNORE = "ignore", "Ignore all-day events"


class ExternalCalendar(PracticeScoped):
    """A coach's calendar "secret address" (ICS URL), polled by a periodic task.

    Busy time is stored as `BusyInterval` rows, so a booking page never parses a feed.
    A failed fetch is recorded here and the old busy time kept until a good fetch.
    """

    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, related_name="external_calendars"
    )
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_calendars"
    )
    name = models.CharField(max_length=120, default="My calendar")
    # webcal:// addresses are stored as https:// by external_calendar_add.
    url = models.URLField(max_length=1000, help_text="The calendar's secret iCal address.")
    all_day_events = models.CharField(
        max_length=8, choices=AllDayEvents.choices, default=AllDayEvents.BUSY
    )
    transparent_events_block = models.BooleanField(
        default=False,
        help_text="Events marked “free” (TRANSP:TRANSPARENT) also block booking.",
    )
    etag = models.CharField(max_length=200, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    busy_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.coach})"


class BusyInterval(PracticeScoped):
    """One expanded busy occurrence from an external calendar, in UTC."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    calendar = models.ForeignKey(
        ExternalCalendar, on_delete=models.CASCADE, related_name="busy_intervals"
    )
    coach = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["coach", "ends_at"], name="busy_coach_end")]

    def __str__(self) -> str:
        return f"busy {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M} UTC"
