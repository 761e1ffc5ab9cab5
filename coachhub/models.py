"""The tenancy core: users, practices (the tenant), memberships, API tokens, audit."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.functional import cached_property
from django_scopes import ScopedManager

from .timezones import validate_time_zone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in: a coach, an assistant, an owner or a platform admin."""

    username = None
    email = models.EmailField("e-mail address", unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


def default_reminder_leads() -> list[int]:
    return [24 * 60, 60]


class Practice(models.Model):
    """The tenant: a coach's or a group of coaches' business, with its policies."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(
        max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    currency = models.CharField(
        max_length=3,
        default="GBP",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO code such as GBP.")],
    )
    logo_url = models.URLField(blank=True)
    brand_colour = models.CharField(
        max_length=7,
        default="#2f5d62",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour such as #2f5d62.")],
    )
    default_session_minutes = models.PositiveSmallIntegerField(
        default=55, validators=[MinValueValidator(5)]
    )
    buffer_before_minutes = models.PositiveSmallIntegerField(default=0)
    buffer_after_minutes = models.PositiveSmallIntegerField(default=5)
    minimum_notice_minutes = models.PositiveIntegerField(default=12 * 60)
    booking_horizon_days = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(1)]
    )
    cancellation_window_hours = models.PositiveSmallIntegerField(default=24)
    reminder_lead_minutes = models.JSONField(
        default=default_reminder_leads,
        blank=True,
        help_text="Reminder e-mails go out this many minutes before each session.",
    )
    prep_lead_hours = models.PositiveSmallIntegerField(
        default=48,
        validators=[MinValueValidator(1), MaxValueValidator(14 * 24)],
        help_text="The prep questionnaire goes out this many hours before each session.",
    )
    commitment_reminder_time = models.TimeField(
        default=dt.time(9),
        help_text="Clients are reminded of a missed commitment at this time (practice time).",
    )
    one_off_sessions_for_new_clients = models.BooleanField(
        default=True,
        help_text="Off: people who have never bought before are offered packages only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def payments_connected(self) -> bool:
        """Whether this practice can send visitors to Stripe Checkout (billing.StripeAccount)."""
        account = getattr(self, "stripe_account", None)
        return bool(account and account.ready)

    @cached_property
    def memberships_seen(self) -> dict[int, Membership | None]:
        """Memberships looked up through this object (`tenancy.membership_of`); it lives for
        one request or task, so a purchase asking about its coach three times asks once."""
        return {}

    @property
    def slack_connected(self) -> bool:
        """Whether a working Slack workspace is connected (chat.SlackConnection)."""
        connection = getattr(self, "slack_connection", None)
        return bool(connection and connection.ready)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    COACH = "coach", "Coach"
    ASSISTANT = "assistant", "Assistant"


class Membership(models.Model):
    """A user's place in a practice. Resolves the tenant, so it is not itself scoped."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.COACH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["practice__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "user"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.practice}"


class PracticeScoped(models.Model):
    """Base for tenant-owned rows: the manager refuses any query outside a practice scope.

    Subclasses declare their own `practice` foreign key (so each gets a readable
    related name such as `practice.clients`).
    """

    objects = ScopedManager(practice="practice")

    class Meta:
        abstract = True

    def validate_for_save(self) -> None:
        """`full_clean()` without the lookups that cannot fail.

        A foreign key set to an object (not a bare id) points at a row the service
        already read; Django's check would select it again, one query per key. Keys
        set by id are still checked, and the database's constraint has the last word.
        """
        handed_over = [
            field.name
            for field in self._meta.concrete_fields
            if field.many_to_one and field.is_cached(self)
        ]
        # A unique id drawn at random (uuid4 public ids) is not looked up either.
        generated = [
            field.name
            for field in self._meta.concrete_fields
            if field.unique and not field.editable and callable(field.default)
        ]
        self.full_clean(exclude=handed_over + generated)


class ApiToken(PracticeScoped):
    """A practice-scoped API key for one member. Only a hash is stored."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80, default="API token")
    prefix = models.CharField(max_length=8)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_key() -> str:
        return "ch_" + secrets.token_urlsafe(32)

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


class AuditEntry(PracticeScoped):
    """Who changed what, when: written by every service that changes tenant data."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    EXPIRED = "expired", "Expired"


class Invitation(PracticeScoped):
    """An owner's invitation for a person to join the practice with a role, by e-mail.

    The link carries a signed token naming this row and its `link_version`; resending
    raises the version, so only the latest e-mail's link works.
    """

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="invitations")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField("e-mail address")
    role = models.CharField(max_length=12, choices=Role.choices, default=Role.COACH)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_sent",
    )
    link_version = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="invitations_accepted",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} — {self.get_role_display()} at {self.practice}"

    def status(self, *, at) -> str:
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.expires_at <= at:
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING


class CallProvider(models.TextChoices):
    SLACK = "slack", "Slack"
    STRIPE = "stripe", "Stripe"
    EMAIL = "email", "E-mail"
    CALENDAR = "calendar", "External calendar"
    CALENDLY = "calendly", "Calendly"
    CALCOM = "calcom", "Cal.com"


class CallOutcome(models.TextChoices):
    OK = "ok", "Succeeded"
    RETRYING = "retrying", "Failed, will be tried again"
    FAILED = "failed", "Failed for good"


# The log's operations and subjects in words for the pages; an unknown one shows as stored.
CALL_OPERATION_WORDS = {
    "chat.postMessage": "Post in the channel",
    "conversations.create": "Create the channel",
    "conversations.invite": "Add to the channel",
    "conversations.inviteShared": "Invite by Slack Connect",
    "users.lookupByEmail": "Look the person up in the workspace",
    "auth.test": "Check the Slack token",
    "invitation": "Invitation e-mail",
    "resource": "Resource e-mail",
    "purchase.confirmation": "Purchase confirmation e-mail",
    "portal.link": "Portal sign-in link e-mail",
    "session.confirmed": "Session confirmation e-mail",
    "session.rescheduled": "Rescheduled-session e-mail",
    "session.cancelled": "Cancellation e-mail",
    "session.reassigned": "New-coach e-mail",
    "session.handed_over": "Handed-over session e-mail",
    "session.reminder": "Reminder e-mail",
    "feed.fetch": "Read the external calendar",
    "account.verify": "Check the Stripe keys",
    "product.create": "Create the Stripe product",
    "price.create": "Create the Stripe price",
    "checkout.create": "Open a Stripe checkout",
    "invoice.send": "Send the company invoice",
    "invoice.void": "Void the company invoice",
    "subscription.retrieve": "Read a subscription from Stripe",
    "charge.retrieve": "Read a charge from Stripe",
    "events.list": "Reconcile Stripe events",
}
CALL_SUBJECT_WORDS = {
    "sessions_app.session": "a session",
    "sessions_app.booking": "a booking",
    "sessions_app.externalcalendar": "a coach's calendar",
    "engagements.collectionresource": "a resource",
    "engagements.contract": "a company contract",
    "coachhub.invitation": "a member invitation",
    "billing.purchase": "a purchase",
    "billing.offer": "an offer",
    "billing.checkout": "a checkout",
    "billing.companyinvoice": "a company invoice",
    "billing.stripeevent": "a Stripe event",
    "chat.slackchannel": "the channel",
    "chat.slackinvite": "an invite",
    "chat.slackpost": "a post",
}


class IntegrationCall(PracticeScoped):
    """One call the app made to an outside service, so a coach or an admin can see why
    something did not happen. Never a secret or a message body: the provider's error only
    (with any key it echoes masked), and for an e-mail the address it was for."""

    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, related_name="integration_calls"
    )
    provider = models.CharField(max_length=12, choices=CallProvider.choices)
    operation = models.CharField(max_length=80)
    # What the call was for, as "<app>.<model>" and its id; the engagement it belongs to,
    # when there is one, so its page can list the calls made for it.
    subject_type = models.CharField(max_length=60, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    engagement_id = models.BigIntegerField(null=True, blank=True)
    # Whom an e-mail was handed over for: what a coach needs to see why a client did not
    # get it (docs/decisions.md). Only e-mails have one; pruned with the row.
    recipient = models.CharField(max_length=254, blank=True)
    outcome = models.CharField(max_length=10, choices=CallOutcome.choices)
    error_code = models.CharField(max_length=80, blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["practice", "-created_at"], name="call_practice_recent"),
            models.Index(
                fields=["practice", "engagement_id", "-created_at"], name="call_engagement_recent"
            ),
            models.Index(fields=["created_at"], name="call_created"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.operation}: {self.get_outcome_display()}"

    @property
    def purpose(self) -> str:
        """What the call was for, in a coach's words ("Reminder e-mail about a session")."""
        what = CALL_OPERATION_WORDS.get(self.operation, self.operation)
        about = CALL_SUBJECT_WORDS.get(self.subject_type, "")
        return f"{what} ({about})" if about else what
