"""Sessions, the coach's availability and busy time, bookings, feeds, and the credit ledger."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from coachhub.models import Practice, PracticeScoped
from engagements.models import Weekday


class SessionStatus(models.TextChoices):
    TO_SCHEDULE = "to_schedule", "To be scheduled"
    HELD = "held", "Held for checkout"
    RELEASED = "released", "Hold released"
    SCHEDULED = "scheduled", "Scheduled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    LATE_CANCELLED = "late_cancelled", "Late-cancelled"
    NO_SHOW = "no_show", "No-show"


# Late cancels and no-shows count as used (docs/product.md §4: "late cancel counts as used").
STATUSES_THAT_USE_ALLOWANCE = (
    SessionStatus.SCHEDULED,
    SessionStatus.COMPLETED,
    SessionStatus.LATE_CANCELLED,
    SessionStatus.NO_SHOW,
)


# Sessions that occupy the coach's time. The PostgreSQL exclusion constraint covers
# exactly these; an expired hold still blocks until released, which the booking
# service does (inside its transaction) before it claims a time.
STATUSES_THAT_BLOCK_TIME = (
    SessionStatus.HELD,
    SessionStatus.SCHEDULED,
    SessionStatus.COMPLETED,
)
EXCLUSION_CONSTRAINT_NAME = "session_no_overlap_per_coach"


class SessionSource(models.TextChoices):
    BOOKING_LINK = "booking_link", "Booking link"
    RECURRING = "recurring", "Recurring schedule"
    MANUAL = "manual", "Manual"
    EXTERNAL_CALENDAR = "external_calendar", "External calendar"
    STRIPE_PURCHASE = "stripe_purchase", "Stripe purchase"


class Consumption(models.TextChoices):
    """What a session uses up: nothing, one of the engagement's credits, or a seat-month."""

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
    consumes = models.CharField(
        max_length=12, choices=Consumption.choices, default=Consumption.NOTHING
    )
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
    booking_link = models.ForeignKey(
        "sessions_app.BookingLink",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="sessions",
    )
    hold_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="A held slot is freed at this time unless confirmed."
    )
    sequence = models.PositiveIntegerField(
        default=0, help_text="iCalendar SEQUENCE: goes up with every change sent to attendees."
    )
    scheduled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the current time was set; reminders due before it are skipped.",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["practice", "coach", "starts_at"]),
            models.Index(fields=["coach", "starts_at"], name="session_coach_start"),
            models.Index(fields=["seat", "starts_at"]),
            models.Index(fields=["status", "starts_at"], name="session_status_start"),
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
    def is_live(self) -> bool:
        return self.status in (SessionStatus.HELD, SessionStatus.SCHEDULED)

    @property
    def capacity(self) -> int:
        return self.booking_link.capacity if self.booking_link_id else 1

    def is_late_cancel(self, *, at: dt.datetime) -> bool:
        """Cancelling inside the practice's cancellation window counts the session as used."""
        if self.starts_at is None:
            return False
        window = dt.timedelta(hours=self.practice.cancellation_window_hours)
        return at > self.starts_at - window

    def ics_uid(self) -> str:
        return f"session-{self.public_id}@coachhub"

    @property
    def duration(self) -> dt.timedelta | None:
        if self.starts_at and self.ends_at:
            return self.ends_at - self.starts_at
        return None


def _minutes_of(value: dt.time) -> int:
    return value.hour * 60 + value.minute


class WeeklyHours(PracticeScoped):
    """One block of a coach's weekly bookable hours, in the coach's own time zone."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="weekly_hours")
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="weekly_hours"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts = models.TimeField()
    ends = models.TimeField(help_text="00:00 means until midnight.")

    class Meta:
        ordering = ["coach_id", "weekday", "starts"]
        indexes = [models.Index(fields=["practice", "coach"])]
        verbose_name_plural = "weekly hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts:%H:%M}–{self.ends:%H:%M}"

    def clean(self) -> None:
        if (
            self.starts is not None
            and self.ends is not None
            and self.interval[1] <= self.interval[0]
        ):
            raise ValidationError({"ends": "Hours must end after they start."})

    @property
    def interval(self) -> tuple[int, int]:
        end = _minutes_of(self.ends)
        return _minutes_of(self.starts), end or 24 * 60


class DateOverride(PracticeScoped):
    """Hours for one date that replace the weekday's; a row without hours is a day off."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="date_overrides")
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="date_overrides"
    )
    date = models.DateField()
    starts = models.TimeField(null=True, blank=True)
    ends = models.TimeField(null=True, blank=True, help_text="00:00 means until midnight.")

    class Meta:
        ordering = ["date", "starts"]
        indexes = [models.Index(fields=["coach", "date"])]

    def __str__(self) -> str:
        if self.is_day_off:
            return f"{self.date}: day off"
        return f"{self.date}: {self.starts:%H:%M}–{self.ends:%H:%M}"

    def clean(self) -> None:
        if (self.starts is None) != (self.ends is None):
            raise ValidationError("Give both a start and an end, or neither for a day off.")
        if not self.is_day_off and self.interval[1] <= self.interval[0]:
            raise ValidationError({"ends": "Hours must end after they start."})

    @property
    def is_day_off(self) -> bool:
        return self.starts is None

    @property
    def interval(self) -> tuple[int, int]:
        return _minutes_of(self.starts), _minutes_of(self.ends) or 24 * 60


# What a coach sets on a booking link, on the page and through the API alike.
BOOKING_LINK_EDITABLE_FIELDS = [
    "title",
    "slug",
    "description",
    "duration_minutes",
    "step_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "minimum_notice_minutes",
    "horizon_days",
    "max_per_day",
    "capacity",
    "engagement",
    "requires_payment",
    "offer",
    "location",
    "reschedule_cutoff_hours",
    "max_reschedules",
    "is_active",
]


class BookingLink(PracticeScoped):
    """A coach's public calendar link: `/book/<practice slug>/<slug>/`."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="booking_links")
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="booking_links"
    )
    slug = models.SlugField(max_length=60)
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        default=55, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    step_minutes = models.PositiveSmallIntegerField(
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
        help_text="Slots start every this many minutes from the start of the coach's hours.",
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(240)]
    )
    buffer_after_minutes = models.PositiveSmallIntegerField(
        default=5, validators=[MaxValueValidator(240)]
    )
    minimum_notice_minutes = models.PositiveIntegerField(
        default=12 * 60, validators=[MaxValueValidator(60 * 24 * 60)]
    )
    horizon_days = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(730)]
    )
    max_per_day = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Most sessions the coach takes per day; empty: no limit."
    )
    capacity = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text="More than 1 makes a group link: several people book the same session.",
    )
    engagement = models.ForeignKey(
        "engagements.Engagement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="booking_links",
        help_text="For a group link: the team workshop its sessions belong to.",
    )
    requires_payment = models.BooleanField(
        default=False,
        help_text="Visitors without a credit or seat pay at checkout; the slot is held meanwhile.",
    )
    offer = models.ForeignKey(
        "billing.Offer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="booking_links",
        help_text="What a paying visitor buys (a single session or a package of sessions).",
    )
    location = models.CharField(max_length=300, blank=True, help_text="Place or video link.")
    reschedule_cutoff_hours = models.PositiveSmallIntegerField(
        default=12, help_text="No rescheduling through the link closer to the start than this."
    )
    max_reschedules = models.PositiveSmallIntegerField(default=2)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "slug"], name="unique_link_slug")
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.capacity > 1 and self.requires_payment:
            raise ValidationError(
                {"requires_payment": "Group links join a workshop that is bought once."}
            )
        if self.offer_id and not self.offer.sold_through_booking_links:
            raise ValidationError(
                {"offer": "A booking link sells a single session or a package of sessions."}
            )

    def get_absolute_url(self) -> str:
        return reverse(
            "booking_page", kwargs={"practice_slug": self.practice.slug, "link_slug": self.slug}
        )

    @property
    def is_group(self) -> bool:
        return self.capacity > 1


class BookingStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"
    HELD = "held", "Held for checkout"
    CANCELLED = "cancelled", "Cancelled"
    LATE_CANCELLED = "late_cancelled", "Late-cancelled"


class Booking(PracticeScoped):
    """One person's place in a session; its signed token is their reschedule/cancel link."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="bookings")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="bookings")
    client = models.ForeignKey(
        "engagements.Client", on_delete=models.CASCADE, related_name="bookings"
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="The zone the person booked in; e-mails use it."
    )
    status = models.CharField(
        max_length=16, choices=BookingStatus.choices, default=BookingStatus.CONFIRMED
    )
    reschedule_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["session", "status"])]

    def __str__(self) -> str:
        return f"{self.client} — {self.session}"

    @property
    def is_active(self) -> bool:
        return self.status in (BookingStatus.CONFIRMED, BookingStatus.HELD)

    def reschedule_refusal(self, *, at: dt.datetime) -> str:
        """Why the attendee cannot move this booking through their link now ("" if they can)."""
        session, link = self.session, self.session.booking_link
        if not self.is_active or session.status != SessionStatus.SCHEDULED:
            return "Only a confirmed booking can be rescheduled."
        if link is None:
            return "This session was not booked through a link; ask the coach to move it."
        if session.starts_at - at < dt.timedelta(hours=link.reschedule_cutoff_hours):
            return (
                f"Sessions can be rescheduled up to {link.reschedule_cutoff_hours} hours before "
                "they start. Please contact the coach."
            )
        if self.reschedule_count >= link.max_reschedules:
            return (
                f"This booking has been rescheduled {self.reschedule_count} times, the most "
                "allowed. Please contact the coach."
            )
        return ""


class CalendarFeedToken(PracticeScoped):
    """The secret in a private subscription feed URL, for a coach or a client."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="feed_tokens")
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="feed_tokens",
    )
    client = models.ForeignKey(
        "engagements.Client",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="feed_tokens",
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(coach__isnull=True) ^ models.Q(client__isnull=True),
                name="feed_token_for_coach_xor_client",
            ),
            models.UniqueConstraint(
                fields=["practice", "coach"],
                condition=models.Q(coach__isnull=False),
                name="one_feed_per_coach",
            ),
            models.UniqueConstraint(
                fields=["practice", "client"],
                condition=models.Q(client__isnull=False),
                name="one_feed_per_client",
            ),
        ]

    def __str__(self) -> str:
        return f"Feed for {self.coach or self.client}"

    def get_absolute_url(self) -> str:
        return reverse("calendar_feed", kwargs={"token": self.token})


class ReminderSent(PracticeScoped):
    """A reminder that went out; unique per session, lead time and start, so a task that
    runs twice sends once, and a rescheduled session (new start) is reminded again."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="reminders")
    lead_minutes = models.PositiveIntegerField()
    starts_at = models.DateTimeField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "lead_minutes", "starts_at"], name="one_reminder_per_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.lead_minutes} min reminder for {self.session}"


# --- What a session uses up: the credit ledger (seat allowances are counted from sessions)
class CreditKind(models.TextChoices):
    GRANT = "grant", "Granted"
    CONSUME = "consume", "Used for a session"
    RESTORE = "restore", "Restored (timely cancel)"
    EXPIRE = "expire", "Expired"
    REVOKE = "revoke", "Revoked (refund)"
    ADJUST = "adjust", "Adjusted by the coach"


class CreditEntry(PracticeScoped):
    """One line of the append-only credit ledger; a balance is the sum of its lines.

    `effect_key` names the effect (`grant:invoice:in_123`, `consume:session:42`) and
    is unique per practice, so replaying an event can never apply it twice.
    """

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="credit_entries")
    client = models.ForeignKey(
        "engagements.Client", on_delete=models.PROTECT, related_name="credit_entries"
    )
    engagement = models.ForeignKey(
        "engagements.Engagement", on_delete=models.PROTECT, related_name="credit_entries"
    )
    purchase = models.ForeignKey(
        "billing.Purchase",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_entries",
    )
    session = models.ForeignKey(
        Session, on_delete=models.PROTECT, null=True, blank=True, related_name="credit_entries"
    )
    kind = models.CharField(max_length=10, choices=CreditKind.choices)
    amount = models.SmallIntegerField(help_text="+ adds credits, − takes them.")
    effect_key = models.CharField(max_length=160)
    note = models.CharField(max_length=255, blank=True)
    override_reason = models.CharField(
        max_length=255, blank=True, help_text="Why the balance may go below zero."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "effect_key"], name="credit_effect_once")
        ]
        # Table and index keep the names they had in billing, where the ledger began.
        db_table = "billing_creditentry"
        indexes = [
            models.Index(fields=["engagement", "created_at"], name="billing_cre_engagem_68df7d_idx")
        ]
        ordering = ["created_at", "pk"]
        verbose_name_plural = "credit entries"

    def __str__(self) -> str:
        return f"{self.amount:+d} {self.get_kind_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("The credit ledger is append-only: add a new entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("The credit ledger is append-only: add a new entry instead.")


# --- External calendars: the coach's busy time elsewhere (read by integrations.calendar)
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
        db_table = "integrations_externalcalendar"  # where it began
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
        db_table = "integrations_busyinterval"  # where it began
        indexes = [models.Index(fields=["coach", "ends_at"], name="busy_coach_end")]

    def __str__(self) -> str:
        return f"busy {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%H:%M} UTC"
