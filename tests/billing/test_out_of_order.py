"""Events arrive twice, late and out of order: whatever the order, once every event has
been processed (with the retries a worker would make), the records are the same."""

from __future__ import annotations

import os
import random

import pytest
from django.db import transaction
from django_scopes import scopes_disabled

from billing.models import EventStatus, Payment, Purchase, StripeEvent
from billing.tasks import stripe_event_process
from engagements.models import Client, Engagement
from sessions_app.ledger import credit_balance
from sessions_app.models import CreditEntry, Session

from ..kit.stripe import buy, deliver, make_offer


def _whole_subscription(standin, connected, client) -> list[dict]:
    """A monthly package bought, renewed, a failed payment, paid again, refunded."""
    offer = make_offer(
        connected,
        kind="monthly_package",
        name="Monthly",
        price="300.00",
        hours_per_month="2",
        months=3,
        session_minutes=60,
    )
    session_id = buy(client, offer, email="gus@example.net")
    standin.pay(session_id)
    account = standin.accounts[connected.secret_key]
    subscription_id = account.objects[session_id]["subscription"]
    standin.renew(subscription_id, fail=True)
    standin.renew(subscription_id)
    [first_charge, *_] = standin.charges(account)
    standin.refund(account, first_charge["id"], 10000)
    return list(account.events)


def _end_state(practice) -> dict:
    with scopes_disabled():
        purchases = list(Purchase.objects.filter(client__email="gus@example.net"))
        engagement_ids = [p.engagement_id for p in purchases]
        return {
            "purchases": [
                (p.stripe_subscription_id != "", p.amount_refunded, p.status, p.subscription_state)
                for p in purchases
            ],
            "clients": Client.objects.filter(email="gus@example.net").count(),
            "engagements": Engagement.objects.filter(pk__in=engagement_ids).count(),
            "sessions": Session.objects.filter(engagement_id__in=engagement_ids).count(),
            # Per kind, the credits moved (a revocation may be recorded in two steps).
            "ledger": {
                kind: sum(
                    e.amount
                    for e in CreditEntry.objects.filter(engagement_id__in=engagement_ids, kind=kind)
                )
                for kind in ("grant", "consume", "restore", "expire", "revoke")
            },
            "balance": sum(credit_balance(Engagement.objects.get(pk=pk)) for pk in engagement_ids),
            "payments": Payment.objects.filter(purchase__in=purchases).count(),
        }


def _deliver_all(client, connected, events, capture) -> None:
    for event in events:
        with capture(execute=True):
            assert (
                deliver(client, connected.practice, event, connected.webhook_secret).status_code
                == 200
            )


def _retry_failed_until_done(capture) -> None:
    """What the worker's retries do: run failed events again until nothing changes."""
    for _ in range(5):
        with scopes_disabled():
            failed = list(
                StripeEvent.objects.filter(status=EventStatus.FAILED).values_list(
                    "practice_id", "pk"
                )
            )
        if not failed:
            return
        for practice_id, event_id in failed:
            with capture(execute=True):
                stripe_event_process.delay(practice_id=practice_id, event_id=event_id)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(int(os.environ.get("SHUFFLE_SEEDS", "6"))))
def test_shuffled_duplicated_delivery_ends_like_in_order(
    seed, world, connected, standin, client, django_capture_on_commit_callbacks
):
    events = _whole_subscription(standin, connected, client)
    types = [e["type"] for e in events]
    assert {"checkout.session.completed", "invoice.paid", "invoice.payment_failed"} <= set(types)
    assert {"customer.subscription.created", "customer.subscription.updated"} <= set(types)
    assert "charge.refunded" in types

    # In order, once: the reference end state.
    sid = transaction.savepoint()
    _deliver_all(client, connected, events, django_capture_on_commit_callbacks)
    in_order = _end_state(connected.practice)
    transaction.savepoint_rollback(sid)
    assert in_order["purchases"] and in_order["balance"] >= 0

    # Shuffled, with a fifth of them delivered twice.
    rng = random.Random(seed)
    shuffled = events + rng.sample(events, k=max(1, len(events) // 5))
    rng.shuffle(shuffled)
    _deliver_all(client, connected, shuffled, django_capture_on_commit_callbacks)
    _retry_failed_until_done(django_capture_on_commit_callbacks)
    assert _end_state(connected.practice) == in_order
    with scopes_disabled():
        assert StripeEvent.objects.filter(
            practice=connected.practice, source="webhook"
        ).count() == len(events)
        assert not StripeEvent.objects.filter(status=EventStatus.FAILED).exists()
