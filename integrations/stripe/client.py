"""Every call CoachHub makes to Stripe, through the real `stripe` library.

One `StripeClient` per practice (each coach has their own account), pointed at
`settings.STRIPE_API_BASE` — Stripe itself in production, the local stand-in in
development and tests. Every POST carries an idempotency key derived from our own
record, so a retried call can never create a second product, price or checkout.
Failures become `IntegrationError`, which says whether retrying can help.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings

from integrations.errors import FailureKind, IntegrationError

# Stripe's Checkout Sessions last at least 30 minutes and at most 24 hours.
CHECKOUT_MIN_MINUTES = 30


def _client(secret_key: str) -> stripe.StripeClient:
    return stripe.StripeClient(
        secret_key,
        base_addresses={"api": settings.STRIPE_API_BASE},
        max_network_retries=2,
    )


def _translate(error: stripe.StripeError) -> IntegrationError:
    if isinstance(error, stripe.APIConnectionError):
        kind = FailureKind.UNREACHABLE
    elif isinstance(error, (stripe.AuthenticationError, stripe.PermissionError)):
        kind = FailureKind.KEY_REFUSED
    elif isinstance(error, (stripe.InvalidRequestError, stripe.CardError, stripe.IdempotencyError)):
        kind = FailureKind.REQUEST_REFUSED
    else:  # RateLimitError, APIError and anything Stripe adds later
        kind = FailureKind.PROVIDER_FAULT
    permanent = kind in (FailureKind.KEY_REFUSED, FailureKind.REQUEST_REFUSED)
    message = getattr(error, "user_message", None) or str(error) or error.__class__.__name__
    return IntegrationError(message, permanent=permanent, provider="stripe", kind=kind)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as error:
        raise _translate(error) from error


def _post(fn, *args, params: dict[str, Any], idempotency_key: str):
    """A call that creates or changes something at Stripe: always with its key."""
    return _call(fn, *args, params, options={"idempotency_key": idempotency_key})


@dataclass(frozen=True)
class AccountInfo:
    account_id: str
    name: str
    livemode: bool


def account_verify(secret_key: str) -> AccountInfo:
    """One call that proves a secret key works: retrieve the account it belongs to."""
    account = _call(_client(secret_key).v1.accounts.retrieve_current).to_dict()
    profile = account.get("business_profile") or {}
    dashboard = (account.get("settings") or {}).get("dashboard") or {}
    name = profile.get("name") or dashboard.get("display_name") or account.get("email") or ""
    return AccountInfo(
        account_id=account["id"], name=name, livemode=secret_key.startswith("sk_live_")
    )


def product_create(secret_key: str, *, name: str, description: str, idempotency_key: str) -> str:
    params: dict[str, Any] = {"name": name}
    if description:
        params["description"] = description[:500]
    product = _post(
        _client(secret_key).v1.products.create, params=params, idempotency_key=idempotency_key
    )
    return product["id"]


def price_create(
    secret_key: str,
    *,
    product_id: str,
    amount_minor: int,
    currency: str,
    monthly: bool,
    idempotency_key: str,
) -> str:
    params: dict[str, Any] = {
        "product": product_id,
        "unit_amount": amount_minor,
        "currency": currency.lower(),
    }
    if monthly:
        params["recurring"] = {"interval": "month"}
    price = _post(
        _client(secret_key).v1.prices.create, params=params, idempotency_key=idempotency_key
    )
    return price["id"]


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    expires_at: dt.datetime


def checkout_session_create(
    secret_key: str,
    *,
    price_id: str,
    quantity: int,
    subscription: bool,
    email: str,
    metadata: dict[str, str],
    success_url: str,
    cancel_url: str,
    expires_at: dt.datetime,
    idempotency_key: str,
) -> CheckoutSession:
    """A hosted Checkout page; our metadata rides on the session and what it creates."""
    params: dict[str, Any] = {
        "mode": "subscription" if subscription else "payment",
        "line_items": [{"price": price_id, "quantity": quantity}],
        "customer_email": email,
        "client_reference_id": metadata.get("coachhub_checkout", ""),
        "metadata": metadata,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
    }
    if subscription:
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["payment_intent_data"] = {"metadata": metadata}
        params["customer_creation"] = "always"
    session = _post(
        _client(secret_key).v1.checkout.sessions.create,
        params=params,
        idempotency_key=idempotency_key,
    )
    return CheckoutSession(
        id=session["id"],
        url=session["url"],
        expires_at=dt.datetime.fromtimestamp(session["expires_at"], tz=dt.UTC),
    )


@dataclass(frozen=True)
class InvoiceLine:
    key: str  # stable within the invoice (e.g. the seat's id): part of its idempotency key
    description: str
    amount: int  # minor units; negative for a credit


@dataclass(frozen=True)
class SentInvoice:
    id: str
    customer_id: str
    status: str
    total: int
    hosted_url: str


def company_invoice_send(
    secret_key: str,
    *,
    customer_id: str,
    company_name: str,
    billing_email: str,
    currency: str,
    description: str,
    lines: list[InvoiceLine],
    days_until_due: int,
    metadata: dict[str, str],
    idempotency_key: str,
) -> SentInvoice:
    """An invoice the company pays on Stripe's hosted page: the customer (created once),
    a draft with one item per line, finalized and e-mailed by Stripe.

    Every POST's idempotency key extends `idempotency_key`, so a retry after a failure
    part way continues with the same objects instead of making new ones.
    """
    client = _client(secret_key)

    def post(fn, params: dict[str, Any], step: str, *args):
        return _post(fn, *args, params=params, idempotency_key=f"{idempotency_key}:{step}")

    if not customer_id:
        customer = post(
            client.v1.customers.create,
            {"name": company_name, "email": billing_email, "metadata": metadata},
            "customer",
        )
        customer_id = customer["id"]
    invoice = post(
        client.v1.invoices.create,
        {
            "customer": customer_id,
            "collection_method": "send_invoice",
            "days_until_due": days_until_due,
            "currency": currency.lower(),
            "description": description,
            "metadata": metadata,
            "pending_invoice_items_behavior": "exclude",
        },
        "invoice",
    )
    for line in lines:
        post(
            client.v1.invoice_items.create,
            {
                "customer": customer_id,
                "invoice": invoice["id"],
                "amount": line.amount,
                "currency": currency.lower(),
                "description": line.description,
            },
            f"line:{line.key}",
        )
    invoice = post(client.v1.invoices.finalize_invoice, {}, "finalize", invoice["id"])
    invoice = post(client.v1.invoices.send_invoice, {}, "send", invoice["id"])
    return SentInvoice(
        id=invoice["id"],
        customer_id=customer_id,
        status=invoice["status"],
        total=int(invoice["total"]),
        hosted_url=invoice["hosted_invoice_url"] or "",
    )


def company_invoice_void(secret_key: str, invoice_id: str, *, idempotency_key: str) -> str:
    """Void an unpaid invoice: the company can no longer pay it. Returns its new status."""
    invoice = _post(
        _client(secret_key).v1.invoices.void_invoice,
        invoice_id,
        params={},
        idempotency_key=idempotency_key,
    )
    return invoice["status"]


def subscription_retrieve(secret_key: str, subscription_id: str) -> dict[str, Any]:
    """Re-read a subscription (its metadata) when an invoice arrives before anything else."""
    subscription = _call(_client(secret_key).v1.subscriptions.retrieve, subscription_id)
    return subscription.to_dict()


def charge_retrieve(secret_key: str, charge_id: str) -> dict[str, Any]:
    """Re-read a charge (its PaymentIntent and customer) when a dispute names only the charge."""
    charge = _call(_client(secret_key).v1.charges.retrieve, charge_id)
    return charge.to_dict()


def events_since(secret_key: str, since: dt.datetime) -> Iterator[dict[str, Any]]:
    """Every event Stripe kept since `since` (Stripe keeps 30 days), oldest pages first."""
    page = _call(
        _client(secret_key).v1.events.list,
        {"created": {"gte": int(since.timestamp())}, "limit": 100},
    )
    try:
        for event in page.auto_paging_iter():
            yield event.to_dict()
    except stripe.StripeError as error:
        raise _translate(error) from error
