"""Clients, companies and their seat contracts, engagements, collections and templates."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from coachhub.models import Practice, PracticeScoped
from coachhub.timezones import validate_time_zone

from .seat_billing import day_ordinal


class ClientStatus(models.TextChoices):
    LEAD = "lead", "Lead"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    ALUMNI = "alumni", "Alumni"


class Organization(PracticeScoped):
    """A company that buys seats for its employees."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="organizations")
    name = models.CharField(max_length=160)
    billing_email = models.EmailField(blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["practice", "name"], name="unique_org_name")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("organization_detail", kwargs={"organization_pk": self.pk})


class Contract(PracticeScoped):
    """Seats for a company: N sessions per seat per calendar month, billed per seat-month."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="contracts")
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="contracts"
    )
    title = models.CharField(max_length=160, default="Coaching programme")
    starts_on = models.DateField()
    ends_on = models.DateField()
    seats = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    sessions_per_seat_per_month = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    session_minutes = models.PositiveSmallIntegerField(
        default=55, validators=[MinValueValidator(5)]
    )
    price_per_seat_month = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    # The first-month rule (engagements/seat_billing.py): a coach chosen on or before this
    # day of the month (practice time zone) bills that month in full.
    first_month_cutoff_day = models.PositiveSmallIntegerField(
        "first-month cut-off day",
        default=15,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="A coach chosen on or before this day bills the first month in full (1–28).",
    )
    first_month_credit = models.BooleanField(
        "credit an unused late first month",
        default=True,
        help_text="Coach chosen after the cut-off and no session that month: credit the "
        "company one seat-month while under contract. Off: that month is not billed.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on"]

    def __str__(self) -> str:
        return f"{self.organization} — {self.title} ({self.starts_on:%b %Y}–{self.ends_on:%b %Y})"

    def clean(self) -> None:
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValidationError({"ends_on": "The contract cannot end before it starts."})

    def get_absolute_url(self) -> str:
        return reverse("contract_detail", kwargs={"contract_pk": self.pk})

    def covers(self, day: dt.date) -> bool:
        return self.starts_on <= day <= self.ends_on

    @property
    def first_month_rule(self) -> str:
        """The first-month rule as this contract applies it, in one sentence."""
        cutoff = day_ordinal(self.first_month_cutoff_day)
        late_unused = (
            "a credit of one seat-month to the company if it was under contract, otherwise "
            "not billed"
            if self.first_month_credit
            else "not billed (no credit)"
        )
        return (
            f"Coach chosen on or before the {cutoff}: the first month is billed in full. "
            f"After the {cutoff}: no session that month → {late_unused}; one or more → full "
            "price, no credit for unused sessions."
        )


class Client(PracticeScoped):
    """A coachee: a person the practice coaches (or might, as a lead)."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="clients")
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="coached_clients",
        help_text="The client's main coach. Coaches see their own clients only.",
    )
    name = models.CharField(max_length=160)
    email = models.EmailField()
    time_zone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    phone = models.CharField(max_length=40, blank=True)
    status = models.CharField(
        max_length=10, choices=ClientStatus.choices, default=ClientStatus.ACTIVE
    )
    tags = models.JSONField(default=list, blank=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="clients"
    )
    private_notes = models.TextField(
        blank=True, help_text="Only the coach and owners can read these; assistants cannot."
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="client_records",
        help_text="The account the client signs in to the portal with (one per person, "
        "across practices); made when their first portal link is sent.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "email"], name="unique_client_email"),
            models.UniqueConstraint(
                fields=["practice", "user"],
                condition=models.Q(user__isnull=False),
                name="unique_client_portal_user",
            ),
        ]
        indexes = [models.Index(fields=["practice", "coach"])]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("client_detail", kwargs={"client_pk": self.pk})


class SeatAssignment(PracticeScoped):
    """A client on one of a contract's seats, from the day they chose their coach."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="seats")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="assignments")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="seats")
    coach_chosen_at = models.DateTimeField(
        help_text="When the client chose their coach; decides first-month billing."
    )
    ended_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-coach_chosen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client"], condition=Q(ended_on__isnull=True), name="one_open_seat"
            )
        ]

    def __str__(self) -> str:
        return f"{self.client} on {self.contract}"


class CollectionKind(models.TextChoices):
    ONE_TO_ONE = "one_to_one", "1:1"
    TEAM = "team", "Team"


class CollectionTemplate(PracticeScoped):
    """Agenda items and prep questions a collection starts from."""

    COACHING = "Coaching / Mentorship"
    TEAM_WORKSHOP = "Team workshop"

    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, related_name="collection_templates"
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=CollectionKind.choices)
    agenda_items = models.JSONField(default=list, blank=True)
    prep_questions = models.JSONField(default=list, blank=True)
    is_builtin = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "name"], name="unique_template_name")
        ]

    def __str__(self) -> str:
        return self.name


class EngagementKind(models.TextChoices):
    PER_SESSION = "per_session", "Per-session coaching"
    MONTHLY_PACKAGE = "monthly_package", "Monthly package"
    TEAM_WORKSHOP = "team_workshop", "Team workshop"


class EngagementStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


# An engagement still running or about to: what a new booking or credit can belong to.
OPEN_ENGAGEMENT_STATUSES = (EngagementStatus.PROPOSED, EngagementStatus.ACTIVE)


def sessions_in_monthly_hours(hours_per_month: Decimal, session_minutes: int) -> int:
    """How many whole sessions of this length a month's hours hold (2 h of 55 min: 2).

    A row saved before lengths were validated may hold no hours or a zero length: it
    holds no sessions rather than failing every page and API answer that shows it.
    """
    if not hours_per_month or not session_minutes or session_minutes <= 0:
        return 0
    return max(int((Decimal(hours_per_month) * 60) // session_minutes), 0)


class Funding(models.TextChoices):
    PAID = "paid", "Paid by the client"
    SEAT = "seat", "Company seat"


class Cadence(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    BIWEEKLY = "biweekly", "Bi-weekly (recommended)"
    MONTHLY = "monthly", "Monthly"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Engagement(PracticeScoped):
    """What a client (or a team) and a coach have agreed: a kind of coaching over time."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="engagements")
    kind = models.CharField(max_length=20, choices=EngagementKind.choices)
    title = models.CharField(max_length=160)
    client = models.ForeignKey(
        Client, on_delete=models.PROTECT, null=True, blank=True, related_name="engagements"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="engagements"
    )
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="engagements"
    )
    funding = models.CharField(max_length=8, choices=Funding.choices, default=Funding.PAID)
    status = models.CharField(
        max_length=10, choices=EngagementStatus.choices, default=EngagementStatus.ACTIVE
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    cadence = models.CharField(max_length=10, choices=Cadence.choices, blank=True)
    preferred_weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, null=True, blank=True
    )
    preferred_time = models.TimeField(null=True, blank=True)
    session_minutes = models.PositiveSmallIntegerField(
        default=55, validators=[MinValueValidator(5), MaxValueValidator(8 * 60)]
    )
    hours_per_month = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.25"))],
    )
    aims = models.TextField("big-picture aims", blank=True)
    core_subject = models.CharField(max_length=200, blank=True)
    send_platform_invite = models.BooleanField(
        default=True,
        help_text="Off when the booking tool already sends its own calendar invite.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["practice", "coach", "status"])]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == EngagementKind.TEAM_WORKSHOP:
            if not self.core_subject:
                errors["core_subject"] = "A team workshop needs a core subject."
        elif self.client_id is None:
            errors["client"] = "Choose the client this engagement is for."
        if self.kind == EngagementKind.MONTHLY_PACKAGE:
            if not self.cadence:
                errors["cadence"] = "Agree a cadence: weekly, bi-weekly or monthly."
            if self.hours_per_month is None:
                errors["hours_per_month"] = "A monthly package allocates hours per month."
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            errors["ends_on"] = "The engagement cannot end before it starts."
        if errors:
            raise ValidationError(errors)

    def get_absolute_url(self) -> str:
        return reverse("engagement_detail", kwargs={"engagement_pk": self.pk})

    @property
    def is_team(self) -> bool:
        return self.kind == EngagementKind.TEAM_WORKSHOP

    @property
    def sessions_per_month(self) -> int:
        """A monthly package's sessions per calendar month, within its hours."""
        return sessions_in_monthly_hours(self.hours_per_month, self.session_minutes)


class StepState(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


# A step that still needs someone: the checklist is not finished while any is left.
OPEN_STEP_STATES = (StepState.PENDING, StepState.FAILED)


class ChecklistStep(PracticeScoped):
    """One step of an engagement's setup checklist, automated where the app can."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(max_length=40)
    label = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=16, choices=StepState.choices, default=StepState.PENDING)
    reason = models.TextField(blank=True, help_text="Why it failed or does not apply; what to do.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["engagement", "position"]
        constraints = [
            models.UniqueConstraint(fields=["engagement", "key"], name="unique_step_key")
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.get_state_display()}"


class Collection(PracticeScoped):
    """The shared space of an engagement: agenda, prep questions, resources, participants."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="collections")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    engagement = models.OneToOneField(
        Engagement, on_delete=models.CASCADE, related_name="collection"
    )
    kind = models.CharField(max_length=12, choices=CollectionKind.choices)
    title = models.CharField(max_length=200)
    template = models.ForeignKey(
        CollectionTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agenda_items = models.JSONField(default=list, blank=True)
    prep_questions = models.JSONField(default=list, blank=True)
    participants = models.ManyToManyField(
        Client, through="CollectionParticipant", related_name="collections"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("collection_detail", kwargs={"collection_pk": self.pk})


class CollectionParticipant(PracticeScoped):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    collection = models.ForeignKey(
        Collection, on_delete=models.CASCADE, related_name="participant_links"
    )
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="participant_links")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "client"], name="unique_participant")
        ]

    def __str__(self) -> str:
        return f"{self.client} in {self.collection}"


class ResourceKind(models.TextChoices):
    HANDOUT = "handout", "Handout"
    ACTION_PLAN = "action_plan", "Action plan"
    LINK = "link", "Link"


class ResourceAudience(models.TextChoices):
    CLIENT = "client", "The client"
    PARTICIPANTS = "participants", "Every participant"


class CollectionResource(PracticeScoped):
    """A follow-up resource (handout, action plan) shared with a collection's participants."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="+")
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="resources")
    kind = models.CharField(max_length=12, choices=ResourceKind.choices, default=ResourceKind.LINK)
    title = models.CharField(max_length=200)
    url = models.URLField(blank=True)
    body = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.title
