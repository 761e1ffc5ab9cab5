"""A team workshop's buyer chooses how many people come, within its capacity; a workshop
priced per participant charges each of them (the Checkout line item's quantity)."""

from __future__ import annotations

import urllib.request

import pytest
from django_scopes import scopes_disabled

from billing.models import Checkout, Purchase

from ..kit.stripe import deliver, make_offer

pytestmark = pytest.mark.django_db


def _workshop(connected, pricing: str):
    return make_offer(
        connected,
        kind="team_workshop",
        name="Team offsite",
        price="100.00",
        capacity=8,
        session_minutes=120,
        workshop_pricing=pricing,
    )


def _buy(client, offer, places):
    return client.post(
        offer.get_absolute_url(),
        {"name": "Tia Team", "email": "tia@example.net", "tz": "Europe/Paris", "places": places},
    )


def _pay(standin, connected, client, capture, session_id: str) -> None:
    standin.pay(session_id)
    for event in standin.accounts[connected.secret_key].events:
        with capture(execute=True):
            assert (
                deliver(client, connected.practice, event, connected.webhook_secret).status_code
                == 200
            )


def test_per_participant_pricing_charges_each_place_and_the_purchase_records_them(
    connected, standin, client, django_capture_on_commit_callbacks
):
    offer = _workshop(connected, "per_seat")
    page = client.get(offer.get_absolute_url()).content.decode()
    assert "per participant" in page and 'name="places"' in page and 'max="8"' in page
    response = _buy(client, offer, 3)
    assert response.status_code == 302
    session_id = response["Location"].rsplit("/", 1)[-1]
    stripe_session = standin.accounts[connected.secret_key].objects[session_id]
    assert stripe_session["_quantity"] == 3 and stripe_session["amount_total"] == 30000
    with urllib.request.urlopen(response["Location"]) as hosted:  # the stand-in's page
        assert "3 × " in hosted.read().decode()
    _pay(standin, connected, client, django_capture_on_commit_callbacks, session_id)
    with scopes_disabled():
        purchase = Purchase.objects.get(client__email="tia@example.net")
        assert purchase.places == 3 and purchase.amount_total == 30000


def test_a_group_price_is_charged_once_whatever_the_number_of_people(
    connected, standin, client, django_capture_on_commit_callbacks
):
    offer = _workshop(connected, "per_group")
    response = _buy(client, offer, 5)
    assert response.status_code == 302
    session_id = response["Location"].rsplit("/", 1)[-1]
    stripe_session = standin.accounts[connected.secret_key].objects[session_id]
    assert stripe_session["_quantity"] == 1 and stripe_session["amount_total"] == 10000
    _pay(standin, connected, client, django_capture_on_commit_callbacks, session_id)
    with scopes_disabled():
        assert Purchase.objects.get(client__email="tia@example.net").places == 5


def test_more_people_than_the_workshop_takes_is_refused_clearly(connected, standin, client):
    offer = _workshop(connected, "per_seat")
    response = _buy(client, offer, 9)
    assert response.status_code == 400
    assert "takes up to 8 participants" in response.content.decode()
    with scopes_disabled():
        assert not Checkout.objects.filter(offer=offer).exists()


def test_a_single_session_has_no_number_of_people_to_choose(connected, standin, client):
    offer = make_offer(connected, kind="single_session", name="One", price="80.00")
    assert 'name="places"' not in client.get(offer.get_absolute_url()).content.decode()
