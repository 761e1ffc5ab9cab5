"""A practice connected to the local Stripe stand-in, as an owner connects it.

The stand-in (`devtools/stripe_standin`, the one the tests use) runs in the
benchmark's own process; the app reaches it through the real `stripe` library at
$STRIPE_API_BASE, and its request counter shows any call the app makes.

Django, and all that imports models, is imported inside functions: a benchmark chooses
its database and settings at run time, before Django starts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from devtools.stripe_standin import StandIn


def serve_standin() -> StandIn:
    """The stand-in on a free loopback port; events are kept, never delivered by it."""
    fake = StandIn(deliver=False)
    server = fake.serve()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake


@dataclass
class Shop:
    practice: object
    owner: object
    secret_key: str
    webhook_secret: str

    @property
    def webhook_path(self) -> str:
        return f"/webhooks/stripe/{self.practice.public_id}/"


def connected_shop(standin: StandIn, *, site: str) -> Shop:
    """A practice whose owner connected Stripe and added the webhook endpoint at `site`."""
    import stripe
    from django.conf import settings
    from django_scopes import scopes_disabled

    from billing.services import stripe_account_connect
    from coachhub.models import User
    from engagements.services import practice_set_up

    settings.STRIPE_API_BASE = standin.base_url
    secret_key = "sk_test_benchmark0123456789"
    with scopes_disabled():
        owner = User.objects.create_user("bench-owner@example.com", "x", time_zone="Europe/London")
        practice = practice_set_up(owner=owner, name="Bench billing")
        endpoint = stripe.StripeClient(
            secret_key, base_addresses={"api": standin.base_url}
        ).v1.webhook_endpoints.create(
            {"url": f"{site}/webhooks/stripe/{practice.public_id}/", "enabled_events": ["*"]}
        )
        stripe_account_connect(
            practice=practice,
            actor=owner,
            secret_key=secret_key,
            publishable_key="pk_test_benchmark0123456789",
            webhook_secret=endpoint["secret"],
        )
    return Shop(
        practice=practice, owner=owner, secret_key=secret_key, webhook_secret=endpoint["secret"]
    )


def offer(shop: Shop, **fields):
    from django_scopes import scopes_disabled

    from billing.services import offer_save

    with scopes_disabled():
        return offer_save(practice=shop.practice, actor=shop.owner, coach=shop.owner, **fields)


def paid_checkout_events(standin: StandIn, shop: Shop, offer, *, buyers: range) -> list[dict]:
    """Each buyer starts a checkout in the app (one Stripe call) and pays on the hosted
    page; returns the events Stripe would send, in Stripe's order."""
    from django_scopes import scopes_disabled

    from billing.services import checkout_start

    account = standin.accounts[shop.secret_key]
    first = len(account.events)
    with scopes_disabled():
        for number in buyers:
            checkout = checkout_start(
                offer=offer, name=f"Buyer {number}", email=f"buyer{number}@example.org"
            )
            standin.pay(checkout.stripe_id)
    return account.events[first:]
