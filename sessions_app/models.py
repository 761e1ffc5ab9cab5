"""Coaching sessions: the records the coach works from."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse

from coachhub.models import Practice, PracticeScoped


class SessionStatus(models.TextChoices):
    TO_SCHEDULE = "to_schedule", "To be scheduled"
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    LATE_CANCELLED = "late_cancelled", "Late-cancelled"
    NO_SHOW = "no_show", "No-show"


# Late cancels and no-shows count as used (SPEC §4: "late cancel counts as used").
STATUSES_THAT_USE_ALLOWANCE = (
    SessionStatus.SCHEDULED,
    SessionStatus.COMPLETED,
    SessionStatus.LATE_CANCELLED,
    SessionStatus.NO_SHOW,
)


class SessionSource(models.TextChoices):
    BOOKING_LINK = "booking_link", "Booking link"
    RECURRING = "recurring", "Recurring schedule"
    MANUAL = "manual", "Manual"
    EXTERNAL_CALENDAR = "external_calendar", "External calendar"
    STRIPE_PURCHASE = "stripe_purchase", "Stripe purchase"


class Consumes(models.TextChoices):
    NOTHING = "nothing", "Nothing"
    CREDIT = "credit", "A session credit"
    SEAT_MONTH = "seat_month", "Seat allowance"


class Session(PracticeScoped):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="sessions")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.ForeignKey(
        "engagements.Engagement", on_delete=models.CASCADE, related_name="sessions"
    )
    collection = models.ForeignKey(
        "engagements.Collection",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
    )
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="coach_sessions"
    )
    client = models.ForeignKey(
        "engagements.Client",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sessions",
        help_text="Empty for a team session; participants come from the collection.",
    )
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=SessionStatus.choices, default=SessionStatus.TO_SCHEDULE
    )
    location = models.CharField(max_length=300, blank=True, help_text="Place or video link.")
    source = models.CharField(
        max_length=20, choices=SessionSource.choices, default=SessionSource.MANUAL
    )
    consumes = models.CharField(max_length=12, choices=Consumes.choices, default=Consumes.NOTHING)
    seat = models.ForeignKey(
        "engagements.SeatAssignment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sessions",
    )
    allowance_override_reason = models.TextField(
        blank=True, help_text="Set when an owner booked beyond a seat's monthly allowance."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["practice", "coach", "starts_at"]),
            models.Index(fields=["seat", "starts_at"]),
        ]

    def __str__(self) -> str:
        when = f"{self.starts_at:%Y-%m-%d %H:%M} UTC" if self.starts_at else "to be scheduled"
        return f"{self.title} ({when})"

    def clean(self) -> None:
        if (self.starts_at is None) != (self.ends_at is None):
            raise ValidationError("A session needs both a start and an end, or neither.")
        if self.starts_at and self.ends_at <= self.starts_at:
            raise ValidationError({"ends_at": "A session must end after it starts."})

    def get_absolute_url(self) -> str:
        return reverse("session_detail", kwargs={"session_uuid": self.public_id})

    @property
    def duration(self) -> dt.timedelta | None:
        if self.starts_at and self.ends_at:
            return self.ends_at - self.starts_at
        return None
