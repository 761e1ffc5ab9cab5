"""Offers, the practice's Stripe account and events, purchases, payments, company invoices."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from coachhub.encryption import EncryptedTextField, mask
from coachhub.models import Practice, PracticeScoped
from coachhub.money import from_minor, money_shown, to_minor
from engagements.models import sessions_in_monthly_hours
from integrations.stripe import webhooks as stripe_webhooks


class StripeMode(models.TextChoices):
    TEST = "test", "Test mode"
    LIVE = "live", "Live mode"


class StripeAccount(PracticeScoped):
    """A practice's own Stripe account: keys encrypted at rest, never shown in full."""

    practice = models.OneToOneField(
        Practice, on_delete=models.CASCADE, related_name="stripe_account"
    )
    secret_key = EncryptedTextField()
    publishable_key = models.CharField(max_length=255, blank=True)
    webhook_secret = EncryptedTextField(blank=True)
    mode = models.CharField(max_length=4, choices=StripeMode.choices, default=StripeMode.TEST)
    account_id = models.CharField(max_length=255, blank=True)
    account_name = models.CharField(max_length=255, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_reconciled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Stripe {self.account_id or '(unverified)'} for {self.practice}"

    @property
    def secret_key_masked(self) -> str:
        return mask(self.secret_key)

    @property
    def webhook_secret_masked(self) -> str:
        return mask(self.webhook_secret)

    @property
    def ready(self) -> bool:
        """Checkout can be offered: a verified key and a webhook secret to hear back with."""
        return bool(self.secret_key and self.webhook_secret and self.verified_at)


class OfferKind(models.TextChoices):
    SINGLE_SESSION = "single_session", "Single session"
    SESSION_PACK = "session_pack", "Package of sessions"
    MONTHLY_PACKAGE = "monthly_package", "Monthly package (subscription)"
    TEAM_WORKSHOP = "team_workshop", "Team workshop"


# A booking link sells one session at a time: a single session or a package of them.
BOOKING_LINK_OFFER_KINDS = (OfferKind.SINGLE_SESSION, OfferKind.SESSION_PACK)


class WorkshopPricing(models.TextChoices):
    PER_SEAT = "per_seat", "Per participant"
    PER_GROUP = "per_group", "Per group"


# What a coach sets on an offer, on the page and through the API alike.
OFFER_EDITABLE_FIELDS = [
    "kind",
    "name",
    "description",
    "coach",
    "price",
    "session_minutes",
    "sessions",
    "hours_per_month",
    "months",
    "capacity",
    "workshop_pricing",
    "is_active",
]


class Offer(PracticeScoped):
    """Something a practice sells, mirrored by a Stripe Product and Price."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="offers")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=20, choices=OfferKind.choices)
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True)
    coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="offers"
    )
    price = models.DecimalField(
        max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0.50"))]
    )
    currency = models.CharField(max_length=3)
    session_minutes = models.PositiveSmallIntegerField(
        default=55, validators=[MinValueValidator(5), MaxValueValidator(8 * 60)]
    )
    sessions = models.PositiveSmallIntegerField(
        default=1, help_text="Sessions in a package (a single session is 1)."
    )
    hours_per_month = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.25"))],
        help_text="Monthly packages.",
    )
    months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="How long a monthly package runs."
    )
    capacity = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Workshops.")
    workshop_pricing = models.CharField(
        max_length=10, choices=WorkshopPricing.choices, default=WorkshopPricing.PER_GROUP
    )
    is_active = models.BooleanField(default=True)
    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    stripe_price_fingerprint = models.CharField(
        max_length=80, blank=True, help_text="The price terms the Stripe Price was made for."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "price"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The offer's public buy link."""
        return reverse(
            "buy", kwargs={"practice_slug": self.practice.slug, "offer_id": self.public_id}
        )

    def clean(self) -> None:
        errors = {}
        if self.kind == OfferKind.MONTHLY_PACKAGE:
            if not self.hours_per_month:
                errors["hours_per_month"] = "A monthly package allocates hours per month."
            if not self.months:
                errors["months"] = "Say how many months the package runs (e.g. 3 or 6)."
        if self.kind == OfferKind.SESSION_PACK and self.sessions < 2:
            errors["sessions"] = "A package has at least two sessions."
        if self.kind == OfferKind.SINGLE_SESSION and self.sessions != 1:
            errors["sessions"] = "A single session is one session."
        if self.kind == OfferKind.TEAM_WORKSHOP and not self.capacity:
            errors["capacity"] = "A workshop has a capacity."
        if errors:
            raise ValidationError(errors)

    @property
    def sold_through_booking_links(self) -> bool:
        return self.kind in BOOKING_LINK_OFFER_KINDS

    @property
    def is_subscription(self) -> bool:
        return self.kind == OfferKind.MONTHLY_PACKAGE

    @property
    def is_package(self) -> bool:
        return self.kind in (OfferKind.SESSION_PACK, OfferKind.MONTHLY_PACKAGE)

    @property
    def amount_minor(self) -> int:
        """The price in the currency's minor unit, as Stripe wants it."""
        return to_minor(self.price, self.currency)

    @property
    def sells_places(self) -> bool:
        """A workshop: the buyer says how many people come, up to its capacity."""
        return self.kind == OfferKind.TEAM_WORKSHOP

    @property
    def priced_per_participant(self) -> bool:
        return self.sells_places and self.workshop_pricing == WorkshopPricing.PER_SEAT

    def places_refusal(self, places: int) -> str:
        """Why this number of people cannot be bought, or ""."""
        if not self.sells_places:
            return "" if places == 1 else "This offer is bought for one person."
        if places < 1:
            return "Choose at least one participant."
        if self.capacity and places > self.capacity:
            return (
                f"This workshop takes up to {self.capacity} participants; "
                f"choose {self.capacity} or fewer."
            )
        return ""

    @property
    def credits_per_period(self) -> int:
        """Session credits a payment grants (per month for a subscription)."""
        if self.kind == OfferKind.MONTHLY_PACKAGE:
            return sessions_in_monthly_hours(self.hours_per_month, self.session_minutes)
        if self.kind == OfferKind.TEAM_WORKSHOP:
            return 0
        return self.sessions


class CheckoutStatus(models.TextChoices):
    OPEN = "open", "Open"
    COMPLETE = "complete", "Paid"
    EXPIRED = "expired", "Expired"


class Checkout(PracticeScoped):
    """A Stripe Checkout Session we created: who is buying what, and the slot held for them."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="checkouts")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="checkouts")
    email = models.EmailField()
    name = models.CharField(max_length=160)
    time_zone = models.CharField(max_length=64, blank=True)
    booking = models.OneToOneField(
        "sessions_app.Booking",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="checkout",
        help_text="The slot held while the visitor pays.",
    )
    places = models.PositiveSmallIntegerField(
        default=1, help_text="People the buyer pays for (a team workshop; otherwise 1)."
    )
    stripe_id = models.CharField(max_length=255, blank=True, db_index=True)
    url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=10, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Checkout {self.stripe_id or self.public_id} ({self.get_status_display()})"


class EventStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be processed"
    PROCESSING = "processing", "Being processed"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Ignored (not a type we act on)"
    FAILED = "failed", "Failed (retrying)"
    DEAD = "dead", "Gave up — needs a look"
    INVALID = "invalid", "Invalid — cannot be processed as sent"


class EventSource(models.TextChoices):
    WEBHOOK = "webhook", "Webhook"
    RECONCILE = "reconcile", "Reconciliation"


class StripeEvent(PracticeScoped):
    """A Stripe event exactly as received, stored once; processing is tracked on it."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="stripe_events")
    stripe_id = models.CharField(max_length=stripe_webhooks.EVENT_ID_MAX_LENGTH)
    type = models.CharField(max_length=stripe_webhooks.EVENT_TYPE_MAX_LENGTH)
    payload = models.JSONField()
    stripe_created = models.DateTimeField()
    livemode = models.BooleanField(default=False)
    source = models.CharField(max_length=10, choices=EventSource.choices)
    status = models.CharField(
        max_length=10, choices=EventStatus.choices, default=EventStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When the next attempt is due (at once for a new event, after the backoff for a
    # failed one); while a worker processes it, when that claim lapses; empty once it is
    # processed, ignored or given up. The recovery sweep re-enqueues events left overdue
    # (a worker died holding their message), `billing.events.events_recover`.
    retry_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    # The task (its Celery id) that holds the claim: the same message delivered again
    # (its worker process died and it was handed back) takes the claim over at once.
    claimed_by = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "stripe_id"], name="stripe_event_once")
        ]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(
                fields=["retry_at"],
                name="stripe_event_due",
                condition=models.Q(status__in=["pending", "processing", "failed"]),
            ),
        ]
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"

    @property
    def data_object(self) -> dict:
        return self.payload.get("data", {}).get("object", {})


class PurchaseStatus(models.TextChoices):
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partly refunded"
    REFUNDED = "refunded", "Refunded"


class SubscriptionState(models.TextChoices):
    NONE = "", "—"
    INCOMPLETE = "incomplete", "Awaiting the first payment"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Payment failed (past due)"
    CANCELLING = "cancelling", "Ends at period end"
    ENDED = "ended", "Ended"


class Purchase(PracticeScoped):
    """One paid checkout (or subscription): what was bought, by whom, and what came of it."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="purchases")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="purchases")
    client = models.ForeignKey(
        "engagements.Client", on_delete=models.PROTECT, related_name="purchases"
    )
    engagement = models.OneToOneField(
        "engagements.Engagement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="purchase",
    )
    checkout = models.OneToOneField(
        Checkout, on_delete=models.SET_NULL, null=True, blank=True, related_name="purchase"
    )
    places = models.PositiveSmallIntegerField(
        default=1, help_text="People bought for (a team workshop's participants; otherwise 1)."
    )
    stripe_checkout_id = models.CharField(max_length=255, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True)
    amount_total = models.PositiveIntegerField(default=0, help_text="Minor units (cents).")
    currency = models.CharField(max_length=3)
    amount_refunded = models.PositiveIntegerField(
        default=0, help_text="Refunded so far, over all of the purchase's charges."
    )
    refunds_by_charge = models.JSONField(
        default=dict,
        blank=True,
        help_text="Each charge's cumulative amount_refunded, as Stripe last reported it.",
    )
    status = models.CharField(
        max_length=20, choices=PurchaseStatus.choices, default=PurchaseStatus.PAID
    )
    subscription_state = models.CharField(
        max_length=12, choices=SubscriptionState.choices, default="", blank=True
    )
    subscription_watermark = models.PositiveBigIntegerField(
        default=0, help_text="`created` of the newest subscription event applied (order guard)."
    )
    current_period_end = models.DateTimeField(null=True, blank=True)
    disputed = models.BooleanField(default=False)
    dispute_reason = models.CharField(max_length=100, blank=True)
    setup_refused = models.CharField(
        max_length=255,
        blank=True,
        help_text="Why nothing was set up for this payment (the owner refunds or arranges it).",
    )
    paid_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "stripe_checkout_id"],
                condition=~models.Q(stripe_checkout_id=""),
                name="purchase_once_per_checkout",
            ),
            models.UniqueConstraint(
                fields=["practice", "stripe_subscription_id"],
                condition=~models.Q(stripe_subscription_id=""),
                name="purchase_once_per_subscription",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offer} — {self.client}"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_total, self.currency)


class Payment(PracticeScoped):
    """Money received: a one-off checkout or one paid invoice of a subscription.

    Revenue by month and renewals are counted from these rows.
    """

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="payments")
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="payments")
    stripe_id = models.CharField(max_length=255, help_text="The checkout or invoice id.")
    payment_intent_id = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="The PaymentIntent that took the money: refunds and disputes name it.",
    )
    charge_id = models.CharField(
        max_length=255,
        blank=True,
        db_index=True,
        help_text="The charge, where Stripe named it: a dispute names only the charge.",
    )
    amount = models.PositiveIntegerField(help_text="Minor units (cents).")
    currency = models.CharField(max_length=3)
    paid_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["practice", "stripe_id"], name="payment_once")
        ]
        ordering = ["-paid_at"]

    def __str__(self) -> str:
        return f"{money_shown(self.amount, self.currency)} ({self.stripe_id})"


class CompanyInvoiceStatus(models.TextChoices):
    OPEN = "open", "Sent, awaiting payment"
    PAID = "paid", "Paid"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    VOID = "void", "Voided"


class CompanyInvoice(PracticeScoped):
    """A Stripe invoice for one month of a seat contract's statement; the company pays it
    on Stripe's hosted invoice page. A month has at most one invoice that is not void:
    voiding one (unpaid) lets the owner invoice the corrected statement again."""

    practice = models.ForeignKey(
        Practice, on_delete=models.CASCADE, related_name="company_invoices"
    )
    contract = models.ForeignKey(
        "engagements.Contract", on_delete=models.PROTECT, related_name="invoices"
    )
    month = models.DateField(help_text="The statement's month (its first day).")
    stripe_invoice_id = models.CharField(max_length=255)
    stripe_customer_id = models.CharField(max_length=255)
    amount_total = models.IntegerField(help_text="In the currency's minor unit, as Stripe counts.")
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=16, choices=CompanyInvoiceStatus.choices, default=CompanyInvoiceStatus.OPEN
    )
    hosted_url = models.URLField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-month", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "contract", "month"],
                condition=~models.Q(status="void"),
                name="company_invoice_once_per_month",
            ),
            models.UniqueConstraint(
                fields=["practice", "stripe_invoice_id"], name="company_invoice_stripe_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.month:%Y-%m}: {self.get_status_display()}"

    @property
    def amount(self) -> Decimal:
        return from_minor(self.amount_total, self.currency)

    @property
    def can_be_voided(self) -> bool:
        """Stripe voids only invoices not yet paid (open, or open after a failed payment)."""
        return self.status in (CompanyInvoiceStatus.OPEN, CompanyInvoiceStatus.PAYMENT_FAILED)
