"""Writes for billing: the Stripe connection, offers, checkouts and the purchase pipeline.

The pipeline (SPEC §3): a paid checkout → Purchase → client (found by e-mail or
created) → engagement + collection from the offer kind's template → credits in the
ledger → the held slot confirmed, or the first session populated → Slack step
recorded → confirmation e-mail. Every step is keyed on a Stripe id or an effect key,
so an event processed twice, late or out of order ends in the same records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone

from coachhub.links import absolute
from coachhub.models import Practice, User
from coachhub.money import money_shown, to_minor
from coachhub.services import audit_record, coach_setup_authorize
from coachhub.tenancy import coaches_here, membership_of, practice_owner
from coachhub.timezones import validate_time_zone
from engagements.models import Client, Contract, Engagement, EngagementStatus
from integrations.errors import IntegrationError
from integrations.stripe import client as stripe_api

from .ledger import (
    credit_balance,
    credit_consume_for_session,
    credit_entry_add,
    credits_granted,
    credits_revoked,
)
from .models import (
    Checkout,
    CheckoutStatus,
    CompanyInvoice,
    CompanyInvoiceStatus,
    CreditKind,
    Offer,
    OfferKind,
    Payment,
    Purchase,
    PurchaseStatus,
    StripeAccount,
    StripeMode,
    SubscriptionState,
)
from .selectors import single_sessions_refused_to

SECRET_KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]+$")
PUBLISHABLE_KEY_PATTERN = re.compile(r"^pk_(test|live)_[A-Za-z0-9]+$")
WEBHOOK_SECRET_PATTERN = re.compile(r"^whsec_[A-Za-z0-9+/=_-]+$")
CHECKOUT_HOURS = 24  # a buy link's checkout stays open as long as Stripe allows


# --- The practice's Stripe connection ---------------------------------------------
def _owner_only(practice: Practice, actor: User, what: str) -> None:
    membership = membership_of(practice, actor)
    if membership is None or not membership.is_owner:
        raise PermissionDenied(f"Only an owner can {what}.")


def _verified_stripe_account(practice: Practice, *, to: str) -> StripeAccount:
    """The practice's Stripe account, or a message saying Stripe must be connected first."""
    account = stripe_account_of(practice)
    if account is None or not account.verified_at:
        raise ValidationError(f"Connect Stripe (Payments → Stripe) to {to}.")
    return account


def stripe_account_connect(
    *,
    practice: Practice,
    actor: User,
    secret_key: str = "",
    publishable_key: str = "",
    webhook_secret: str = "",
) -> StripeAccount:
    """Save the practice's keys after one Stripe call proves the secret key works.

    A blank field keeps the stored value (the form never shows the secrets back), so
    pasting the webhook secret later leaves the keys as they were.
    """
    _owner_only(practice, actor, "connect Stripe")
    account = StripeAccount.objects.filter(practice=practice).first() or StripeAccount(
        practice=practice
    )
    secret_key = secret_key.strip() or account.secret_key or ""
    webhook_secret = webhook_secret.strip() or account.webhook_secret or ""
    publishable_key = publishable_key.strip() or account.publishable_key or ""
    errors: dict[str, str] = {}
    if not SECRET_KEY_PATTERN.match(secret_key):
        errors["secret_key"] = "Paste the secret key from Stripe → Developers → API keys (sk_…)."
    if publishable_key and not PUBLISHABLE_KEY_PATTERN.match(publishable_key):
        errors["publishable_key"] = "A publishable key starts with pk_test_ or pk_live_."
    elif publishable_key and publishable_key.split("_")[1] != secret_key.split("_")[1]:
        errors["publishable_key"] = "The publishable key is for the other mode (test/live)."
    if webhook_secret and not WEBHOOK_SECRET_PATTERN.match(webhook_secret):
        errors["webhook_secret"] = "The signing secret starts with whsec_ (Stripe → Webhooks)."
    if errors:
        raise ValidationError(errors)
    try:
        info = stripe_api.account_verify(secret_key)
    except IntegrationError as error:
        if error.permanent:
            raise ValidationError({"secret_key": f"Stripe refused this key: {error}"}) from None
        raise ValidationError(
            f"Stripe could not be reached to check the key ({error}). Nothing was saved; "
            "please try again in a moment."
        ) from None
    account.secret_key = secret_key
    account.publishable_key = publishable_key
    account.webhook_secret = webhook_secret
    account.mode = StripeMode.LIVE if info.livemode else StripeMode.TEST
    account.account_id, account.account_name = info.account_id, info.name
    account.verified_at = timezone.now()
    account.save()
    # Never the keys themselves: only which account and mode.
    audit_record(
        practice=practice,
        actor=actor,
        action="stripe.connect",
        obj=account,
        account=info.account_id,
        mode=account.mode,
    )
    return account


def stripe_account_disconnect(*, practice: Practice, actor: User) -> None:
    _owner_only(practice, actor, "disconnect Stripe")
    account = stripe_account_of(practice)
    if account is not None:
        audit_record(practice=practice, actor=actor, action="stripe.disconnect", obj=account)
        account.delete()


def stripe_account_of(practice: Practice) -> StripeAccount | None:
    return StripeAccount.objects.filter(practice=practice).first()


# --- Offers -----------------------------------------------------------------------
def _price_fingerprint(offer: Offer) -> str:
    terms = f"{offer.amount_minor}:{offer.currency.lower()}:{offer.is_subscription}"
    return hashlib.sha256(terms.encode()).hexdigest()[:16]


def offer_save(
    *, practice: Practice, actor: User, offer: Offer | None = None, **fields: Any
) -> Offer:
    """Create or change an offer; with Stripe connected, its Product and Price follow."""
    offer = offer or Offer(
        practice=practice, coach=fields.pop("coach", actor), currency=practice.currency
    )
    if "coach" in fields:
        offer.coach = fields.pop("coach")
    coach_setup_authorize(practice, actor, offer.coach)
    for name, value in fields.items():
        setattr(offer, name, value)
    if offer.kind == OfferKind.SINGLE_SESSION:
        offer.sessions = 1
    offer.full_clean()
    offer.save()
    audit_record(practice=practice, actor=actor, action="offer.save", obj=offer)
    account = stripe_account_of(practice)
    if account is not None and account.verified_at:
        try:
            offer_stripe_sync(offer=offer, account=account)
        except IntegrationError:
            pass  # the first checkout syncs again; the offer itself is saved
    return offer


def offer_stripe_sync(*, offer: Offer, account: StripeAccount) -> Offer:
    """Make sure the offer has a Stripe Product and a Price for its current terms.

    Idempotency keys come from the offer (and its price terms), so a retry after a
    timeout never creates a second product or price.
    """
    if not offer.stripe_product_id:
        offer.stripe_product_id = stripe_api.product_create(
            account.secret_key,
            name=offer.name,
            description=offer.description,
            idempotency_key=f"product:{offer.public_id}:{account.account_id}",
        )
        offer.save(update_fields=["stripe_product_id"])
    fingerprint = _price_fingerprint(offer)
    if not offer.stripe_price_id or offer.stripe_price_fingerprint != fingerprint:
        offer.stripe_price_id = stripe_api.price_create(
            account.secret_key,
            product_id=offer.stripe_product_id,
            amount_minor=offer.amount_minor,
            currency=offer.currency,
            monthly=offer.is_subscription,
            idempotency_key=f"price:{offer.public_id}:{fingerprint}:{account.account_id}",
        )
        offer.stripe_price_fingerprint = fingerprint
        offer.save(update_fields=["stripe_price_id", "stripe_price_fingerprint"])
    return offer


def offer_purchase_check(*, offer: Offer, email: str) -> Client | None:
    """Refuse what this buyer may not buy; returns their client record if they have one."""
    from engagements.services import seat_client_refuse

    practice = offer.practice
    client = Client.objects.filter(practice=practice, email=email.strip().lower()).first()
    if not offer.is_active or not coaches_here(practice, offer.coach):
        raise ValidationError("This offer is no longer on sale.")
    seat_client_refuse(client=client, feature="offers")
    if offer.kind == OfferKind.SINGLE_SESSION and single_sessions_refused_to(practice, email):
        raise ValidationError(
            "New clients start with a package at this practice; single sessions are for "
            "returning clients.",
            code="packages_only",
        )
    return client


def _coach_for_purchase(practice: Practice, offer: Offer) -> User:
    """Who looks after what was bought: the offer's coach, or the practice's owner if
    that coach has left (or become an assistant) since the buyer opened the checkout.
    The money is taken either way, so the records must exist with someone to see them."""
    if coaches_here(practice, offer.coach):
        return offer.coach
    return practice_owner(practice) or offer.coach


# --- Checkout -----------------------------------------------------------------------
PAYMENTS_NOT_READY = (
    "This practice has not finished connecting Stripe, so it cannot take payments online "
    "yet. Please contact the coach."
)


def checkout_start(
    *,
    offer: Offer,
    name: str,
    email: str,
    time_zone: str = "",
    booking=None,
    now: dt.datetime | None = None,
) -> Checkout:
    """Create the Stripe Checkout Session for an offer (and a slot held for the buyer).

    With a held slot the checkout expires exactly when the hold does, so an
    abandoned payment frees the time (`checkout.session.expired`).
    """
    now = now or timezone.now()
    practice = offer.practice
    account = stripe_account_of(practice)
    if account is None or not account.ready:
        raise ValidationError(PAYMENTS_NOT_READY, code="payments_not_connected")
    if time_zone:
        validate_time_zone(time_zone)
    offer_purchase_check(offer=offer, email=email)
    if booking is not None:
        expires_at = booking.session.hold_expires_at
    else:
        expires_at = now + dt.timedelta(hours=CHECKOUT_HOURS)
    checkout = Checkout.objects.create(
        practice=practice,
        offer=offer,
        email=email.strip().lower(),
        name=name.strip(),
        time_zone=time_zone,
        booking=booking,
        expires_at=expires_at,
    )
    try:
        offer_stripe_sync(offer=offer, account=account)
        session = stripe_api.checkout_session_create(
            account.secret_key,
            price_id=offer.stripe_price_id,
            quantity=1,
            subscription=offer.is_subscription,
            email=checkout.email,
            metadata={
                "coachhub_practice": str(practice.public_id),
                "coachhub_checkout": str(checkout.public_id),
                "coachhub_offer": str(offer.public_id),
            },
            success_url=absolute(reverse("checkout_done", args=[checkout.public_id]))
            + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=absolute(reverse("checkout_cancelled", args=[checkout.public_id])),
            expires_at=expires_at,
            idempotency_key=f"checkout:{checkout.public_id}",
        )
    except IntegrationError as error:
        raise ValidationError(
            f"Stripe did not open a checkout ({error}). Nothing was charged; please try again.",
            code="stripe_unavailable",
        ) from None
    checkout.stripe_id, checkout.url = session.id, session.url
    checkout.save(update_fields=["stripe_id", "url"])
    return checkout


@transaction.atomic
def booking_start(
    *,
    link,
    name: str,
    email: str,
    starts_at: dt.datetime,
    time_zone: str,
    now: dt.datetime | None = None,
):
    """Book on a public link; when payment is due, hold the slot and open its checkout.

    One transaction: if Stripe refuses to open the checkout, no hold is left behind.
    Returns (booking, checkout or None).
    """
    from sessions_app.models import BookingStatus
    from sessions_app.services import booking_create

    booking = booking_create(
        link=link, name=name, email=email, starts_at=starts_at, time_zone=time_zone, now=now
    )
    if booking.status != BookingStatus.HELD:
        return booking, None
    checkout = checkout_start(
        offer=link.offer, name=name, email=email, time_zone=time_zone, booking=booking, now=now
    )
    return booking, checkout


# --- The purchase pipeline ----------------------------------------------------------
class NotYetProcessable(Exception):
    """The event refers to something we have not heard of yet; retry later (with backoff)."""


def _engagement_for(
    practice: Practice, offer: Offer, client: Client, checkout: Checkout, coach: User
) -> Engagement:
    from engagements.participants import Participant
    from engagements.services import (
        engagement_create_monthly_package,
        engagement_create_per_session,
        engagement_create_team_workshop,
    )

    if checkout.booking_id:
        return checkout.booking.session.engagement
    if offer.kind in (OfferKind.SINGLE_SESSION, OfferKind.SESSION_PACK):
        return engagement_create_per_session(
            practice=practice,
            actor=None,
            client=client,
            coach=coach,
            session_minutes=offer.session_minutes,
        )
    if offer.kind == OfferKind.MONTHLY_PACKAGE:
        return engagement_create_monthly_package(
            practice=practice,
            actor=None,
            client=client,
            coach=coach,
            hours_per_month=offer.hours_per_month,
            session_minutes=offer.session_minutes,
            months=offer.months,
        )
    return engagement_create_team_workshop(
        practice=practice,
        actor=None,
        coach=coach,
        title=offer.name,
        core_subject=offer.description or offer.name,
        participants=[Participant(name=client.name, email=client.email)],
        session_minutes=offer.session_minutes,
    )


@dataclass(frozen=True)
class PaidObject:
    """What a paid Stripe object tells us about the purchase behind it."""

    checkout_public_id: str
    checkout_stripe_id: str = ""
    subscription_id: str = ""
    customer_id: str = ""
    payment_intent_id: str = ""
    amount_total: int = 0
    currency: str = ""
    paid_at: dt.datetime | None = None


def purchase_ensure(*, practice: Practice, paid: PaidObject) -> Purchase:
    """The Purchase for a paid checkout or subscription — created once, whichever event
    arrives first — with its client, engagement and collection."""
    checkout = (
        Checkout.objects.select_for_update(of=("self",))
        .select_related("offer__coach")  # a held booking, if any, is read when needed
        .filter(practice=practice, public_id=paid.checkout_public_id)
        .first()
    )
    if checkout is None:
        raise ValueError(f"No checkout {paid.checkout_public_id} in this practice.")
    purchase = _existing_purchase(practice, checkout, paid)
    if purchase is None:
        purchase = _purchase_create(practice, checkout, paid)
    else:
        purchase.checkout = checkout
        _fill_stripe_ids(purchase, paid)
    if checkout.status != CheckoutStatus.COMPLETE:
        checkout.status = CheckoutStatus.COMPLETE
        checkout.save(update_fields=["status"])
    return purchase


def _purchase_create(practice: Practice, checkout: Checkout, paid: PaidObject) -> Purchase:
    """The purchase with its client and engagement. The caller holds the checkout's
    row lock, so the purchase's other events wait and then find it; the unique
    constraints stay the last word (a violation fails the event, which is retried)."""
    from engagements.services import client_find_or_create

    offer = checkout.offer
    coach = _coach_for_purchase(practice, offer)
    client, _ = client_find_or_create(
        practice=practice,
        actor=None,
        email=checkout.email,
        name=checkout.name,
        time_zone=checkout.time_zone or practice.time_zone,
        coach=coach,
    )
    engagement, setup_refused = _purchase_setup(practice, offer, client, checkout, coach)
    purchase = Purchase(
        practice=practice,
        offer=offer,
        client=client,
        engagement=engagement,
        checkout=checkout,
        stripe_checkout_id=paid.checkout_stripe_id,
        stripe_subscription_id=paid.subscription_id,
        stripe_customer_id=paid.customer_id,
        stripe_payment_intent_id=paid.payment_intent_id,
        amount_total=paid.amount_total,
        currency=(paid.currency or offer.currency).upper(),
        paid_at=paid.paid_at or timezone.now(),
        subscription_state=SubscriptionState.ACTIVE if offer.is_subscription else "",
        setup_refused=setup_refused,
    )
    purchase.save()
    audit_record(practice=practice, actor=None, action="purchase.create", obj=purchase)
    if setup_refused:
        audit_record(
            practice=practice,
            actor=None,
            action="purchase.setup_refused",
            obj=purchase,
            reason=setup_refused,
        )
    if coach.pk != offer.coach_id:
        audit_record(
            practice=practice,
            actor=None,
            action="purchase.coach_left",
            obj=purchase,
            offer_coach=offer.coach.email,
            now_with=coach.email,
        )
    _purchase_confirmation(purchase)
    return purchase


def _purchase_setup(
    practice: Practice, offer: Offer, client: Client, checkout: Checkout, coach: User
) -> tuple[Engagement | None, str]:
    """The engagement the purchase pays for, or None and the reason the rules refuse it
    (the buyer was given a company seat while paying, say). The payment is recorded
    either way; a refused set-up waits on the dashboard for the owner to refund it or
    arrange it by hand, instead of failing the event until it is given up.

    Each `engagement_create_*` is atomic (a savepoint here), so a refusal from inside
    one leaves none of its rows behind.
    """
    from engagements.services import seat_client_refuse

    try:
        if not checkout.booking_id:
            seat_client_refuse(client=client, feature="offers")
        engagement = _engagement_for(practice, offer, client, checkout, coach)
    except ValidationError as refusal:
        return None, " ".join(refusal.messages)[:255]
    if engagement.status == EngagementStatus.PROPOSED:
        engagement.status = EngagementStatus.ACTIVE
        engagement.save(update_fields=["status"])
    return engagement, ""


def _existing_purchase(practice: Practice, checkout: Checkout, paid: PaidObject) -> Purchase | None:
    """The purchase made through this checkout, or (a subscription's events) the one
    that holds the subscription."""
    made_here = Q(checkout=checkout)
    if paid.subscription_id:
        made_here |= Q(stripe_subscription_id=paid.subscription_id)
    return (
        Purchase.objects.select_for_update(of=("self",))
        .select_related("engagement", "offer")
        .filter(made_here, practice=practice)
        .first()
    )


def _fill_stripe_ids(purchase: Purchase, paid: PaidObject) -> None:
    changed = []
    for field, value in (
        ("stripe_checkout_id", paid.checkout_stripe_id),
        ("stripe_subscription_id", paid.subscription_id),
        ("stripe_customer_id", paid.customer_id),
        ("stripe_payment_intent_id", paid.payment_intent_id),
    ):
        if value and not getattr(purchase, field):
            setattr(purchase, field, value)
            changed.append(field)
    if paid.amount_total and not purchase.amount_total:
        purchase.amount_total = paid.amount_total
        changed.append("amount_total")
    if changed:
        purchase.save(update_fields=changed)


def purchase_fulfil_checkout(*, purchase: Purchase) -> None:
    """What a one-off payment buys: its credits, then the held slot (or the first session)."""
    from sessions_app.models import BookingStatus, Consumes
    from sessions_app.services import booking_hold_confirm

    offer, engagement = purchase.offer, purchase.engagement
    if offer.is_subscription:
        return  # monthly payments and credits come with each paid invoice
    _payment_record(
        purchase=purchase,
        stripe_id=purchase.stripe_checkout_id or f"purchase:{purchase.pk}",
        amount=purchase.amount_total,
        paid_at=purchase.paid_at,
    )
    if engagement is None:
        return  # nothing set up (purchase.setup_refused): the money is recorded, no credits
    credit_entry_add(
        engagement=engagement,
        kind=CreditKind.GRANT,
        amount=offer.credits_per_period,
        effect_key=f"grant:purchase:{purchase.pk}",
        purchase=purchase,
        note=f"{offer.name}",
    )
    refund_revocation_settle(purchase=purchase)
    booking = purchase.checkout.booking if purchase.checkout_id else None
    if booking is None:
        return
    session = booking.session
    if booking.status == BookingStatus.HELD:
        try:
            booking_hold_confirm(booking=booking)
        except ValidationError:
            # The hold lapsed and someone else took the time: the client keeps the
            # credit and books another time; the coach sees it on the engagement.
            audit_record(
                practice=purchase.practice,
                actor=None,
                action="purchase.hold_lost",
                obj=purchase,
            )
            return
        booking.refresh_from_db()
    if booking.status == BookingStatus.CONFIRMED:
        if session.consumes != Consumes.CREDIT:
            session.consumes = Consumes.CREDIT
            session.save(update_fields=["consumes"])
        credit_consume_for_session(session)


def _payment_record(
    *, purchase: Purchase, stripe_id: str, amount: int, paid_at: dt.datetime
) -> None:
    """Money received, once per Stripe object: the unique (practice, stripe_id) turns
    a replay into nothing (INSERT … ON CONFLICT DO NOTHING, one statement)."""
    Payment.objects.bulk_create(
        [
            Payment(
                practice_id=purchase.practice_id,
                purchase=purchase,
                stripe_id=stripe_id,
                amount=amount,
                currency=purchase.currency,
                paid_at=paid_at,
            )
        ],
        ignore_conflicts=True,
    )


def _purchase_confirmation(purchase: Purchase) -> None:
    """Thank the buyer; a purchase with a held slot gets its invite from the booking."""
    purchase_id, practice_id = purchase.pk, purchase.practice_id

    def send() -> None:
        from .tasks import purchase_confirmation_send

        purchase_confirmation_send.delay(purchase_id, practice_id)

    transaction.on_commit(send)


def purchase_confirmation_message(purchase: Purchase) -> EmailMessage:
    from sessions_app.models import BookingLink

    offer, practice = purchase.offer, purchase.practice
    # The engagement's coach: the offer's, unless that coach has left meanwhile.
    coach = purchase.engagement.coach if purchase.engagement_id else offer.coach
    lines = [f"Hello {purchase.client.name},", "", f"Thank you for buying {offer.name}."]
    booked = purchase.checkout_id and purchase.checkout.booking_id
    if purchase.setup_refused:
        lines.append(f"We have received your payment; {practice.name} will contact you about it.")
    elif booked:
        lines.append("Your session is booked; the calendar invite follows in its own e-mail.")
    else:
        link = (
            BookingLink.objects.filter(practice=practice, coach=coach, is_active=True, capacity=1)
            .order_by("requires_payment", "pk")
            .first()
        )
        if offer.kind == OfferKind.MONTHLY_PACKAGE:
            lines.append(
                f"{coach.get_full_name() or coach.email} will agree a regular day "
                "and time with you; your sessions then appear in your calendar."
            )
        elif link is not None:
            url = absolute(link.get_absolute_url())
            lines.append(f"Choose the time of your first session here: {url}")
        else:
            lines.append("Your coach will be in touch to schedule your first session.")
    lines += ["", practice.name]
    return EmailMessage(
        subject=f"Your purchase: {offer.name}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[purchase.client.email],
    )


# --- Subscriptions, invoices, refunds, disputes ------------------------------------
def subscription_state_apply(
    *, purchase: Purchase, status: str, cancel_at_period_end: bool | None, event_created: int
) -> None:
    """Apply what a subscription or invoice event says about the package's state,
    unless a newer event already did (`subscription_watermark`): the state follows
    the latest event, whatever order they are processed in. Ended is final.

    `cancel_at_period_end` None (an invoice) keeps what the subscription said.
    """
    if purchase.subscription_state == SubscriptionState.ENDED:
        return
    if event_created < purchase.subscription_watermark:
        return
    purchase.subscription_watermark = event_created
    cancelling = (
        purchase.subscription_state == SubscriptionState.CANCELLING
        if cancel_at_period_end is None
        else cancel_at_period_end
    )
    if status in ("canceled", "incomplete_expired"):
        state = SubscriptionState.ENDED
    elif status in ("past_due", "unpaid"):
        state = SubscriptionState.PAST_DUE
    elif cancelling:
        state = SubscriptionState.CANCELLING
    else:
        state = SubscriptionState.ACTIVE
    changed = state != purchase.subscription_state
    purchase.subscription_state = state
    purchase.save(update_fields=["subscription_state", "subscription_watermark"])
    if changed and state == SubscriptionState.PAST_DUE:
        audit_record(
            practice=purchase.practice, actor=None, action="subscription.past_due", obj=purchase
        )
    if state == SubscriptionState.ENDED:
        subscription_end(purchase=purchase)


def subscription_end(*, purchase: Purchase, now: dt.datetime | None = None) -> None:
    """The package is over: future sessions are cancelled, unused credits expire."""
    from sessions_app.models import Session, SessionStatus
    from sessions_app.services import cancel_for_billing

    now = now or timezone.now()
    engagement = purchase.engagement
    if engagement is None:
        return
    for session in Session.objects.filter(
        practice_id=purchase.practice_id,
        engagement=engagement,
        status__in=[SessionStatus.SCHEDULED, SessionStatus.TO_SCHEDULE],
    ).exclude(starts_at__lte=now):
        cancel_for_billing(session=session, now=now)
    balance = credit_balance(engagement)
    if balance > 0:
        credit_entry_add(
            engagement=engagement,
            kind=CreditKind.EXPIRE,
            amount=-balance,
            effect_key=f"expire:subscription:{purchase.stripe_subscription_id or purchase.pk}",
            purchase=purchase,
            note="Subscription ended",
        )
    if engagement.status not in (EngagementStatus.COMPLETED, EngagementStatus.CANCELLED):
        engagement.status = EngagementStatus.COMPLETED
        engagement.save(update_fields=["status"])
    audit_record(practice=purchase.practice, actor=None, action="subscription.end", obj=purchase)


def invoice_paid_apply(
    *, purchase: Purchase, invoice_id: str, amount_paid: int, event_created: int
) -> None:
    """A month paid: its sessions are granted (once per invoice) and the package is current."""
    _payment_record(
        purchase=purchase,
        stripe_id=invoice_id,
        amount=amount_paid,
        paid_at=dt.datetime.fromtimestamp(event_created, tz=dt.UTC)
        if event_created
        else timezone.now(),
    )
    if purchase.engagement is not None:
        credit_entry_add(
            engagement=purchase.engagement,
            kind=CreditKind.GRANT,
            amount=purchase.offer.credits_per_period,
            effect_key=f"grant:invoice:{invoice_id}",
            purchase=purchase,
            note="Monthly allowance",
        )
        refund_revocation_settle(purchase=purchase)
    subscription_state_apply(
        purchase=purchase, status="active", cancel_at_period_end=None, event_created=event_created
    )


def invoice_failed_apply(*, purchase: Purchase, invoice_id: str, event_created: int) -> None:
    """The month's payment failed: the package is past due (dunning) until one succeeds."""
    subscription_state_apply(
        purchase=purchase, status="past_due", cancel_at_period_end=None, event_created=event_created
    )


def refund_apply(*, purchase: Purchase, amount_refunded: int, charge_id: str) -> int:
    """Record money paid back; returns the credits revoked because of it.

    Stripe reports a charge's cumulative `amount_refunded`; only an increase over
    what we recorded for that charge is new (a late, older event changes nothing).
    """
    refunds = dict(purchase.refunds_by_charge)
    if amount_refunded <= refunds.get(charge_id, 0):
        return 0
    refunds[charge_id] = amount_refunded
    purchase.refunds_by_charge = refunds
    purchase.amount_refunded = sum(refunds.values())
    paid = _amount_paid(purchase)
    purchase.status = (
        PurchaseStatus.REFUNDED
        if paid and purchase.amount_refunded >= paid
        else PurchaseStatus.PARTIALLY_REFUNDED
    )
    purchase.save(update_fields=["refunds_by_charge", "amount_refunded", "status"])
    revoked = refund_revocation_settle(purchase=purchase)
    audit_record(
        practice=purchase.practice,
        actor=None,
        action="purchase.refund",
        obj=purchase,
        amount_refunded=purchase.amount_refunded,
        credits_revoked=revoked,
    )
    return revoked


def _amount_paid(purchase: Purchase) -> int:
    total = Payment.objects.filter(practice_id=purchase.practice_id, purchase=purchase).aggregate(
        total=Sum("amount")
    )["total"]
    return total or purchase.amount_total


def refund_revocation_settle(*, purchase: Purchase) -> int:
    """Bring the credits revoked for refunds to what the totals call for.

    The target is a function of totals only — credits granted × share of the money
    refunded (rounded up), never more than were unused — so whichever order the
    refund and the grants are processed in, the ledger ends at the same balance.
    """
    engagement = purchase.engagement
    if engagement is None or not purchase.amount_refunded:
        return 0
    granted = credits_granted(purchase)
    paid = _amount_paid(purchase)
    if purchase.status == PurchaseStatus.REFUNDED or not paid:
        proportional = granted
    else:
        proportional = -(-granted * purchase.amount_refunded // paid)
    revoked_so_far = credits_revoked(purchase)
    unused = max(credit_balance(engagement) + revoked_so_far, 0)
    target = min(proportional, unused)
    step = target - revoked_so_far
    if step == 0:
        return 0
    credit_entry_add(
        engagement=engagement,
        kind=CreditKind.REVOKE,
        amount=-step,
        effect_key=f"revoke:purchase:{purchase.pk}:{purchase.amount_refunded}:{granted}:{target}",
        purchase=purchase,
        note=f"Refunded {money_shown(purchase.amount_refunded, purchase.currency)}",
    )
    return step


def dispute_apply(*, purchase: Purchase, reason: str) -> None:
    if purchase.disputed:
        return
    purchase.disputed, purchase.dispute_reason = True, reason[:100]
    purchase.save(update_fields=["disputed", "dispute_reason"])
    audit_record(
        practice=purchase.practice,
        actor=None,
        action="purchase.dispute",
        obj=purchase,
        reason=reason,
    )


def checkout_expired_apply(*, practice: Practice, checkout_public_id: str) -> None:
    """The visitor never paid: the checkout closes and its held slot is freed."""
    from sessions_app.services import booking_hold_release

    checkout = (
        Checkout.objects.select_for_update(of=("self",))
        .select_related("booking")
        .filter(practice=practice, public_id=checkout_public_id)
        .first()
    )
    if checkout is None or checkout.status == CheckoutStatus.COMPLETE:
        return
    checkout.status = CheckoutStatus.EXPIRED
    checkout.save(update_fields=["status"])
    if checkout.booking is not None:
        booking_hold_release(booking=checkout.booking)


# --- A seat contract's month, invoiced to the company on Stripe -----------------------
COMPANY_INVOICE_DAYS_DUE = 30


def company_invoice_create(
    *, practice: Practice, actor: User, contract: Contract, year: int, month: int
) -> CompanyInvoice:
    """Invoice one month of a contract's statement on Stripe: an item per seat line
    (a first-month credit as a negative item), sent by Stripe to the company's billing
    e-mail to pay on the hosted invoice page. Once per contract and month."""
    from engagements.selectors import contract_statement

    _owner_only(practice, actor, "invoice companies")
    account = _verified_stripe_account(practice, to="invoice companies")
    if not account.webhook_secret:
        raise ValidationError(
            "Add the webhook signing secret (Payments → Stripe) first: without it CoachHub "
            "never hears that the company paid."
        )
    organization = contract.organization
    if not organization.billing_email:
        raise ValidationError(
            f"Add a billing e-mail to {organization} first: Stripe sends the invoice there."
        )
    first_day = dt.date(year, month, 1)
    with transaction.atomic():
        # Locked so that two clicks (or two owners) make one invoice.
        Contract.objects.select_for_update(of=("self",)).filter(pk=contract.pk).first()
        this_month = CompanyInvoice.objects.filter(
            practice=practice, contract=contract, month=first_day
        )
        existing = this_month.exclude(status=CompanyInvoiceStatus.VOID).first()
        if existing is not None:
            raise ValidationError(
                f"{first_day:%B %Y} is already invoiced ({existing.get_status_display()})."
            )
        statement = contract_statement(contract, year=year, month=month)
        currency = practice.currency
        lines = [
            stripe_api.InvoiceLine(
                key=str(line.seat.pk),
                description=f"{line.seat.client.name}: {line.outcome}",
                amount=to_minor(line.amount, currency),
            )
            for line in statement.lines
            if line.amount
        ]
        total = sum(line.amount for line in lines)
        if total <= 0:
            raise ValidationError(
                f"Nothing to invoice for {statement.label}: "
                f"the statement's total is {money_shown(total, currency)}."
            )
        earlier_customer = (
            CompanyInvoice.objects.filter(practice=practice, contract__organization=organization)
            .values_list("stripe_customer_id", flat=True)
            .first()
        )
        month_key = f"{first_day:%Y-%m}"
        idempotency_key = f"company-invoice:{practice.public_id}:{contract.pk}:{month_key}"
        if voided := this_month.filter(status=CompanyInvoiceStatus.VOID).count():
            # A re-issue after a void is a new invoice: new keys, or Stripe would hand
            # back the voided one.
            idempotency_key += f":reissue-{voided}"
        sent = stripe_api.company_invoice_send(
            account.secret_key,
            customer_id=earlier_customer or "",
            company_name=organization.name,
            billing_email=organization.billing_email,
            currency=currency,
            description=f"Coaching seats, {statement.label}: {contract}",
            lines=lines,
            days_until_due=COMPANY_INVOICE_DAYS_DUE,
            metadata={"coachhub_contract": str(contract.pk), "coachhub_month": month_key},
            idempotency_key=idempotency_key,
        )
        invoice = CompanyInvoice.objects.create(
            practice=practice,
            contract=contract,
            month=first_day,
            stripe_invoice_id=sent.id,
            stripe_customer_id=sent.customer_id,
            amount_total=sent.total,
            currency=currency,
            hosted_url=sent.hosted_url,
            created_by=actor,
        )
        audit_record(
            practice=practice,
            actor=actor,
            action="company_invoice.create",
            obj=invoice,
            amount=money_shown(sent.total, currency),
        )
    return invoice


def _company_invoice_locked(practice: Practice, stripe_invoice_id: str) -> CompanyInvoice | None:
    """Our record of a Stripe invoice, locked while an event changes it."""
    return (
        CompanyInvoice.objects.select_for_update(of=("self",))
        .filter(practice=practice, stripe_invoice_id=stripe_invoice_id)
        .first()
    )


def company_invoice_payment_apply(
    *, practice: Practice, stripe_invoice_id: str, paid: bool, at: dt.datetime
) -> bool:
    """What Stripe says of a company invoice's payment; False if it is not one of ours.
    Paid and void are final: a late "payment failed" for an earlier attempt changes nothing."""
    invoice = _company_invoice_locked(practice, stripe_invoice_id)
    if invoice is None:
        return False
    if invoice.status in (CompanyInvoiceStatus.PAID, CompanyInvoiceStatus.VOID):
        return True
    if paid:
        invoice.status, invoice.paid_at = CompanyInvoiceStatus.PAID, at
    else:
        invoice.status = CompanyInvoiceStatus.PAYMENT_FAILED
    invoice.save(update_fields=["status", "paid_at"])
    audit_record(
        practice=practice,
        actor=None,
        action="company_invoice.paid" if paid else "company_invoice.payment_failed",
        obj=invoice,
    )
    return True


def company_invoice_void(*, practice: Practice, actor: User, invoice: CompanyInvoice) -> None:
    """Void an unpaid company invoice on Stripe (the company can no longer pay it), so a
    corrected statement can be invoiced for the same month."""
    _owner_only(practice, actor, "void company invoices")
    account = _verified_stripe_account(practice, to="void the invoice")
    with transaction.atomic():
        invoice = CompanyInvoice.objects.select_for_update(of=("self",)).get(
            practice=practice, pk=invoice.pk
        )
        if invoice.status == CompanyInvoiceStatus.VOID:
            return
        if not invoice.can_be_voided:
            raise ValidationError(
                f"This invoice is {invoice.get_status_display().lower()}: refund the "
                "payment in Stripe rather than voiding the invoice."
            )
        stripe_api.company_invoice_void(
            account.secret_key,
            invoice.stripe_invoice_id,
            idempotency_key=f"company-invoice-void:{practice.public_id}:{invoice.pk}",
        )
        _company_invoice_mark_void(invoice, actor=actor, at=timezone.now())


def company_invoice_voided_apply(
    *, practice: Practice, stripe_invoice_id: str, at: dt.datetime
) -> bool:
    """Stripe says an invoice was voided (from CoachHub or Stripe's dashboard); False if
    it is not one of ours. A paid invoice stays paid."""
    invoice = _company_invoice_locked(practice, stripe_invoice_id)
    if invoice is None:
        return False
    if invoice.can_be_voided:
        _company_invoice_mark_void(invoice, actor=None, at=at)
    return True


def _company_invoice_mark_void(
    invoice: CompanyInvoice, *, actor: User | None, at: dt.datetime
) -> None:
    invoice.status, invoice.voided_at = CompanyInvoiceStatus.VOID, at
    invoice.save(update_fields=["status", "voided_at"])
    audit_record(practice=invoice.practice, actor=actor, action="company_invoice.void", obj=invoice)
