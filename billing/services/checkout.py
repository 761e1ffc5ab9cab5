"""Checkout: a Stripe Checkout Session for an offer, and the paid booking's held slot."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coachhub.calls import call_recorded
from coachhub.links import absolute
from coachhub.models import CallProvider, Practice
from coachhub.timezones import validate_time_zone
from integrations.errors import FailureKind, IntegrationError
from integrations.stripe import client as stripe_api
from sessions_app.models import Booking, BookingLink, BookingStatus
from sessions_app.services import (
    booking_create,
    booking_hold_release,
    booking_hold_withdraw,
)

from ..models import Checkout, CheckoutStatus, Offer
from ..selectors import paid_booking_refusal, practice_contact_email
from .offers import offer_purchase_check, offer_stripe_sync
from .stripe_account import stripe_account_of

logger = logging.getLogger(__name__)

CHECKOUT_HOURS = 24  # a buy link's checkout stays open as long as Stripe allows

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
    booking: Booking | None = None,
    places: int = 1,
    now: dt.datetime | None = None,
) -> Checkout:
    """Create the Stripe Checkout Session for an offer (and a slot held for the buyer).

    `places`: for a team workshop, how many people the buyer brings (up to its capacity);
    a workshop priced per participant charges each of them (the line item's quantity).

    With a held slot the checkout expires exactly when the hold does, so an
    abandoned payment frees the time (`checkout.session.expired`). Our Checkout row
    is committed first and Stripe is called after, outside any transaction, keyed by
    the row's id; if Stripe refuses, the row is removed and nothing is left behind.
    """
    now = now or timezone.now()
    practice = offer.practice
    account = stripe_account_of(practice)
    if account is None or not account.ready:
        raise ValidationError(PAYMENTS_NOT_READY, code="payments_not_connected")
    if time_zone:
        validate_time_zone(time_zone)
    offer_purchase_check(offer=offer, email=email)
    if refusal := offer.places_refusal(places):
        raise ValidationError({"places": refusal}, code="places")
    if booking is not None:
        expires_at = booking.session.hold_expires_at
    else:
        expires_at = now + dt.timedelta(hours=CHECKOUT_HOURS)
    with transaction.atomic(durable=True):
        checkout = Checkout.objects.create(
            practice=practice,
            offer=offer,
            email=email.strip().lower(),
            name=name.strip(),
            time_zone=time_zone,
            booking=booking,
            places=places,
            expires_at=expires_at,
        )
    try:
        offer_stripe_sync(offer=offer, account=account)
        with call_recorded(
            practice_id=practice.pk,
            provider=CallProvider.STRIPE,
            operation="checkout.create",
            subject=checkout,
        ):
            session = stripe_api.checkout_session_create(
                account.secret_key,
                price_id=offer.stripe_price_id,
                quantity=places if offer.priced_per_participant else 1,
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
        Checkout.objects.filter(pk=checkout.pk).delete()
        raise ValidationError(
            checkout_trouble(error, practice=practice), code="stripe_unavailable"
        ) from None
    checkout.stripe_id, checkout.url = session.id, session.url
    checkout.save(update_fields=["stripe_id", "url"])
    return checkout


def checkout_trouble(error: IntegrationError, *, practice: Practice) -> str:
    """What the visitor reads when Stripe would not open a checkout: never the library's
    text (it goes to the log), and whom to write to when retrying cannot help."""
    logger.warning("Stripe did not open a checkout (%s): %s", error.kind, error)
    if error.kind in (FailureKind.UNREACHABLE, FailureKind.PROVIDER_FAULT):
        return (
            "Stripe did not open a checkout: it could not be reached just now. "
            "Nothing was charged; please try again in a moment."
        )
    return (
        "Stripe did not open a checkout: this practice's payments are not working right "
        f"now. Nothing was charged; please write to {practice_contact_email(practice)}."
    )


def booking_start(
    *,
    link: BookingLink,
    name: str,
    email: str,
    starts_at: dt.datetime,
    time_zone: str,
    now: dt.datetime | None = None,
) -> tuple[Booking, Checkout | None]:
    """Book on a public link; when payment is due, hold the slot and open its checkout.

    What the checkout would refuse (packages only for new clients, an offer no longer on
    sale) is refused before anything is booked. The hold then commits (the slot is the
    visitor's while they pay) and Stripe is asked for the checkout; if Stripe refuses,
    the hold is withdrawn and its session waits for a time again, so trying again books
    the same engagement rather than a second one.
    """
    if refusal := paid_booking_refusal(link, email=email):
        raise ValidationError(refusal.message, code=refusal.code)
    booking = booking_create(
        link=link, name=name, email=email, starts_at=starts_at, time_zone=time_zone, now=now
    )
    if booking.status != BookingStatus.HELD:
        return booking, None
    try:
        checkout = checkout_start(
            offer=link.offer, name=name, email=email, time_zone=time_zone, booking=booking, now=now
        )
    except ValidationError:
        booking_hold_withdraw(booking=booking, now=now)
        raise
    return booking, checkout


def checkout_expired_apply(*, practice: Practice, checkout_public_id: str) -> None:
    """The visitor never paid: the checkout closes and its held slot is freed."""
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
