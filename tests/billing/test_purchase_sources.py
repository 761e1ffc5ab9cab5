"""Sessions a purchase creates say so (source "Stripe purchase"), and paying turns a lead
(someone who had an intro call) into an active client."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from billing.models import Purchase
from engagements.models import Client, ClientStatus
from sessions_app.models import Session, SessionSource

from ..kit.booking import book, first_slots, open_all_week
from ..kit.stripe import buy, deliver, make_offer

pytestmark = pytest.mark.django_db


def _pay_and_deliver(standin, connected, client, capture, session_id: str) -> None:
    standin.pay(session_id)
    for event in standin.accounts[connected.secret_key].events:
        with capture(execute=True):
            response = deliver(client, connected.practice, event, connected.webhook_secret)
        assert response.status_code == 200


def test_a_purchase_s_sessions_are_marked_as_coming_from_it_and_a_lead_becomes_active(
    connected, standin, client, django_capture_on_commit_callbacks
):
    link = open_all_week(connected.practice, connected.coach, title="Free intro call")
    assert (
        book(client, link, first_slots(client, link)[0], email="lee@example.net").status_code == 302
    )
    with scopes_disabled():
        assert Client.objects.get(email="lee@example.net").status == ClientStatus.LEAD
    offer = make_offer(connected, kind="session_pack", name="Five", sessions=5, price="450.00")
    session_id = buy(client, offer, email="lee@example.net", name="Lee")
    _pay_and_deliver(standin, connected, client, django_capture_on_commit_callbacks, session_id)
    with scopes_disabled():
        purchase = Purchase.objects.get(client__email="lee@example.net")
        assert purchase.client.status == ClientStatus.ACTIVE
        (first,) = Session.objects.filter(engagement=purchase.engagement)
        assert first.source == SessionSource.STRIPE_PURCHASE


def test_a_bought_workshop_s_session_comes_from_the_purchase(
    connected, standin, client, django_capture_on_commit_callbacks
):
    offer = make_offer(
        connected,
        kind="team_workshop",
        name="Offsite",
        price="900.00",
        capacity=8,
        session_minutes=120,
    )
    session_id = buy(client, offer, email="buyer@example.net")
    _pay_and_deliver(standin, connected, client, django_capture_on_commit_callbacks, session_id)
    with scopes_disabled():
        purchase = Purchase.objects.get(client__email="buyer@example.net")
        sessions = Session.objects.filter(engagement=purchase.engagement)
        assert sessions and {s.source for s in sessions} == {SessionSource.STRIPE_PURCHASE}
