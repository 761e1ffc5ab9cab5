"""Stripe's webhooks, read as Stripe sends them: the signature check and the object shapes.

Verification is the `stripe` library's own HMAC-SHA256 check over "t.payload" with
the endpoint's signing secret; the readers below take what CoachHub needs from the
2025+ API shapes and the older ones. Nothing here knows our models.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.utils import timezone


class WebhookRefused(Exception):
    """A delivery we do not accept (answered 400, nothing stored)."""


def _signature_timestamp(header: str) -> int | None:
    match = re.search(r"(?:^|,)t=(\d+)", header or "")
    return int(match.group(1)) if match else None


def event_verify(*, webhook_secret: str | None, payload: bytes, signature: str | None) -> dict:
    """Stripe's own verification (HMAC-SHA256 over "t.payload", 300 s tolerance).

    `stripe.WebhookSignature.verify_header` is the check `stripe.Webhook.construct_event`
    makes; the library recommends it for "validating incoming webhooks before storing
    them for later processing", which is what we do — so the body is parsed once as
    plain JSON instead of being built into a StripeObject and turned back into a dict.

    Stripe's library only refuses *old* timestamps. A timestamp more than the same
    tolerance in the *future* is refused too: no honest sender is that far ahead,
    and accepting it would let a captured signature be replayed for that long.
    """
    if not webhook_secret:
        raise WebhookRefused("This practice has not set a Stripe webhook signing secret.")
    if not signature:
        raise WebhookRefused("Missing Stripe-Signature header.")
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    try:
        stripe.WebhookSignature.verify_header(payload, signature, webhook_secret, tolerance)
    except stripe.SignatureVerificationError as error:
        raise WebhookRefused(f"Bad signature: {error.user_message or error}") from None
    timestamp = _signature_timestamp(signature)
    if timestamp is not None and timestamp > timezone.now().timestamp() + tolerance:
        raise WebhookRefused("The signature's timestamp is in the future.")
    try:
        data = json.loads(payload)
    except ValueError:
        raise WebhookRefused("The body is not a JSON Stripe event.") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("id"), str)
        or not isinstance(data.get("type"), str)
    ):
        raise WebhookRefused("The event has no id or type.")
    return data


@dataclass(frozen=True)
class PaidObject:
    """What a paid Stripe object tells us about the purchase behind it."""

    checkout_public_id: str
    checkout_stripe_id: str = ""
    subscription_id: str = ""
    customer_id: str = ""
    payment_intent_id: str = ""
    charge_id: str = ""
    amount_total: int = 0
    currency: str = ""
    paid_at: dt.datetime | None = None


# --- Processing ---------------------------------------------------------------------
def checkout_reference(obj: dict[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    return metadata.get("coachhub_checkout") or obj.get("client_reference_id") or ""


def paid_from_checkout(obj: dict[str, Any]) -> PaidObject:
    """A Checkout Session's payment, as our purchase pipeline reads it."""
    return PaidObject(
        checkout_public_id=checkout_reference(obj),
        checkout_stripe_id=obj["id"],
        subscription_id=obj.get("subscription") or "",
        customer_id=obj.get("customer") or "",
        payment_intent_id=_id_of(obj.get("payment_intent")),
        charge_id=_id_of((_expanded(obj.get("payment_intent")) or {}).get("latest_charge")),
        amount_total=int(obj.get("amount_total") or 0),
        currency=obj.get("currency") or "",
        paid_at=stripe_time(obj.get("created")),
    )


def _id_of(value: Any) -> str:
    """An id Stripe names either as a string or as the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return value if isinstance(value, str) else ""


def _expanded(value: Any) -> dict | None:
    return value if isinstance(value, dict) else None


def stripe_time(value: Any) -> dt.datetime | None:
    """A Stripe timestamp (seconds since the epoch) as an aware UTC datetime; None if absent."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    try:
        return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)
    except (OverflowError, OSError, ValueError):  # beyond the calendar (1e20, say)
        return None


def invoice_paid_at(obj: dict[str, Any]) -> dt.datetime | None:
    """When Stripe took an invoice's money (`status_transitions.paid_at`); None if not named.
    Not the invoice's `created`: a renewal's invoice is drafted about an hour before it is
    paid, so the event's own time is the better stand-in."""
    transitions = obj.get("status_transitions") or {}
    return stripe_time(transitions.get("paid_at"))


def subscription_started_at(obj: dict[str, Any]) -> dt.datetime | None:
    """When a subscription began: `start_date`, else its `created`."""
    return stripe_time(obj.get("start_date")) or stripe_time(obj.get("created"))


def invoice_charge(obj: dict[str, Any]) -> str:
    """The charge that paid an invoice, where the payload names one: an invoice payment of
    type `charge` (2025+ API), or the invoice's own `charge` (before 2025-03-31)."""
    for payment in (obj.get("payments") or {}).get("data") or []:
        if charge := _id_of((payment.get("payment") or {}).get("charge")):
            return charge
    for payment in (obj.get("payments") or {}).get("data") or []:
        intent = _expanded((payment.get("payment") or {}).get("payment_intent"))
        if intent and (charge := _id_of(intent.get("latest_charge"))):
            return charge
    return _id_of(obj.get("charge"))


def invoice_payment_intent(obj: dict[str, Any]) -> str:
    """The PaymentIntent that paid an invoice: in `payments` (2025+ API) or, before
    2025-03-31, the invoice's own `payment_intent`; "" when none is named."""
    for payment in (obj.get("payments") or {}).get("data") or []:
        if intent := _id_of((payment.get("payment") or {}).get("payment_intent")):
            return intent
    return _id_of(obj.get("payment_intent"))


def invoice_subscription(obj: dict[str, Any]) -> tuple[str, dict]:
    """(subscription id, its metadata) of an invoice in either API shape; ('', {}): one-off."""
    details = ((obj.get("parent") or {}).get("subscription_details")) or {}
    subscription = details.get("subscription") or obj.get("subscription") or ""
    # Before 2025-03-31 the metadata sat in a top-level `subscription_details`, which is
    # nullable: null on an invoice no subscription made (a company statement).
    metadata = details.get("metadata") or (obj.get("subscription_details") or {}).get("metadata")
    return subscription, metadata or {}
