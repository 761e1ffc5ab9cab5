"""Reconciliation: events Stripe kept but never delivered are taken in and processed."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_scopes import scopes_disabled

from billing.models import EventSource, Purchase, StripeEvent

from ..kit.stripe import buy, make_offer


@pytest.mark.django_db
def test_missed_events_are_listed_from_stripe_and_processed_once(
    connected, standin, client, django_capture_on_commit_callbacks
):
    offer = make_offer(connected, kind="session_pack", name="Three", price="300.00", sessions=3)
    session_id = buy(client, offer, email="hal@example.net")
    standin.pay(session_id)  # the webhook never arrives
    with django_capture_on_commit_callbacks(execute=True):
        call_command("stripe_reconcile", practice=connected.practice.slug)
    with scopes_disabled():
        purchase = Purchase.objects.get(stripe_checkout_id=session_id)
        assert purchase.client.email == "hal@example.net"
        reconciled = StripeEvent.objects.filter(
            source=EventSource.RECONCILE, practice=connected.practice
        )
        assert reconciled.filter(type="checkout.session.completed").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        call_command("stripe_reconcile", practice=connected.practice.slug)  # again: nothing new
    with scopes_disabled():
        assert Purchase.objects.filter(stripe_checkout_id=session_id).count() == 1
        assert (
            StripeEvent.objects.filter(
                practice=connected.practice, type="checkout.session.completed"
            ).count()
            == 1
        )
