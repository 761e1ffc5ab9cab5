"""Stripe helpers: the local stand-in, a connected practice, offers, signed webhooks, buying."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import stripe
from django.test import Client as HttpClient
from django_scopes import scopes_disabled

from billing import services
from billing.models import Offer, StripeAccount
from devtools.stripe_standin import StandIn, signature_header

from .booking import open_all_week


@contextmanager
def serving_standin(settings, *, deliver: bool):
    """The stand-in, answering the real `stripe` library on 127.0.0.1 (never the network)."""
    fake = StandIn(deliver=deliver)
    server = fake.serve()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.STRIPE_API_BASE = fake.base_url
    try:
        yield fake
    finally:
        server.shutdown()


@dataclass
class Connected:
    practice: object
    owner: object
    coach: object
    account: StripeAccount
    secret_key: str
    webhook_secret: str


def connect(
    practice, owner, standin: StandIn, *, suffix: str = "home", site: str = "http://testserver"
) -> Connected:
    """Connect a practice as an owner would: keys checked against the stand-in, and a
    webhook endpoint added at "Stripe" whose signing secret is pasted back."""
    secret_key = f"sk_test_{suffix}0123456789abcdef"
    endpoint = stripe.StripeClient(
        secret_key, base_addresses={"api": standin.base_url}
    ).v1.webhook_endpoints.create(
        {"url": f"{site}/webhooks/stripe/{practice.public_id}/", "enabled_events": ["*"]}
    )
    with scopes_disabled():
        account = services.stripe_account_connect(
            practice=practice,
            actor=owner,
            secret_key=secret_key,
            publishable_key=f"pk_test_{suffix}0123456789abcdef",
            webhook_secret=endpoint["secret"],
        )
    return Connected(
        practice=practice,
        owner=owner,
        coach=None,
        account=account,
        secret_key=secret_key,
        webhook_secret=endpoint["secret"],
    )


def make_offer(connected: Connected, **fields) -> Offer:
    defaults = {
        "kind": "single_session",
        "name": "Coaching session",
        "price": "120.00",
        "session_minutes": 55,
        "coach": connected.coach,
    }
    defaults.update(fields)
    with scopes_disabled():
        return services.offer_save(practice=connected.practice, actor=connected.owner, **defaults)


def deliver(
    client: HttpClient,
    practice,
    event: dict | bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
):
    """POST one event to the practice's webhook URL as Stripe would."""
    payload = event if isinstance(event, bytes) else json.dumps(event).encode()
    headers = {}
    if signature is None:
        signature = signature_header(payload, secret, timestamp=timestamp or int(time.time()))
    if signature:
        headers["HTTP_STRIPE_SIGNATURE"] = signature
    return client.post(
        f"/webhooks/stripe/{practice.public_id}/",
        data=payload,
        content_type="application/json",
        **headers,
    )


def buy(client, offer, email="ann@example.net", name="Ann Buyer") -> str:
    """The buy link's form; returns the Checkout Session id Stripe's page is for."""
    response = client.post(
        f"/buy/{offer.practice.slug}/{offer.public_id}/",
        {"name": name, "email": email, "tz": "Europe/Paris"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert "/checkout/cs_test_" in response["Location"]
    return response["Location"].rsplit("/", 1)[-1]


def paid_link(connected, offer):
    """A bookable-around-the-clock link that sells `offer`; one-off sessions allowed."""
    link = open_all_week(connected.practice, connected.coach, requires_payment=True)
    with scopes_disabled():
        link.offer = offer
        link.save(update_fields=["offer"])
        connected.practice.one_off_sessions_for_new_clients = True
        connected.practice.save(update_fields=["one_off_sessions_for_new_clients"])
    return link


def book_paid(client, link, chosen: str, *, name: str, email: str):
    """The visitor's confirm form for a chosen time (a visitor in Tokyo)."""
    return client.post(
        f"/book/{link.practice.slug}/{link.slug}/confirm/?start={chosen}",
        {"name": name, "email": email, "tz": "Asia/Tokyo", "start": chosen},
    )
