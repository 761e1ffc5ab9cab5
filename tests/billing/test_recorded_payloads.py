"""The webhook handlers on payloads written from Stripe's API reference, not from the stand-in.

Every other billing test feeds the handlers what `devtools/stripe_standin` emits, so the
handlers and the fake could share a mistaken idea of Stripe's shapes without any test
noticing. The events in `fixtures/` were written from the documented objects instead
(each file's `_about` says which object, API version and page), in the 2025+ shape and,
for invoices, the older one. They are signed as Stripe signs and POSTed to the practice's
webhook URL; what is checked is what the owner and the buyer would notice.

Placeholders the test fills in are written `"{{name}}"` (a whole value: it takes the
value's type, so amounts stay integers) or `{{t+60}}` (a number plus an offset); inside a
longer string they are replaced by their text.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import Path

import pytest
from django_scopes import scopes_disabled

from billing.models import (
    Checkout,
    CheckoutStatus,
    CompanyInvoice,
    CompanyInvoiceStatus,
    EventStatus,
    Purchase,
    PurchaseStatus,
    StripeEvent,
    SubscriptionState,
)
from engagements.models import EngagementKind, EngagementStatus
from integrations.stripe.webhooks import invoice_payment_intent
from sessions_app.ledger import credit_balance
from sessions_app.models import Booking, BookingStatus, SessionStatus

from ..kit.booking import first_slots
from ..kit.http import login
from ..kit.stripe import book_paid, buy, deliver, make_offer, paid_link

FIXTURES = Path(__file__).parent / "fixtures"
PLACEHOLDER = re.compile(r"\{\{(\w+)([+-]\d+)?\}\}")
MONTH = 30 * 86400

# Ids as the fixtures name them (one story each: a one-off payment, a monthly package).
PAYMENT_INTENT, PAYMENT_CUSTOMER = "pi_3QfT2mLkdIwHu7ix0Xq8ZbcD", "cus_RYtk9Zo2sQvJ1e"
SUBSCRIPTION, SUBSCRIPTION_CUSTOMER = "sub_1QgA7xLkdIwHu7ixY3bNcQ2e", "cus_RZaA3vB6mNcT8k"
FIRST_INVOICE, RETRIED_INVOICE = "in_1QgA7wLkdIwHu7ixK9dPq2Ls", "in_1QqB2kLkdIwHu7ixF7pNc3Wd"
SUBSCRIPTION_CHARGE, SUBSCRIPTION_INTENT = (
    "ch_3QgA7wLkdIwHu7ix1Gm5Tq2X",
    "pi_3QgA7wLkdIwHu7ix1Kd8Lm0P",
)
COMPANY_INVOICE, COMPANY_CUSTOMER = "in_1QhC4rLkdIwHu7ixT6mVb8Nw", "cus_RaBc5dE7fG9hJk"
INVOICE_SHAPES = pytest.mark.parametrize(
    "shape", ["", ".pre-2025"], ids=["parent.subscription_details", "top-level subscription"]
)


def recorded(fixture: str, /, **values) -> dict:
    """The event in `fixtures/<fixture>.json` with its placeholders filled in from `values`."""
    document = json.loads((FIXTURES / f"{fixture}.json").read_text())
    document.pop("_about")

    def value(match: re.Match):
        filled = values[match.group(1)]  # a KeyError: the test forgot to fill one in
        return filled + int(match.group(2)) if match.group(2) else filled

    def fill(node):
        if isinstance(node, dict):
            return {key: fill(item) for key, item in node.items()}
        if isinstance(node, list):
            return [fill(item) for item in node]
        if isinstance(node, str):
            whole = PLACEHOLDER.fullmatch(node)
            return value(whole) if whole else PLACEHOLDER.sub(lambda m: str(value(m)), node)
        return node

    return fill(document)


def story(checkout: Checkout, **extra) -> dict:
    """The placeholders of a purchase made through our `checkout`: its public id in the
    metadata, the Checkout Session Stripe opened for it, the offer's price and the buyer."""
    offer = checkout.offer
    return {
        "checkout": str(checkout.public_id),
        "offer": str(offer.public_id),
        "practice": str(offer.practice.public_id),
        "session": checkout.stripe_id,
        "amount": offer.amount_minor,
        "currency": offer.currency.lower(),
        "email": checkout.email,
        "name": checkout.name,
        "t": int(time.time()) - 3600,
        **extra,
    }


def again(event: dict, event_id: str, created: int, **changes) -> dict:
    """The same documented object in a later event of the same type (a retried invoice)."""
    event = json.loads(json.dumps(event))
    event.update(id=event_id, created=created)
    event["data"]["object"].update(changes)
    return event


@pytest.fixture
def send(client, connected, django_capture_on_commit_callbacks):
    """Deliver events one by one, signed, to the practice's webhook; processing runs on
    commit (in-process, as the worker would). Returns the stored events."""

    def send(*events: dict) -> list[StripeEvent]:
        for event in events:
            with django_capture_on_commit_callbacks(execute=True):
                response = deliver(client, connected.practice, event, connected.webhook_secret)
            assert response.status_code == 200, response.content
            assert response.json() == {"received": True, "duplicate": False}
        with scopes_disabled():
            return [StripeEvent.objects.get(stripe_id=event["id"]) for event in events]

    return send


def processed(events: list[StripeEvent]) -> tuple[bool, list]:
    """Whether every event was processed, and what happened to each (for the failure)."""
    return all(event.status == EventStatus.PROCESSED for event in events), [
        (event.type, event.status, event.last_error) for event in events
    ]


def bought(client, offer, **buyer) -> Checkout:
    """Our checkout, opened from the buy link as a buyer opens it."""
    session_id = buy(client, offer, **buyer)
    with scopes_disabled():
        return Checkout.objects.select_related("offer__practice").get(stripe_id=session_id)


def monthly_offer(connected):
    return make_offer(
        connected,
        kind="monthly_package",
        name="Monthly coaching",
        price="300.00",
        hours_per_month="2",
        months=6,
        session_minutes=60,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("currency", "price", "shown"), [("GBP", "450.00", "450.00"), ("JPY", "45000", "45000")]
)
def test_a_one_off_payment_sets_up_purchase_client_engagement_and_credits(
    currency, price, shown, connected, standin, client, send
):
    with scopes_disabled():
        connected.practice.currency = currency
        connected.practice.save(update_fields=["currency"])
    offer = make_offer(
        connected, kind="session_pack", name="Five sessions", price=price, sessions=5
    )
    checkout = bought(client, offer, email="ann@example.net", name="Ann Buyer")
    calls_before = standin.requests
    completed = recorded("checkout.session.completed.payment", **story(checkout))
    ok, why = processed(send(completed))
    assert ok, why
    with scopes_disabled():
        purchase = Purchase.objects.get(checkout=checkout)
        assert (purchase.amount_total, purchase.currency, purchase.status) == (
            45000,
            currency,
            PurchaseStatus.PAID,
        )
        assert purchase.stripe_checkout_id == checkout.stripe_id
        assert purchase.stripe_payment_intent_id == PAYMENT_INTENT
        assert purchase.stripe_customer_id == PAYMENT_CUSTOMER
        assert (purchase.client.email, purchase.client.name) == ("ann@example.net", "Ann Buyer")
        assert purchase.engagement.kind == EngagementKind.PER_SESSION
        assert credit_balance(purchase.engagement) == 5
        assert [payment.amount for payment in purchase.payments.all()] == [45000]
        checkout.refresh_from_db()
        assert checkout.status == CheckoutStatus.COMPLETE
    assert standin.requests == calls_before  # everything came from the payload
    owner = login(connected.owner, connected.practice)
    assert f"{shown} {currency}" in owner.get("/billing/purchases/").content.decode()
    # Stripe delivers at least once: the same event again changes nothing.
    again_response = deliver(client, connected.practice, completed, connected.webhook_secret)
    assert again_response.json()["duplicate"] is True
    with scopes_disabled():
        assert Purchase.objects.filter(client__email="ann@example.net").count() == 1


@pytest.mark.django_db
def test_partial_and_full_refunds_revoke_unused_credits_and_a_dispute_flags_it(
    connected, client, send
):
    offer = make_offer(
        connected, kind="session_pack", name="Five sessions", price="450.00", sessions=5
    )
    checkout = bought(client, offer, email="eve@example.net", name="Eve Buyer")
    values = story(checkout, refunded=22500)
    ok, why = processed(send(recorded("checkout.session.completed.payment", **values)))
    assert ok, why
    with scopes_disabled():
        purchase = Purchase.objects.get(checkout=checkout)
        engagement = purchase.engagement
        assert credit_balance(engagement) == 5

    ok, why = processed(send(recorded("charge.refunded.partial", **values)))
    assert ok, why
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.status == PurchaseStatus.PARTIALLY_REFUNDED
        assert purchase.amount_refunded == 22500
        assert credit_balance(engagement) == 2  # half the money: 3 of 5 credits (rounded up)

    ok, why = processed(send(recorded("charge.refunded.full", **values)))
    assert ok, why
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.status == PurchaseStatus.REFUNDED
        assert purchase.amount_refunded == 45000
        assert credit_balance(engagement) == 0

    ok, why = processed(send(recorded("charge.dispute.created", **values)))
    assert ok, why
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.disputed and purchase.dispute_reason == "fraudulent"


@pytest.mark.django_db
def test_an_expired_checkout_frees_the_held_slot(connected, client, send):
    offer = make_offer(connected, kind="single_session", name="One session")
    link = paid_link(connected, offer)
    chosen = first_slots(client, link)[1]
    response = book_paid(client, link, chosen, name="Cy", email="cy@example.net")
    assert response.status_code == 302, response.content.decode()[:2000]
    with scopes_disabled():
        checkout = Checkout.objects.select_related("offer__practice").get(
            stripe_id=response["Location"].rsplit("/", 1)[-1]
        )
    assert chosen not in first_slots(client, link)  # held for the buyer
    ok, why = processed(send(recorded("checkout.session.expired", **story(checkout))))
    assert ok, why
    with scopes_disabled():
        checkout.refresh_from_db()
        booking = Booking.objects.get(client__email="cy@example.net")
        assert checkout.status == CheckoutStatus.EXPIRED
        assert booking.status == BookingStatus.CANCELLED
        assert booking.session.status == SessionStatus.RELEASED
        assert not Purchase.objects.filter(checkout=checkout).exists()
    assert chosen in first_slots(client, link)


@pytest.mark.django_db
@INVOICE_SHAPES
def test_a_monthly_package_is_paid_falls_past_due_is_paid_again_and_ends(
    shape, connected, standin, client, send
):
    checkout = bought(client, monthly_offer(connected), email="dee@example.net", name="Dee")
    values = story(checkout)
    t = values["t"]
    calls_before = standin.requests
    # Stripe's order for a subscription bought on Checkout.
    ok, why = processed(
        send(
            recorded("customer.subscription.created", **values),
            recorded(f"invoice.paid{shape}", **values),
            recorded("checkout.session.completed.subscription", **values),
        )
    )
    assert ok, why
    with scopes_disabled():
        [purchase] = Purchase.objects.filter(client__email="dee@example.net")
        engagement = purchase.engagement
        assert purchase.checkout == checkout and purchase.stripe_checkout_id == checkout.stripe_id
        assert purchase.stripe_subscription_id == SUBSCRIPTION
        assert purchase.stripe_customer_id == SUBSCRIPTION_CUSTOMER
        assert purchase.subscription_state == SubscriptionState.ACTIVE
        assert purchase.amount_total == 30000
        assert engagement.kind == EngagementKind.MONTHLY_PACKAGE
        assert credit_balance(engagement) == 2  # 2 hours of 60-minute sessions
        assert purchase.payments.count() == 1

    # The second month's card is declined: the package is past due.
    ok, why = processed(
        send(
            recorded(f"invoice.payment_failed{shape}", **values),
            recorded("customer.subscription.updated", **values),
        )
    )
    assert ok, why
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.subscription_state == SubscriptionState.PAST_DUE
        assert credit_balance(engagement) == 2  # nothing granted for an unpaid month
    owner = login(connected.owner, connected.practice)
    assert "past due" in owner.get("/billing/purchases/").content.decode()

    # Stripe's retry succeeds: the same invoice, paid.
    retried = again(
        recorded(f"invoice.paid{shape}", **values),
        "evt_1QsC5hLkdIwHu7ixJj3Kk5Ll",
        t + MONTH + 259200,
        id=RETRIED_INVOICE,
        billing_reason="subscription_cycle",
        attempt_count=2,
    )
    ok, why = processed(send(retried))
    assert ok, why
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.subscription_state == SubscriptionState.ACTIVE
        assert credit_balance(engagement) == 4
        assert set(purchase.payments.values_list("stripe_id", flat=True)) == {
            FIRST_INVOICE,
            RETRIED_INVOICE,
        }

    # Cancelled: the package ends, its unused credits expire.
    ok, why = processed(send(recorded("customer.subscription.deleted", **values)))
    assert ok, why
    with scopes_disabled():
        purchase.refresh_from_db()
        engagement.refresh_from_db()
        assert purchase.subscription_state == SubscriptionState.ENDED
        assert credit_balance(engagement) == 0
        assert engagement.status == EngagementStatus.COMPLETED
    assert standin.requests == calls_before  # the metadata was read where Stripe puts it


@pytest.mark.django_db
@INVOICE_SHAPES
def test_an_invoice_that_arrives_first_finds_our_checkout_from_its_own_metadata(
    shape, connected, standin, client, send
):
    checkout = bought(client, monthly_offer(connected), email="fay@example.net", name="Fay")
    values = story(checkout)
    calls_before = standin.requests
    ok, why = processed(send(recorded(f"invoice.paid{shape}", **values)))
    assert ok, why
    assert standin.requests == calls_before  # no need to ask Stripe for the subscription
    with scopes_disabled():
        purchase = Purchase.objects.get(stripe_subscription_id=SUBSCRIPTION)
        assert purchase.checkout == checkout and purchase.client.email == "fay@example.net"
        assert purchase.subscription_state == SubscriptionState.ACTIVE
        assert credit_balance(purchase.engagement) == 2
    # The events Stripe sent before it arrive late: one purchase, nothing granted twice.
    ok, why = processed(
        send(
            recorded("customer.subscription.created", **values),
            recorded("checkout.session.completed.subscription", **values),
        )
    )
    assert ok, why
    with scopes_disabled():
        [purchase] = Purchase.objects.filter(client__email="fay@example.net")
        assert purchase.stripe_checkout_id == checkout.stripe_id
        assert purchase.subscription_state == SubscriptionState.ACTIVE
        assert credit_balance(purchase.engagement) == 2


def _subscribed(client, connected, send) -> tuple[Purchase, dict]:
    checkout = bought(client, monthly_offer(connected), email="gil@example.net", name="Gil")
    values = story(checkout)
    ok, why = processed(
        send(
            recorded("customer.subscription.created", **values),
            recorded("invoice.paid", **values),
            recorded("checkout.session.completed.subscription", **values),
        )
    )
    assert ok, why
    with scopes_disabled():
        return Purchase.objects.get(stripe_subscription_id=SUBSCRIPTION), values


def _subscription_charge(event: dict) -> dict:
    """A charge event rewritten for the monthly package's first payment (Stripe charges
    the subscription's customer through the invoice's own PaymentIntent)."""
    event["data"]["object"].update(
        id=SUBSCRIPTION_CHARGE, payment_intent=SUBSCRIPTION_INTENT, customer=SUBSCRIPTION_CUSTOMER
    )
    return event


@pytest.mark.django_db
def test_a_refund_of_a_monthly_payment_is_found_through_the_customer(connected, client, send):
    purchase, values = _subscribed(client, connected, send)
    refund = _subscription_charge(
        recorded("charge.refunded.partial", **{**values, "refunded": 15000})
    )
    ok, why = processed(send(refund))
    assert ok, why
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.status == PurchaseStatus.PARTIALLY_REFUNDED
        assert purchase.amount_refunded == 15000
        assert credit_balance(purchase.engagement) == 1  # half of 2 credits


@pytest.mark.django_db
def test_a_dispute_of_a_monthly_payment_flags_the_purchase(connected, client, send):
    purchase, values = _subscribed(client, connected, send)
    dispute = recorded("charge.dispute.created", **values)
    dispute["data"]["object"].update(charge=SUBSCRIPTION_CHARGE, payment_intent=SUBSCRIPTION_INTENT)
    send(dispute)
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.disputed


@pytest.mark.parametrize("shape", ["invoice.paid", "invoice.paid.pre-2025"])
def test_a_paid_invoice_names_the_payment_intent_a_dispute_will_name(shape):
    """Both API generations: `payments` (2025+) and the invoice's own `payment_intent`."""
    invoice = json.loads((FIXTURES / f"{shape}.json").read_text())["data"]["object"]
    assert invoice_payment_intent(invoice) == SUBSCRIPTION_INTENT


@pytest.fixture
def company_invoice(world, connected) -> CompanyInvoice:
    """April 2030 of the home practice's contract, sent to the company on Stripe."""
    with scopes_disabled():
        return CompanyInvoice.objects.create(
            practice=connected.practice,
            contract=world.home.objects["contract"],
            month=dt.date(2030, 4, 1),
            stripe_invoice_id=COMPANY_INVOICE,
            stripe_customer_id=COMPANY_CUSTOMER,
            amount_total=45000,
            currency="GBP",
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fixture",
    ["invoice.paid.one-off", "invoice.paid.one-off.pre-2025"],
    ids=["parent null", "subscription_details null"],
)
def test_a_company_pays_its_statement_invoice(fixture, company_invoice, send):
    t = int(time.time()) - 600
    events = send(recorded(fixture, t=t, contract=str(company_invoice.contract_id)))
    ok, why = processed(events)
    assert ok, why
    with scopes_disabled():
        company_invoice.refresh_from_db()
    assert company_invoice.status == CompanyInvoiceStatus.PAID
    assert company_invoice.paid_at == dt.datetime.fromtimestamp(t, tz=dt.UTC)


@pytest.mark.django_db
def test_a_statement_invoice_voided_in_stripe_is_void_here(company_invoice, send):
    t = int(time.time()) - 600
    ok, why = processed(
        send(recorded("invoice.voided", t=t, contract=str(company_invoice.contract_id)))
    )
    assert ok, why
    with scopes_disabled():
        company_invoice.refresh_from_db()
    assert company_invoice.status == CompanyInvoiceStatus.VOID
    assert company_invoice.voided_at == dt.datetime.fromtimestamp(t + 1, tz=dt.UTC)
