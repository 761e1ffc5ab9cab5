"""Whole purchase lifecycles played at the Stripe stand-in, their events processed as the
webhook and the worker do, and the end state a practice's owner and buyers would see —
shared by the shuffled replays (tests/billing/test_event_orders.py) and the replay with a
killed worker (tests/billing/test_replay_killed.py)."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import transaction
from django_scopes import scopes_disabled

from billing.events import event_store
from billing.models import EventSource, EventStatus, Payment, Purchase, StripeEvent
from billing.tasks import stripe_event_process
from sessions_app.ledger import credit_balance

from .stripe import buy

# The stories `lifecycles_play` tells, by the start of each buyer's e-mail address.
BUYERS = ("now", "later", "disputed", "refunded", "pack")


def events_process(practice, events: list[dict], capture) -> None:
    """Store and process each delivery as the webhook and the worker do, then run what
    failed again (the worker's retries) until nothing is left to retry."""
    for event in events:
        with capture(execute=True), transaction.atomic():
            event_store(practice_id=practice.pk, data=event, source=EventSource.WEBHOOK)
    for _ in range(6):
        with scopes_disabled():
            failed = list(
                StripeEvent.objects.filter(practice=practice, status=EventStatus.FAILED)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
        if not failed:
            return
        for event_id in failed:
            with capture(execute=True):
                stripe_event_process.delay(practice_id=practice.pk, event_id=event_id)


def end_state(practice) -> dict:
    """What the owner and the buyers would see: per purchase, its money, dispute, state
    and payments, and the credits its engagement has left; and any event left failing."""
    with scopes_disabled():
        purchases = {}
        for purchase in Purchase.objects.filter(practice=practice).select_related(
            "client", "engagement"
        ):
            purchases[purchase.client.email] = {
                "status": purchase.status,
                "amount_refunded": purchase.amount_refunded,
                "disputed": purchase.disputed,
                "subscription_state": purchase.subscription_state,
                "paid_at": purchase.paid_at,
                "payments": sorted(
                    Payment.objects.filter(purchase=purchase).values_list(
                        "stripe_id", "amount", "paid_at"
                    )
                ),
                "balance": credit_balance(purchase.engagement) if purchase.engagement else None,
                "engagement_status": purchase.engagement.status if purchase.engagement else None,
            }
        stuck = list(
            StripeEvent.objects.filter(practice=practice, source=EventSource.WEBHOOK)
            .exclude(status__in=[EventStatus.PROCESSED, EventStatus.IGNORED])
            .values_list("type", "last_error")
        )
    return {"purchases": purchases, "stuck": stuck}


@contextmanager
def rolled_back():
    """Everything done inside is undone at the end. Marked as a test case's own
    transaction, as Django's TestCase marks its own, so that the services' durable units
    of work run inside it (for tests on committed data, where a real worker needs them)."""
    atomic = transaction.atomic()
    atomic._from_testcase = True
    atomic.__enter__()
    try:
        yield
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


def customer_charges(account, customer: str) -> list[dict]:
    return [
        charge
        for charge in account.objects.values()
        if charge.get("object") == "charge" and charge["customer"] == customer
    ]


def lifecycles_play(standin, account, client, *, monthly, pack, tag: str = "") -> None:
    """Five buyers' stories at the stand-in (their events are kept in `account.events`):
    a package cancelled at once; one cancelled after two renewals; one whose renewal is
    disputed; one refunded in part after it was cancelled; a package of sessions refunded
    in two steps. `tag` goes into the buyers' addresses (now<tag>@example.net …)."""

    def subscribe(email: str) -> tuple[str, str]:
        session = account.objects[buy(client, monthly, email=email, name=email[:3])]
        standin.pay(session["id"])
        return session["subscription"], session["customer"]

    subscription, _ = subscribe(f"now{tag}@example.net")
    standin.subscription_cancel(account, subscription)

    subscription, _ = subscribe(f"later{tag}@example.net")
    standin.renew(subscription)
    standin.renew(subscription)
    standin.subscription_cancel(account, subscription)

    subscription, customer = subscribe(f"disputed{tag}@example.net")
    standin.renew(subscription)
    standin.dispute(customer_charges(account, customer)[-1]["id"])

    subscription, customer = subscribe(f"refunded{tag}@example.net")
    standin.renew(subscription)
    standin.subscription_cancel(account, subscription)
    standin.refund(account, customer_charges(account, customer)[0]["id"], 10000)

    session = account.objects[buy(client, pack, email=f"pack{tag}@example.net", name="Pat")]
    standin.pay(session["id"])
    [charge] = customer_charges(account, session["customer"])
    standin.refund(account, charge["id"], 15000)
    standin.refund(account, charge["id"], None)
