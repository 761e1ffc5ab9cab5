"""Money and credits come out the same in every order Stripe's events can be processed in.

Stripe sends a subscription's events in no guaranteed order, at least once, and our worker
retries what it cannot place yet. Here whole purchase lifecycles are replayed in shuffled
orders, with duplicates, through the same service the worker runs (`billing.events`), and
the end state — each purchase's status, refunds and dispute, its payments, its engagement's
credit balance — is compared with the in-order run. The numbered cases of issue 15 (credits
left after a late `invoice.paid`, a dispute that names only its charge, a purchase paid "now"
instead of at Stripe's time) each have their own test on the recorded payloads.
"""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from django.db import transaction
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from billing.models import (
    Purchase,
    PurchaseStatus,
    SubscriptionState,
)
from sessions_app.ledger import credit_balance

from ..kit.http import login
from ..kit.lifecycles import end_state as _end_state
from ..kit.lifecycles import events_process as _process
from ..kit.lifecycles import lifecycles_play
from ..kit.stripe import make_offer
from . import test_recorded_payloads
from .test_recorded_payloads import (
    FIRST_INVOICE,
    MONTH,
    PAYMENT_CUSTOMER,
    PAYMENT_INTENT,
    SUBSCRIPTION,
    SUBSCRIPTION_CHARGE,
    SUBSCRIPTION_CUSTOMER,
    SUBSCRIPTION_INTENT,
    again,
    bought,
    monthly_offer,
    processed,
    recorded,
    story,
)

send = test_recorded_payloads.send  # the fixture that delivers signed events, by its name

ORDERS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _rolled_back(practice, events, capture) -> dict:
    """Process `events` and return the end state, leaving the database as it was."""
    point = transaction.savepoint()
    try:
        _process(practice, events, capture)
        return _end_state(practice)
    finally:
        transaction.savepoint_rollback(point)


# --- Case 4: a package deleted right after it starts keeps no credits ------------------
def _started_and_deleted(checkout) -> list[dict]:
    """Stripe's events for a package paid for two months and then cancelled, in the order
    Stripe sends them: created (T), in_1 paid (T+1 s), checkout (T+2 s), in_2 (T+30 d),
    deleted (T+35 d)."""
    t = int(time.time()) - 40 * 86400
    values = story(checkout, t=t)
    renewal = again(
        recorded("invoice.paid", **values),
        "evt_1QsC5hLkdIwHu7ixRenew02",
        t + MONTH,
        id="in_1QsC5hLkdIwHu7ixRenew02",
        billing_reason="subscription_cycle",
        status_transitions={"finalized_at": t + MONTH, "paid_at": t + MONTH},
        period_start=t + MONTH,
        period_end=t + 2 * MONTH,
    )
    renewal["data"]["object"]["created"] = t + MONTH
    deleted = recorded("customer.subscription.deleted", **values)
    deleted["created"] = t + 35 * 86400
    return [
        recorded("customer.subscription.created", **values),
        recorded("invoice.paid", **values),
        recorded("checkout.session.completed.subscription", **values),
        renewal,
        deleted,
    ]


@pytest.mark.django_db
def test_a_late_paid_invoice_after_the_deletion_leaves_no_credits(
    connected, client, django_capture_on_commit_callbacks
):
    """The deletion processed first: the months paid before it are granted and expire."""
    checkout = bought(client, monthly_offer(connected), email="hal@example.net", name="Hal")
    created, first, completed, renewal, deleted = _started_and_deleted(checkout)
    _process(
        connected.practice,
        [deleted, created, first, completed, renewal],
        django_capture_on_commit_callbacks,
    )
    state = _end_state(connected.practice)
    assert state["stuck"] == []
    hal = state["purchases"]["hal@example.net"]
    assert hal["subscription_state"] == SubscriptionState.ENDED
    assert hal["balance"] == 0
    assert [stripe_id for stripe_id, _, _ in hal["payments"]] == sorted(
        [FIRST_INVOICE, renewal["data"]["object"]["id"]]
    )
    # A replay of the late invoice changes nothing.
    renewal_again = {**renewal, "id": "evt_1QsC5hLkdIwHu7ixRenew03"}
    _process(connected.practice, [renewal_again], django_capture_on_commit_callbacks)
    assert _end_state(connected.practice)["purchases"]["hal@example.net"]["balance"] == 0


@pytest.mark.django_db
@ORDERS
@example(order=[4, 0, 1, 2, 3])
@example(order=[0, 4, 1, 3, 2])
@given(order=st.permutations(range(5)))
def test_every_order_of_a_package_started_and_deleted_ends_with_no_credits(
    order, connected, client, django_capture_on_commit_callbacks
):
    """Issue 15's sequence in any order: the credits end as in order, at nothing."""
    capture = django_capture_on_commit_callbacks
    point = transaction.savepoint()
    try:
        checkout = bought(client, monthly_offer(connected), email="hal@example.net", name="Hal")
        events = _started_and_deleted(checkout)
        in_order = _rolled_back(connected.practice, events, capture)
        assert in_order["stuck"] == []
        assert in_order["purchases"]["hal@example.net"]["balance"] == 0
        assert _rolled_back(connected.practice, [events[i] for i in order], capture) == in_order
    finally:
        transaction.savepoint_rollback(point)


# --- Case 5: a dispute names its charge, and sometimes nothing else ------------------------
def _stripes_example_dispute(values: dict, *, charge: str) -> dict:
    """Stripe's own example dispute: the charge, `payment_intent: null`, no customer."""
    dispute = recorded("charge.dispute.created", **values)
    dispute["data"]["object"].update(charge=charge, payment_intent=None)
    assert "customer" not in dispute["data"]["object"]
    return dispute


def _charge_at_stripe(standin, connected, charge_id: str, *, intent: str, customer: str) -> None:
    """A charge the stand-in answers `GET /v1/charges/<id>` for, as Stripe keeps it."""
    standin.accounts[connected.secret_key].objects[charge_id] = {
        "id": charge_id,
        "object": "charge",
        "amount": 30000,
        "amount_refunded": 0,
        "currency": "gbp",
        "customer": customer,
        "payment_intent": intent,
        "disputed": True,
        "status": "succeeded",
    }


def _subscribed(client, connected, send, shape: str = "") -> tuple[Purchase, dict]:
    checkout = bought(client, monthly_offer(connected), email="ivy@example.net", name="Ivy")
    values = story(checkout)
    ok, why = processed(
        send(
            recorded("customer.subscription.created", **values),
            recorded(f"invoice.paid{shape}", **values),
            recorded("checkout.session.completed.subscription", **values),
        )
    )
    assert ok, why
    with scopes_disabled():
        return Purchase.objects.get(stripe_subscription_id=SUBSCRIPTION), values


@pytest.mark.django_db
def test_a_dispute_on_a_monthly_payment_is_found_by_the_charge_its_invoice_named(
    connected, standin, client, send
):
    """Before 2025-03-31 an invoice names its charge: recorded, so no need to ask Stripe."""
    purchase, values = _subscribed(client, connected, send, ".pre-2025")
    calls_before = standin.requests
    ok, why = processed(send(_stripes_example_dispute(values, charge=SUBSCRIPTION_CHARGE)))
    assert ok, why
    assert standin.requests == calls_before
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.disputed and purchase.dispute_reason == "fraudulent"
        assert purchase.payments.get(stripe_id=FIRST_INVOICE).charge_id == SUBSCRIPTION_CHARGE


@pytest.mark.django_db
def test_a_dispute_on_a_monthly_payment_reads_the_charge_from_stripe_when_unknown(
    connected, standin, client, send
):
    """A 2025+ invoice names only its PaymentIntent: the charge is read once, outside the
    event's transaction, and its customer leads to the package."""
    purchase, values = _subscribed(client, connected, send)
    _charge_at_stripe(
        standin,
        connected,
        SUBSCRIPTION_CHARGE,
        intent=SUBSCRIPTION_INTENT,
        customer=SUBSCRIPTION_CUSTOMER,
    )
    calls_before = standin.requests
    ok, why = processed(send(_stripes_example_dispute(values, charge=SUBSCRIPTION_CHARGE)))
    assert ok, why
    assert standin.requests == calls_before + 1
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.disputed


@pytest.mark.django_db
def test_stripes_example_dispute_on_a_one_off_payment_is_applied(connected, standin, client, send):
    """`payment_intent: null`: the charge read from Stripe names the PaymentIntent."""
    offer = make_offer(
        connected, kind="session_pack", name="Five sessions", price="450.00", sessions=5
    )
    checkout = bought(client, offer, email="jo@example.net", name="Jo")
    values = story(checkout)
    ok, why = processed(send(recorded("checkout.session.completed.payment", **values)))
    assert ok, why
    charge = "ch_3QfT2mLkdIwHu7ix0Vr4KpLs"
    _charge_at_stripe(standin, connected, charge, intent=PAYMENT_INTENT, customer=PAYMENT_CUSTOMER)
    ok, why = processed(send(_stripes_example_dispute(values, charge=charge)))
    assert ok, why
    with scopes_disabled():
        purchase = Purchase.objects.get(checkout=checkout)
        assert purchase.disputed and purchase.status == PurchaseStatus.PAID


# --- Case 6: paid when Stripe took the money, not when our worker ran ----------------------
def _at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


@pytest.mark.django_db
def test_a_monthly_package_is_paid_at_stripes_time_whichever_event_comes_first(
    connected, client, send
):
    """Forty days late (a worker backlog, a replay): revenue still lands in Stripe's month."""
    checkout = bought(client, monthly_offer(connected), email="kit@example.net", name="Kit")
    t = int(time.time()) - 40 * 86400
    values = story(checkout, t=t)
    ok, why = processed(send(recorded("customer.subscription.created", **values)))
    assert ok, why
    with scopes_disabled():
        purchase = Purchase.objects.get(stripe_subscription_id=SUBSCRIPTION)
        assert purchase.paid_at == _at(t)  # the subscription's start_date
    ok, why = processed(
        send(
            recorded("invoice.paid", **values),
            recorded("checkout.session.completed.subscription", **values),
        )
    )
    assert ok, why
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.paid_at == _at(t - 600)  # the checkout, the earliest of them
        [payment] = purchase.payments.all()
        assert payment.paid_at == _at(t + 1)  # the invoice's status_transitions.paid_at


@pytest.mark.django_db
def test_a_package_first_heard_of_from_its_invoice_is_paid_when_the_invoice_was(
    connected, client, send
):
    checkout = bought(client, monthly_offer(connected), email="lu@example.net", name="Lu")
    t = int(time.time()) - 40 * 86400
    invoice = recorded("invoice.paid", **story(checkout, t=t))
    invoice["created"] = int(time.time())  # delivered (or replayed) today
    ok, why = processed(send(invoice))
    assert ok, why
    with scopes_disabled():
        purchase = Purchase.objects.get(stripe_subscription_id=SUBSCRIPTION)
        assert purchase.paid_at == _at(t + 1)
        assert [p.paid_at for p in purchase.payments.all()] == [_at(t + 1)]


@pytest.mark.django_db
def test_an_incomplete_subscription_is_not_shown_as_active(connected, client, send):
    """The first payment still needs the buyer (3-D Secure): not active until it is paid."""
    checkout = bought(client, monthly_offer(connected), email="mo@example.net", name="Mo")
    values = story(checkout)
    created = recorded("customer.subscription.created", **values)
    created["data"]["object"]["status"] = "incomplete"
    ok, why = processed(send(created))
    assert ok, why
    with scopes_disabled():
        purchase = Purchase.objects.get(stripe_subscription_id=SUBSCRIPTION)
        assert purchase.subscription_state == SubscriptionState.INCOMPLETE
        assert credit_balance(purchase.engagement) == 0
    page = login(connected.owner, connected.practice).get("/billing/purchases/").content.decode()
    assert "Awaiting the first payment" in page
    ok, why = processed(send(recorded("invoice.paid", **values)))
    assert ok, why
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.subscription_state == SubscriptionState.ACTIVE
        assert credit_balance(purchase.engagement) == 2


# --- Whole lifecycles, shuffled and duplicated ---------------------------------------------
@pytest.fixture
def lifecycles(connected, standin, client, django_capture_on_commit_callbacks):
    """Five buyers' stories at the stand-in, and the end state of their events in order:
    a package cancelled at once; one cancelled after two renewals; one whose renewal is
    disputed; one refunded in part after it was cancelled; a package of sessions refunded
    in two steps."""
    monthly = monthly_offer(connected)
    pack = make_offer(
        connected, kind="session_pack", name="Five sessions", price="450.00", sessions=5
    )
    account = standin.accounts[connected.secret_key]
    lifecycles_play(standin, account, client, monthly=monthly, pack=pack)
    events = list(account.events)
    in_order = _rolled_back(connected.practice, events, django_capture_on_commit_callbacks)
    return events, in_order


@pytest.mark.django_db
def test_the_lifecycles_in_order_end_as_the_owner_expects(lifecycles):
    """The reference the shuffled runs are held to is itself right."""
    events, in_order = lifecycles
    assert in_order["stuck"] == []
    buyers = in_order["purchases"]
    for email in ("now@example.net", "later@example.net", "refunded@example.net"):
        assert buyers[email]["subscription_state"] == SubscriptionState.ENDED
        assert buyers[email]["balance"] == 0
    assert len(buyers["later@example.net"]["payments"]) == 3
    assert buyers["disputed@example.net"]["disputed"] is True
    assert buyers["disputed@example.net"]["balance"] == 4
    assert buyers["refunded@example.net"]["status"] == PurchaseStatus.PARTIALLY_REFUNDED
    assert buyers["refunded@example.net"]["amount_refunded"] == 10000
    assert buyers["pack@example.net"]["status"] == PurchaseStatus.REFUNDED
    assert buyers["pack@example.net"]["balance"] == 0


@pytest.mark.django_db
@settings(ORDERS, max_examples=int(os.environ.get("SHUFFLE_EXAMPLES", "8")))
@given(rng=st.randoms(use_true_random=False))
def test_shuffled_lifecycles_with_duplicates_end_as_in_order(
    rng, lifecycles, connected, django_capture_on_commit_callbacks
):
    """Any order, a fifth of the events delivered twice, the worker's retries: the same
    purchases, payments, refunds, disputes and credit balances as in order."""
    events, in_order = lifecycles
    shuffled = events + rng.sample(events, k=len(events) // 5)
    rng.shuffle(shuffled)
    assert (
        _rolled_back(connected.practice, shuffled, django_capture_on_commit_callbacks) == in_order
    )
