"""A local stand-in for the Stripe endpoints CoachHub calls, plus hosted checkout and
invoice pages and a small dashboard. Development and tests only: never shipped.

Stripe is out of reach on these machines, so development, the demo and the tests run
the real `stripe` library against this server (`STRIPE_API_BASE=http://127.0.0.1:12111`):

    .venv/bin/python -m devtools.stripe_standin        (or: make stripe-standin)

It answers with Stripe's documented object shapes, honours `Idempotency-Key` like
Stripe (the same key replays the first answer), and keeps its state in memory.
Like Stripe's dashboard it lets you add a webhook endpoint (it shows the `whsec_`
signing secret), pay on a hosted checkout page, renew or fail a subscription's
payment, refund and dispute — each producing the events Stripe would, delivered
signed exactly as Stripe signs them and listed at `GET /v1/events`.

It is a test double, not Stripe: no cards, no taxes, one currency per price. It imports
nothing from the product, so what it believes about Stripe is never shared by accident
with the code under test (the tests also replay payloads written from Stripe's docs,
`tests/billing/fixtures/`).

    state.py      accounts, objects, events and their signed delivery
    payments.py   checkouts, subscriptions, charges, refunds, disputes
    invoices.py   one-off invoices (a company's statement)
    api.py        `StandIn`: the `/v1/…` API and the HTTP server
    pages.py      hosted checkout and invoice pages, the dashboard
    signing.py    Stripe's webhook signature (`t=…,v1=…`)
    money.py      amounts as pages write them (zero-decimal currencies)
"""

from .api import StandIn, parse_form, serve_forever
from .money import money_shown
from .signing import signature_header
from .state import API_VERSION, Account, StripeError

__all__ = [
    "API_VERSION",
    "Account",
    "StandIn",
    "StripeError",
    "money_shown",
    "parse_form",
    "serve_forever",
    "signature_header",
]
