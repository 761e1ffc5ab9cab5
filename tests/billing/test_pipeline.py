"""The purchase pipeline end to end, as a buyer and the coach would see it: buy on a
buy link or a paid booking link, pay on the (stand-in) hosted checkout, Stripe's events
delivered signed → purchase, client, engagement, collection, credits, session, e-mail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from billing.models import (
    Checkout,
    CheckoutStatus,
    EventStatus,
    Purchase,
    PurchaseStatus,
    StripeEvent,
    SubscriptionState,
)
from engagements.models import Client, Collection, EngagementKind
from sessions_app.ledger import credit_balance
from sessions_app.models import (
    Booking,
    BookingStatus,
    Consumption,
    CreditEntry,
    Session,
    SessionStatus,
)

from ..kit.booking import first_slots
from ..kit.http import login
from ..kit.stripe import book_paid, buy, deliver, make_offer, paid_link


class Delivery:
    """Hands the stand-in's new events to the webhook, as Stripe would, one by one."""

    def __init__(self, standin, connected, client, capture):
        self.standin, self.connected, self.client, self.capture = (
            standin,
            connected,
            client,
            capture,
        )
        self.sent = 0
        self.delivered_ids: list[str] = []

    @property
    def events(self) -> list[dict]:
        return self.standin.accounts[self.connected.secret_key].events

    def new_events(self) -> list[dict]:
        fresh = self.events[self.sent :]
        self.sent = len(self.events)
        return fresh

    def send(self, events: list[dict]) -> None:
        for event in events:
            self.delivered_ids.append(event["id"])
            with self.capture(execute=True):
                response = deliver(
                    self.client, self.connected.practice, event, self.connected.webhook_secret
                )
            assert response.status_code == 200, response.content

    def flush(self) -> None:
        self.send(self.new_events())


@pytest.fixture
def stripe_side(standin, connected, client, django_capture_on_commit_callbacks):
    return Delivery(standin, connected, client, django_capture_on_commit_callbacks)


@pytest.mark.django_db
def test_a_paid_package_becomes_client_engagement_collection_credits_and_session(
    connected, standin, client, stripe_side
):
    offer = make_offer(
        connected, kind="session_pack", name="Five sessions", price="450.00", sessions=5
    )
    session_id = buy(client, offer)
    with scopes_disabled():
        checkout = Checkout.objects.get(stripe_id=session_id)
        assert checkout.status == CheckoutStatus.OPEN
    standin.pay(session_id)
    mail.outbox.clear()
    stripe_side.flush()
    with scopes_disabled():
        purchase = Purchase.objects.get(checkout=checkout)
        assert purchase.client.email == "ann@example.net"
        assert purchase.amount_total == 45000 and purchase.status == PurchaseStatus.PAID
        engagement = purchase.engagement
        assert engagement.kind == EngagementKind.PER_SESSION
        assert Collection.objects.filter(engagement=engagement).exists()
        assert credit_balance(engagement) == 5
        first = Session.objects.get(engagement=engagement)
        assert first.status == SessionStatus.TO_SCHEDULE  # populated for the coach to schedule
        steps = {s.key: s for s in engagement.steps.all()}
        assert "slack is not connected" in steps["slack_invite"].reason.lower()
        checkout.refresh_from_db()
        assert checkout.status == CheckoutStatus.COMPLETE
    [confirmation] = [m for m in mail.outbox if m.to == ["ann@example.net"]]
    assert "Five sessions" in confirmation.subject
    # Credits left and sessions are in the buyer's portal, which the e-mail signs them in to.
    assert f"/portal/{connected.practice.slug}/?sesame=" in confirmation.body
    # The success page says what happened.
    page = client.get(f"/checkout/{checkout.public_id}/done/?session_id={session_id}")
    assert "is confirmed" in page.content.decode()


@pytest.mark.django_db
def test_paid_booking_link_holds_the_slot_and_payment_books_it_with_one_credit(
    connected, standin, client, stripe_side
):
    offer = make_offer(connected, kind="single_session", name="One session", price="120.00")
    link = paid_link(connected, offer)
    chosen = first_slots(client, link)[2]
    response = book_paid(client, link, chosen, name="Bo", email="bo@example.net")
    assert response.status_code == 302 and "/checkout/cs_test_" in response["Location"]
    session_id = response["Location"].rsplit("/", 1)[-1]
    with scopes_disabled():
        booking = Booking.objects.get(client__email="bo@example.net")
        assert booking.status == BookingStatus.HELD
        checkout = Checkout.objects.get(booking=booking)
        # The hold lasts exactly as long as the checkout, at least Stripe's 30 minutes.
        assert checkout.expires_at == booking.session.hold_expires_at
        stripe_expiry = standin.accounts[connected.secret_key].objects[session_id]["expires_at"]
        assert stripe_expiry == int(checkout.expires_at.timestamp())
    assert chosen not in first_slots(client, link)  # held: nobody else is offered it
    standin.pay(session_id)
    mail.outbox.clear()
    stripe_side.flush()
    with scopes_disabled():
        booking.refresh_from_db()
        session = booking.session
        session.refresh_from_db()
        assert booking.status == BookingStatus.CONFIRMED
        assert session.status == SessionStatus.SCHEDULED and session.consumes == Consumption.CREDIT
        assert credit_balance(session.engagement) == 0  # granted one, used one
        assert Purchase.objects.get(checkout=checkout).engagement == session.engagement
    invites = [m for m in mail.outbox if m.to == ["bo@example.net"] and m.attachments]
    assert invites, [m.subject for m in mail.outbox]


@pytest.mark.django_db
def test_an_expired_checkout_frees_the_held_slot(connected, standin, client, stripe_side):
    offer = make_offer(connected, kind="single_session", name="One session")
    link = paid_link(connected, offer)
    chosen = first_slots(client, link)[1]
    response = book_paid(client, link, chosen, name="Cy", email="cy@example.net")
    session_id = response["Location"].rsplit("/", 1)[-1]
    assert chosen not in first_slots(client, link)
    standin.checkout_expire(standin.accounts[connected.secret_key], session_id)
    stripe_side.flush()
    with scopes_disabled():
        booking = Booking.objects.get(client__email="cy@example.net")
        assert booking.status == BookingStatus.CANCELLED
        assert booking.session.status == SessionStatus.RELEASED
    assert chosen in first_slots(client, link)


@pytest.mark.django_db
def test_packages_only_for_new_clients_is_honoured(connected, client):
    with scopes_disabled():
        connected.practice.one_off_sessions_for_new_clients = False
        connected.practice.save(update_fields=["one_off_sessions_for_new_clients"])
    single = make_offer(connected, kind="single_session", name="One session")
    response = client.post(
        f"/buy/{single.practice.slug}/{single.public_id}/",
        {"name": "New", "email": "new@example.net"},
    )
    assert response.status_code == 400
    assert "start with a package" in response.content.decode()


@pytest.mark.django_db
def test_a_monthly_package_renews_fails_and_ends(connected, standin, client, stripe_side):
    offer = make_offer(
        connected,
        kind="monthly_package",
        name="Monthly coaching",
        price="300.00",
        hours_per_month="2",
        months=6,
        session_minutes=60,
    )
    session_id = buy(client, offer, email="dee@example.net")
    standin.pay(session_id)
    stripe_side.flush()
    account = standin.accounts[connected.secret_key]
    subscription_id = account.objects[session_id]["subscription"]
    with scopes_disabled():
        purchase = Purchase.objects.get(stripe_subscription_id=subscription_id)
        engagement = purchase.engagement
        assert engagement.kind == EngagementKind.MONTHLY_PACKAGE
        assert purchase.subscription_state == SubscriptionState.ACTIVE
        assert credit_balance(engagement) == 2  # 2 hours of 60-minute sessions
    standin.renew(subscription_id)
    stripe_side.flush()
    with scopes_disabled():
        assert credit_balance(engagement) == 4
    standin.renew(subscription_id, fail=True)
    stripe_side.flush()
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.subscription_state == SubscriptionState.PAST_DUE
    # The dashboard's purchases page shows it.
    owner_browser = login(connected.owner, connected.practice)
    assert "past due" in owner_browser.get("/billing/purchases/").content.decode()
    dashboard = owner_browser.get("/dashboard/").content.decode()
    assert "Payments needing attention" in dashboard and "payment failed" in dashboard
    with scopes_disabled():
        future = Session.objects.create(
            practice=connected.practice,
            engagement=engagement,
            coach=engagement.coach,
            client=engagement.client,
            title="Next",
            status=SessionStatus.SCHEDULED,
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=40),
            ends_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=40, hours=1),
        )
    standin.subscription_cancel(account, subscription_id)
    stripe_side.flush()
    with scopes_disabled():
        purchase.refresh_from_db()
        future.refresh_from_db()
        assert purchase.subscription_state == SubscriptionState.ENDED
        assert future.status == SessionStatus.CANCELLED
        assert credit_balance(engagement) == 0  # unused credits expired with the package


@pytest.mark.django_db
def test_a_partial_refund_after_use_revokes_only_unused_credits(
    connected, standin, client, stripe_side
):
    offer = make_offer(connected, kind="session_pack", name="Four", price="400.00", sessions=4)
    session_id = buy(client, offer, email="eve@example.net")
    standin.pay(session_id)
    stripe_side.flush()
    account = standin.accounts[connected.secret_key]
    with scopes_disabled():
        purchase = Purchase.objects.get(stripe_checkout_id=session_id)
        engagement = purchase.engagement
        # Three of the four sessions used.
        first = Session.objects.get(engagement=engagement)
        from sessions_app.ledger import credit_consume_for_session

        credit_consume_for_session(first)
        for number in range(2):
            extra = Session.objects.create(
                practice=engagement.practice,
                engagement=engagement,
                coach=engagement.coach,
                client=engagement.client,
                title=f"Used {number}",
                status=SessionStatus.COMPLETED,
            )
            credit_consume_for_session(extra)
        assert credit_balance(engagement) == 1
    [charge] = standin.charges(account)
    standin.refund(account, charge["id"], 20000)  # half the money back
    stripe_side.flush()
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.status == PurchaseStatus.PARTIALLY_REFUNDED
        assert credit_balance(engagement) == 0  # only the one unused credit is revoked
        revoked = CreditEntry.objects.filter(engagement=engagement, kind="revoke")
        assert [e.amount for e in revoked] == [-1]
    standin.refund(account, charge["id"], None)  # the rest
    stripe_side.flush()
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.status == PurchaseStatus.REFUNDED and purchase.amount_refunded == 40000
        assert credit_balance(engagement) == 0  # never negative
    standin.dispute(charge["id"])
    stripe_side.flush()
    with scopes_disabled():
        purchase.refresh_from_db()
        assert purchase.disputed and purchase.dispute_reason == "fraudulent"


@pytest.mark.django_db
def test_a_refund_before_its_purchase_is_known_waits_and_is_retried(
    connected, standin, client, stripe_side
):
    offer = make_offer(connected, kind="session_pack", name="Two", price="200.00", sessions=2)
    session_id = buy(client, offer, email="fay@example.net")
    standin.pay(session_id)
    paid = stripe_side.new_events()
    account = standin.accounts[connected.secret_key]
    [charge] = standin.charges(account)
    standin.refund(account, charge["id"], None)
    refund = stripe_side.new_events()
    stripe_side.send(refund)  # arrives first: no purchase to refund yet
    with scopes_disabled():
        event = StripeEvent.objects.get(type="charge.refunded")
        assert event.status == EventStatus.FAILED and "waiting for its checkout" in event.last_error
    stripe_side.send(paid)
    # What a worker's retry (or the admin's "process again") does:
    from billing.tasks import stripe_event_process

    stripe_event_process.delay(practice_id=event.practice_id, event_id=event.pk)
    with scopes_disabled():
        event.refresh_from_db()
        assert event.status == EventStatus.PROCESSED
        purchase = Purchase.objects.get(stripe_checkout_id=session_id)
        assert purchase.status == PurchaseStatus.REFUNDED
        assert credit_balance(purchase.engagement) == 0
        assert Client.objects.filter(email="fay@example.net").count() == 1


@pytest.mark.django_db
def test_a_paid_checkout_is_processed_in_a_fixed_number_of_statements(
    connected, standin, client, django_capture_on_commit_callbacks
):
    """The whole set-up (client, engagement, checklist, collection, session, purchase,
    payment, credits, audit trail) in a fixed budget of statements: checklist steps
    and audit entries are one INSERT each, not one per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.events import event_process
    from coachhub.models import AuditEntry
    from coachhub.tenancy import practice_scope
    from engagements.models import ChecklistStep

    offer = make_offer(connected, kind="session_pack", name="Three", price="300.00", sessions=3)
    session_id = buy(client, offer)
    standin.pay(session_id)
    [paid] = [
        e
        for e in standin.accounts[connected.secret_key].events
        if e["type"] == "checkout.session.completed"
    ]
    with django_capture_on_commit_callbacks(execute=False):  # stored, not yet processed
        response = deliver(client, connected.practice, paid, connected.webhook_secret)
    assert response.status_code == 200
    with scopes_disabled():
        event = StripeEvent.objects.get(stripe_id=paid["id"])
    with practice_scope(connected.practice), CaptureQueriesContext(connection) as statements:
        assert event_process(event_id=event.pk) == EventStatus.PROCESSED
    inserts = [q["sql"] for q in statements.captured_queries if q["sql"].startswith("INSERT")]
    assert sum('"engagements_checkliststep"' in sql for sql in inserts) == 1
    assert sum('"coachhub_auditentry"' in sql for sql in inserts) == 1
    # 27 with the claim (one committed UPDATE before the handler's transaction), which
    # lets the recovery sweep tell a live worker's event from a dead one's; 28 since the
    # set-up reads the practice's Slack connection (once) to decide its Slack steps.
    assert len(statements.captured_queries) <= 28, "\n".join(
        q["sql"][:120] for q in statements.captured_queries
    )
    with scopes_disabled():
        purchase = Purchase.objects.get(checkout__stripe_id=session_id)
        actions = set(
            AuditEntry.objects.filter(practice=connected.practice).values_list("action", flat=True)
        )
        assert {"client.create", "engagement.create", "session.create", "purchase.create"} <= (
            actions
        )
        steps = dict(
            ChecklistStep.objects.filter(engagement=purchase.engagement).values_list("key", "state")
        )
    assert steps == {
        "client": "done",
        "slack_invite": "not_applicable",
        "collection": "done",
        "slack_channel": "not_applicable",
        "first_session": "done",
        "session_url": "done",
        "calendar_invite": "pending",
    }


@pytest.mark.django_db
def test_a_payment_for_a_coach_who_has_since_left_is_still_recorded(
    connected, standin, client, stripe_side
):
    """The money is taken whatever happened to the coach meanwhile: the purchase and its
    records must exist (for the owner to hand over), not fail until the event is dead."""
    from coachhub.models import Membership

    offer = make_offer(connected, kind="session_pack", name="Five sessions", sessions=5)
    session_id = buy(client, offer, email="late@example.net")
    with scopes_disabled():
        Membership.objects.filter(practice=connected.practice, user=offer.coach).delete()
    standin.pay(session_id)
    stripe_side.flush()
    with scopes_disabled():
        delivered = StripeEvent.objects.filter(stripe_id__in=stripe_side.delivered_ids)
        assert {event.status for event in delivered} == {EventStatus.PROCESSED}
        purchase = Purchase.objects.get(checkout__stripe_id=session_id)
        owner = connected.practice.memberships.get(role="owner").user
        assert purchase.client.email == "late@example.net"
        assert purchase.client.coach == owner and purchase.engagement.coach == owner
        assert credit_balance(purchase.engagement) == 5
        assert Session.objects.filter(engagement=purchase.engagement).count() == 1
    # The offer is no longer on sale: a new buyer is told so, nothing reaches Stripe.
    response = client.post(
        f"/buy/{offer.practice.slug}/{offer.public_id}/",
        {"name": "Next", "email": "next@example.net"},
    )
    assert response.status_code == 400
    assert "no longer on sale" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["session_pack", "monthly_package"])
def test_a_payment_the_rules_refuse_to_set_up_is_recorded_and_shown_to_the_owner(
    kind, connected, standin, client, stripe_side, world
):
    """The buyer is given a company seat between opening the checkout and paying: seat
    clients buy no offers, so nothing is set up — but the money is recorded, the event
    is done, and the owner is told what to do (refund or arrange it)."""
    from engagements import services as engagement_services

    fields = {"hours_per_month": "2", "months": 3, "session_minutes": 60}
    offer = make_offer(
        connected,
        kind=kind,
        name="The package",
        price="300.00",
        **({"sessions": 5} if kind == "session_pack" else fields),
    )
    session_id = buy(client, offer, email="raced@example.net", name="Ray Raced")
    with scopes_disabled():
        practice = connected.practice
        buyer = engagement_services.client_create(
            practice=practice, actor=connected.owner, name="Ray Raced", email="raced@example.net"
        )
        engagement_services.seat_assign(
            practice=practice,
            actor=connected.owner,
            contract=world.home.objects["contract"],
            client=buyer,
            coach=connected.coach,
        )
    standin.pay(session_id)
    if kind == "monthly_package":
        subscription = standin.accounts[connected.secret_key].objects[session_id]["subscription"]
        standin.renew(subscription)
    mail.outbox.clear()
    stripe_side.flush()
    with scopes_disabled():
        delivered = StripeEvent.objects.filter(stripe_id__in=stripe_side.delivered_ids)
        assert {event.status for event in delivered} == {EventStatus.PROCESSED}
        purchase = Purchase.objects.get(client=buyer)
        assert purchase.engagement is None and "company seat" in purchase.setup_refused
        assert not CreditEntry.objects.filter(client=buyer).exists()
        assert purchase.payments.count() == (1 if kind == "session_pack" else 2)
    [receipt] = [m for m in mail.outbox if m.to == ["raced@example.net"]]
    assert "will contact you" in receipt.body
    client.force_login(connected.owner)
    dashboard = client.get("/dashboard/").content.decode()
    assert "paid, not set up" in dashboard and "Ray Raced" in dashboard
    assert "Refund it in Stripe" in client.get("/billing/purchases/").content.decode()
