"""The billing API: offers (with their Stripe Product and Price), checkouts refused for
the same reasons as the buy link — above all the "packages only for new clients"
policy — and purchases, each member seeing what the pages show them."""

from __future__ import annotations

import json

import pytest
from django_scopes import scopes_disabled

from billing.models import Checkout, Offer
from coachhub.models import Membership
from coachhub.services import api_token_create

from ..kit.http import token_client
from ..kit.stripe import make_offer

pytestmark = pytest.mark.django_db


def api_as(connected, role: str = "owner"):
    member = {"owner": connected.owner, "coach": connected.coach}.get(role)
    if member is None:
        with scopes_disabled():
            member = Membership.objects.get(practice=connected.practice, role=role).user
    _, key = api_token_create(practice=connected.practice, user=member)
    return token_client(key)


def post(api, url: str, data: dict):
    return api.post(url, data=json.dumps(data), content_type="application/json")


def packages_only(connected) -> None:
    with scopes_disabled():
        connected.practice.one_off_sessions_for_new_clients = False
        connected.practice.save(update_fields=["one_off_sessions_for_new_clients"])


def test_an_offer_made_through_the_api_gets_its_stripe_product_and_price(connected, standin):
    api = api_as(connected, "coach")
    created = post(
        api,
        "/api/v1/offers/",
        {"kind": "session_pack", "name": "Five sessions", "price": "500.00", "sessions": 5},
    )
    assert created.status_code == 201, created.content
    offer = created.json()
    assert offer["coach"] == connected.coach.pk and offer["currency"] == connected.practice.currency
    assert offer["stripe_product_id"].startswith("prod_")
    assert offer["stripe_price_id"].startswith("price_")
    assert offer["credits_per_period"] == 5
    assert offer["buy_url"].endswith(f"/buy/{connected.practice.slug}/{offer['public_id']}/")

    # A new price makes a new Stripe Price; retiring the offer is a PATCH.
    changed = api.patch(
        f"/api/v1/offers/{offer['id']}/",
        data=json.dumps({"price": "550.00", "is_active": False}),
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["stripe_price_id"] != offer["stripe_price_id"]
    assert changed.json()["is_active"] is False

    # The model's rules answer with field messages.
    bad = post(api, "/api/v1/offers/", {"kind": "monthly_package", "name": "M", "price": "90"})
    assert bad.status_code == 400
    assert "hours per month" in bad.json()["hours_per_month"][0]


def test_assistants_read_offers_but_do_not_change_them(connected):
    make_offer(connected)
    api = api_as(connected, "assistant")
    assert api.get("/api/v1/offers/").json()["count"] >= 1
    refused = post(api, "/api/v1/offers/", {"kind": "single_session", "name": "X", "price": "9"})
    assert refused.status_code == 403


def test_packages_only_for_new_clients_holds_in_the_api(connected, standin, world):
    packages_only(connected)
    single = make_offer(connected, kind="single_session", name="One session")
    pack = make_offer(connected, kind="session_pack", name="Five", price="500.00", sessions=5)
    api = api_as(connected)

    # Listing what a buyer may buy: a new client sees no single session; a returning
    # client (one who has bought before) does.
    new = api.get("/api/v1/offers/", {"buyer_email": "new@example.net"}).json()["results"]
    assert {row["id"] for row in new} >= {pack.pk} and single.pk not in {row["id"] for row in new}
    returning = world.home.objects["client"].email
    again = api.get("/api/v1/offers/", {"buyer_email": returning}).json()["results"]
    assert single.pk in {row["id"] for row in again}

    # Starting a checkout: refused for the new client with its reason and code …
    refused = post(
        api, "/api/v1/checkouts/", {"offer": single.pk, "name": "New", "email": "new@example.net"}
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "packages_only"
    assert "start with a package" in refused.json()["detail"][0]
    with scopes_disabled():
        assert not Checkout.objects.filter(email="new@example.net").exists()

    # … while the package opens Stripe's hosted page, and the returning client may buy one.
    opened = post(
        api, "/api/v1/checkouts/", {"offer": pack.pk, "name": "New", "email": "New@Example.net"}
    )
    assert opened.status_code == 201, opened.content
    checkout = opened.json()
    assert checkout["status"] == "open" and checkout["email"] == "new@example.net"
    assert checkout["url"].startswith(standin.base_url)
    assert api.get(f"/api/v1/checkouts/{checkout['id']}/").json()["url"] == checkout["url"]
    assert (
        post(
            api, "/api/v1/checkouts/", {"offer": single.pk, "name": "Back", "email": returning}
        ).status_code
        == 201
    )


def test_a_seat_client_is_offered_nothing_and_cannot_check_out(connected, world):
    offer = make_offer(connected)
    seat_client = world.home.objects["seat_client"]
    api = api_as(connected)
    listed = api.get("/api/v1/offers/", {"buyer_email": seat_client.email}).json()
    assert listed["count"] == 0
    refused = post(
        api,
        "/api/v1/checkouts/",
        {"offer": offer.pk, "name": seat_client.name, "email": seat_client.email},
    )
    assert refused.status_code == 400 and "company seat" in refused.json()["detail"][0]


def test_without_stripe_a_checkout_says_payments_are_not_connected(world):
    with scopes_disabled():
        offer = Offer.objects.get(practice=world.home.practice)
    _, key = api_token_create(practice=world.home.practice, user=world.home.owner)
    refused = post(
        token_client(key),
        "/api/v1/checkouts/",
        {"offer": offer.pk, "name": "A", "email": "a@example.net"},
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "payments_not_connected"


def test_purchases_are_read_only_and_coaches_see_what_their_offers_sold(connected, world):
    owner_view = api_as(connected).get("/api/v1/purchases/").json()
    [purchase] = owner_view["results"]
    assert purchase["credits_left"] == 5 and purchase["amount"] == "450.00"
    assert purchase["offer_name"].endswith("Five sessions")
    # The world's purchase was sold by an offer of the world's coach, not of a new coach.
    from coachhub.models import Role

    from ..kit.factories import MembershipFactory, UserFactory

    other_coach = UserFactory()
    MembershipFactory(practice=connected.practice, user=other_coach, role=Role.COACH)
    _, key = api_token_create(practice=connected.practice, user=other_coach)
    assert token_client(key).get("/api/v1/purchases/").json()["count"] == 0
    refused = post(api_as(connected), "/api/v1/purchases/", {"offer": 1})
    assert refused.status_code == 405
    # Ordering by a computed column works; by one that is not offered is ignored (not a 500).
    for ordering in ("-credits_left", "amount", "offer_name"):
        listed = api_as(connected).get("/api/v1/purchases/", {"ordering": ordering})
        assert listed.status_code == 200 and listed.json()["count"] == 1


def test_a_booking_link_sells_an_offer_of_its_own_practice_only(connected, world):
    pack = make_offer(connected, kind="session_pack", name="Five", price="500.00", sessions=5)
    workshop = make_offer(
        connected, kind="team_workshop", name="Workshop", price="900.00", capacity=8
    )
    api = api_as(connected, "coach")
    link = post(
        api,
        "/api/v1/booking-links/",
        {"slug": "paid", "title": "Paid", "requires_payment": True, "offer": pack.pk},
    )
    assert link.status_code == 201, link.content
    assert link.json()["offer"] == pack.pk
    with scopes_disabled():
        others = Offer.objects.get(practice=world.other.practice)
    for offer, message in ((others.pk, "does not exist"), (workshop.pk, "single session or")):
        refused = post(
            api,
            "/api/v1/booking-links/",
            {"slug": f"x{offer}", "title": "X", "requires_payment": True, "offer": offer},
        )
        assert refused.status_code == 400 and message in json.dumps(refused.json())


def test_an_offer_whose_coach_left_is_not_on_sale(connected):
    offer = make_offer(connected, kind="session_pack", name="Five", sessions=5)
    api = api_as(connected)
    listed = api.get("/api/v1/offers/", {"buyer_email": "new@example.net"}).json()["results"]
    assert offer.pk in {row["id"] for row in listed}
    with scopes_disabled():
        Membership.objects.filter(practice=connected.practice, user=offer.coach).update(
            role="assistant"
        )
    listed = api.get("/api/v1/offers/", {"buyer_email": "new@example.net"}).json()["results"]
    assert offer.pk not in {row["id"] for row in listed}
    refused = post(
        api, "/api/v1/checkouts/", {"offer": offer.pk, "name": "New", "email": "new@example.net"}
    )
    assert refused.status_code == 400 and "no longer on sale" in refused.json()["detail"][0]
