"""Stripe's webhooks, read as Stripe sends them: the signature check and the object shapes.

Verification is Stripe's documented scheme: HMAC-SHA256 over "<t>.<body>" with the
endpoint's signing secret, any of the header's `v1` values may match (Stripe sends two
while a secret is being rolled), within a tolerance of the signing time. The readers
below take what CoachHub needs from the 2025+ API shapes and the older ones. Nothing
here knows our models.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from integrations.payloads import json_strict_loads, unstorable

# A Stripe event is a few kilobytes (lists inside it are cut at 10 items); a body over
# this is refused (413) before it is read, let alone parsed.
MAX_BODY_BYTES = 1_000_000
# Stripe's objects nest about ten levels deep, expansions included
# (integrations.payloads.MAX_NESTING is the limit).
# The event model's column widths (billing.models.StripeEvent reads them from here).
EVENT_ID_MAX_LENGTH = 255
EVENT_TYPE_MAX_LENGTH = 100
# `created` is a Unix time; one past 2100 is not a Stripe event's.
CREATED_BEFORE = 4_102_444_800
# What CoachHub can store of an amount in minor units (a PositiveIntegerField), and of
# a Stripe id or a short text such as a dispute's reason.
AMOUNT_MAX = 2_147_483_647
TEXT_MAX_LENGTH = 255

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class WebhookRefused(Exception):
    """A delivery we do not accept (answered 400, nothing stored)."""


class WebhookTooLarge(WebhookRefused):
    """A body over `MAX_BODY_BYTES` (answered 413, nothing stored)."""


class MalformedObject(ValueError):
    """A stored event whose object lacks what its handler reads, or holds the wrong
    type: processing it again gives the same answer, so it is marked invalid at once."""


@dataclass(frozen=True)
class SignatureHeader:
    """`Stripe-Signature: t=<unix time>,v1=<hex>[,v1=<hex>…][,v0=…]`, read once."""

    timestamp: int
    signatures: tuple[str, ...]


def signature_header_parse(header: str) -> SignatureHeader:
    """The header read strictly, so the HMAC and both tolerance checks see one timestamp.

    The timestamp must be plain ASCII digits, given once: Python's `int()` also reads
    "+T", " T", "\\tT", "1_7…" and other scripts' digits, and a reading that differs
    between two checks is how a signature dated tomorrow got past the future check.
    Other schemes (`v0`, whatever Stripe adds) are ignored; a `v1` that is not 64
    lowercase hex digits can never match and is ignored too.
    """
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        key, equals, value = item.partition("=")
        if not equals:
            raise WebhookRefused("Malformed Stripe-Signature header.")
        if key == "t":
            timestamps.append(value)
        elif key == "v1" and _SIGNATURE.fullmatch(value):
            signatures.append(value)
    if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]):
        raise WebhookRefused("The Stripe-Signature timestamp must be given once, as plain digits.")
    if not signatures:
        raise WebhookRefused("No v1 signature in the Stripe-Signature header.")
    return SignatureHeader(timestamp=int(timestamps[0]), signatures=tuple(signatures))


def payload_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The `v1` value Stripe computes for `payload` signed at `timestamp`."""
    signed = f"{timestamp}.".encode() + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def event_verify(*, webhook_secret: str | None, payload: bytes, signature: str | None) -> dict:
    """The delivery's event, checked: signed by the practice's secret within the
    tolerance (300 s by default) either side of now, a UTF-8 JSON object no larger
    than `MAX_BODY_BYTES`, and an event we can store (`event_envelope_check`).

    The HMAC is computed over the raw bytes, before anything is decoded: the `stripe`
    library decodes first (a non-UTF-8 body was an uncaught error there, a 500) and
    reads the header's timestamp with `int()`. A timestamp too far in the *future* is
    refused as well as a stale one: no honest sender is that far ahead, and accepting
    it would let a captured signature be replayed for that long.
    """
    if not webhook_secret:
        raise WebhookRefused("This practice has not set a Stripe webhook signing secret.")
    if not signature:
        raise WebhookRefused("Missing Stripe-Signature header.")
    if len(payload) > MAX_BODY_BYTES:
        raise WebhookTooLarge(f"The body is over {MAX_BODY_BYTES} bytes.")
    header = signature_header_parse(signature)
    expected = payload_signature(payload, webhook_secret, header.timestamp)
    if not any(hmac.compare_digest(expected, given) for given in header.signatures):
        raise WebhookRefused("Bad signature: no v1 signature matches this body and secret.")
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    now = time.time()
    if header.timestamp < now - tolerance:
        raise WebhookRefused("Bad signature: its timestamp is older than the tolerance.")
    if header.timestamp > now + tolerance:
        raise WebhookRefused("The signature's timestamp is in the future.")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise WebhookRefused("The body is not UTF-8.") from None
    try:
        data = json_strict_loads(text)
    except (ValueError, RecursionError):
        raise WebhookRefused("The body is not a JSON Stripe event.") from None
    return event_envelope_check(data)


def event_envelope_check(data: Any) -> dict:
    """`data` if it is an event we can store as it is; `WebhookRefused` says why not.

    An event is a JSON object with an `id` (up to 255 characters), a `type` (up to
    100), an integer `created` and an object in `data.object`. Every string must be
    storable text (no NUL, which PostgreSQL refuses; no lone surrogate, which is not
    UTF-8), every number finite, and nothing nested deeper than `MAX_NESTING`. Also
    used for the events reconciliation reads from Stripe's list.
    """
    if not isinstance(data, dict):
        raise WebhookRefused("The body is not a JSON object.")
    event_id, event_type = data.get("id"), data.get("type")
    if not isinstance(event_id, str) or not isinstance(event_type, str):
        raise WebhookRefused("The event has no id or type.")
    if not 0 < len(event_id) <= EVENT_ID_MAX_LENGTH:
        raise WebhookRefused(f"The event's id must be 1 to {EVENT_ID_MAX_LENGTH} characters.")
    if not 0 < len(event_type) <= EVENT_TYPE_MAX_LENGTH:
        raise WebhookRefused(f"The event's type must be 1 to {EVENT_TYPE_MAX_LENGTH} characters.")
    created = data.get("created")
    if not _is_int(created) or not 0 <= created < CREATED_BEFORE:
        raise WebhookRefused("The event's created time must be a Unix time in whole seconds.")
    envelope = data.get("data")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("object"), dict):
        raise WebhookRefused("The event has no data.object.")
    problem = unstorable(data)
    if problem:
        raise WebhookRefused(f"The event cannot be stored: {problem}.")
    return data


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
CHECKOUT_METADATA_KEY = "coachhub_checkout"


def checkout_reference(obj: dict[str, Any]) -> str:
    """The CoachHub checkout an object was paid through ("" when none: the coach sells
    other things on Stripe too, and their own `client_reference_id`s are not ours)."""
    metadata = obj.get("metadata") or {}
    if metadata.get(CHECKOUT_METADATA_KEY):
        return metadata[CHECKOUT_METADATA_KEY]
    reference = obj.get("client_reference_id") or ""
    return reference if _is_uuid(reference) else ""


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


# --- The object shapes the handlers read ------------------------------------------------
_TEXT, _CURRENCY = "a text of up to 255 characters", "a three-letter currency code"
_AMOUNT, _TIME = "an amount in minor units", "a Unix time"
_FLAG, _OBJECT, _LIST, _ID_OR_OBJECT = "true or false", "an object", "a list", "an id"

# What each kind of object must hold (`required`) or may hold, by dotted path; a field
# may always be null or absent unless required. The `object` value each kind carries.
_OBJECT_KINDS: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "checkout.session": (
        "checkout.session",
        {
            "metadata": _OBJECT,
            "client_reference_id": _TEXT,
            "payment_status": _TEXT,
            "subscription": _TEXT,
            "customer": _TEXT,
            "payment_intent": _TEXT,
            "amount_total": _AMOUNT,
            "currency": _CURRENCY,
            "created": _TIME,
        },
        ("id",),
    ),
    "customer.subscription": (
        "subscription",
        {
            "metadata": _OBJECT,
            "customer": _TEXT,
            "status": _TEXT,
            "cancel_at_period_end": _FLAG,
            "created": _TIME,
            "start_date": _TIME,
            "ended_at": _TIME,
            "canceled_at": _TIME,
        },
        ("id",),
    ),
    "invoice": (
        "invoice",
        {
            "customer": _TEXT,
            "amount_paid": _AMOUNT,
            "created": _TIME,
            "parent": _OBJECT,
            "parent.subscription_details": _OBJECT,
            "parent.subscription_details.subscription": _TEXT,
            "parent.subscription_details.metadata": _OBJECT,
            "subscription": _TEXT,
            "subscription_details": _OBJECT,
            "subscription_details.metadata": _OBJECT,
            "payments": _OBJECT,
            "payments.data": _LIST,
            "payment_intent": _ID_OR_OBJECT,
            "status_transitions": _OBJECT,
            "status_transitions.paid_at": _TIME,
        },
        ("id",),
    ),
    "charge": (
        "charge",
        {
            "payment_intent": _TEXT,
            "customer": _TEXT,
            "invoice": _TEXT,
            "amount_refunded": _AMOUNT,
            "created": _TIME,
        },
        ("id",),
    ),
    "charge.dispute": (
        "dispute",
        {
            "payment_intent": _TEXT,
            "charge": _TEXT,
            "customer": _TEXT,
            "reason": _TEXT,
            "amount": _AMOUNT,
            "created": _TIME,
        },
        ("id",),
    ),
}


def event_object_problem(event_type: str, payload: Any) -> str:
    """Why the object of a stored event cannot be what its handler reads ("" if it can):
    a missing id, a field of the wrong type, an amount or a time out of range, metadata
    that is not text, a CoachHub checkout reference that is not a checkout id.

    The same payload gives the same answer every time, so an event that has one is
    marked invalid at once instead of being retried.
    """
    envelope = payload.get("data") if isinstance(payload, dict) else None
    obj = envelope.get("object") if isinstance(envelope, dict) else None
    if not isinstance(obj, dict):
        return "data.object is not an object"
    kind = _OBJECT_KINDS.get(event_type.rsplit(".", 1)[0])
    if kind is None:
        return ""
    expected_object, fields, required = kind
    if obj.get("object") not in (None, expected_object):
        return f"data.object is a {obj.get('object')!r}, not a {expected_object!r}"
    for name in required:
        if not isinstance(obj.get(name), str) or not obj[name]:
            return f"data.object.{name} is missing"
    for path, expected in fields.items():
        problem = _field_problem(obj, path, expected)
        if problem:
            return problem
    for metadata in _metadata_of(obj):
        if any(not isinstance(value, str) for value in metadata.values()):
            return "a metadata value is not text"
    for payment in (obj.get("payments") or {}).get("data") or []:
        if not isinstance(payment, dict) or not isinstance(payment.get("payment"), dict | None):
            return "data.object.payments.data holds something that is not a payment"
        if not _is_kind((payment.get("payment") or {}).get("payment_intent"), _ID_OR_OBJECT):
            return "data.object.payments.data[].payment.payment_intent is not an id"
    for metadata in _metadata_of(obj):
        reference = metadata.get(CHECKOUT_METADATA_KEY)
        if reference and not _is_uuid(reference):
            return f"the metadata's CoachHub checkout {reference[:60]!r} is not a checkout id"
    return ""


def _field_problem(obj: dict, path: str, expected: str) -> str:
    value: Any = obj
    for name in path.split("."):
        if not isinstance(value, dict):
            return ""  # a parent that is absent or null; a parent's own type is checked first
        value = value.get(name)
    if value is None or _is_kind(value, expected):
        return ""
    return f"data.object.{path} is not {expected}"


def _is_kind(value: Any, expected: str) -> bool:
    if value is None:
        return True
    if expected == _TEXT:
        return isinstance(value, str) and len(value) <= TEXT_MAX_LENGTH
    if expected == _CURRENCY:
        return isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha()
    if expected == _AMOUNT:
        return _is_int(value) and 0 <= value <= AMOUNT_MAX
    if expected == _TIME:
        return _is_int(value) and 0 <= value < CREATED_BEFORE
    if expected == _FLAG:
        return isinstance(value, bool)
    if expected == _OBJECT:
        return isinstance(value, dict)
    if expected == _LIST:
        return isinstance(value, list)
    if isinstance(value, dict):
        value = value.get("id")
    return isinstance(value, str) and len(value) <= TEXT_MAX_LENGTH


def _metadata_of(obj: dict) -> list[dict]:
    """The metadata an object carries, wherever either API generation puts it."""
    found = []
    for path in (
        "metadata",
        "parent.subscription_details.metadata",
        "subscription_details.metadata",
    ):
        value: Any = obj
        for name in path.split("."):
            value = value.get(name) if isinstance(value, dict) else None
        if isinstance(value, dict):
            found.append(value)
    return found


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
