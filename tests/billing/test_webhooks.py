"""Webhook ingestion: signed exactly as Stripe signs, verified with the practice's own
secret by Stripe's library; anything else is a 400 with nothing stored."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from billing.models import EventStatus, StripeEvent

from ..kit.stripe import connect, deliver


def stripe_event(event_type: str = "customer.created", **data) -> dict:
    """An event in Stripe's documented envelope."""
    return {
        "id": f"evt_{time.time_ns()}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": int(time.time()),
        "data": {"object": {"id": "cus_123", "object": "customer", **data}},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def stored(practice) -> list[StripeEvent]:
    with scopes_disabled():
        return list(StripeEvent.objects.filter(practice=practice, source="webhook"))


@pytest.mark.django_db
def test_a_good_delivery_is_stored_once_and_an_unknown_type_is_ignored(
    connected, client, django_capture_on_commit_callbacks
):
    event = stripe_event("customer.created")
    with django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, connected.practice, event, connected.webhook_secret)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    again = deliver(client, connected.practice, event, connected.webhook_secret)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    [row] = stored(connected.practice)
    assert row.stripe_id == event["id"] and row.payload == event
    assert row.status == EventStatus.IGNORED  # not a type we act on: kept, no effect


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    [
        "bad_signature",
        "stale",
        "future",
        "wrong_practice_secret",
        "malformed_json",
        "no_signature",
        "unsigned_secret_missing",
    ],
)
def test_bad_deliveries_are_400_and_store_nothing(case, world, connected, standin, client):
    event = stripe_event()
    secret = connected.webhook_secret
    kwargs = {}
    if case == "bad_signature":
        kwargs["signature"] = f"t={int(time.time())},v1={'0' * 64}"
    elif case == "stale":
        kwargs["timestamp"] = int(time.time()) - 301
    elif case == "future":
        kwargs["timestamp"] = int(time.time()) + 400
    elif case == "wrong_practice_secret":
        secret = connect(
            world.other.practice, world.other.owner, standin, suffix="other"
        ).webhook_secret
    elif case == "malformed_json":
        event = b'{"id": "evt_1", "type": '
    elif case == "no_signature":
        kwargs["signature"] = ""
    elif case == "unsigned_secret_missing":
        with scopes_disabled():
            connected.account.webhook_secret = ""
            connected.account.save()
    response = deliver(client, connected.practice, event, secret, **kwargs)
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert stored(connected.practice) == []


@pytest.mark.django_db
def test_a_signature_within_tolerance_is_accepted(connected, client):
    response = deliver(
        client,
        connected.practice,
        stripe_event(),
        connected.webhook_secret,
        timestamp=int(time.time()) - 250,
    )
    assert response.status_code == 200


@pytest.mark.django_db
def test_an_unknown_practice_is_404(connected, client):
    import uuid

    response = client.post(
        f"/webhooks/stripe/{uuid.uuid4()}/", data=b"{}", content_type="application/json"
    )
    assert response.status_code == 404


@pytest.mark.django_db
def test_ingestion_costs_at_most_three_queries_and_no_outbound_call(connected, standin, client):
    calls_before = standin.requests
    event = stripe_event("invoice.paid")
    # Processing is enqueued after commit, which the test transaction never reaches:
    # what is counted here is the request alone.
    with CaptureQueriesContext(connection) as queries:
        response = deliver(client, connected.practice, event, connected.webhook_secret)
    assert response.status_code == 200
    # Savepoints are transaction control of the test's own transaction (a real
    # request runs in autocommit, where they are a BEGIN/COMMIT), not queries.
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) <= 3, [sql[:80] for sql in statements]
    assert standin.requests == calls_before  # nothing asked of Stripe while answering
