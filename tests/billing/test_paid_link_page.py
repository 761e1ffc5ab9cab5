"""A paid booking link says what it costs, and whether it can take payment at all, before
the visitor fills anything in; the buy link gives a contact when it cannot take payment."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from billing import services
from sessions_app.services import booking_link_save

from ..kit.booking import book, first_slots, open_all_week
from ..kit.stripe import make_offer, paid_link

pytestmark = pytest.mark.django_db


def _before_first_form(html: str) -> str:
    return html.split("<form", 1)[0]


def _confirm_page(client, link, chosen: str) -> str:
    start = chosen.replace("+", "%2B")
    response = client.get(
        f"/book/{link.practice.slug}/{link.slug}/confirm/?start={start}&tz=Asia/Tokyo"
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_price_and_currency_are_on_the_page_and_the_confirm_step(connected, client):
    offer = make_offer(connected, kind="single_session", name="One session", price="120.00")
    link = paid_link(connected, offer)
    page = client.get(link.get_absolute_url() + "?tz=Asia/Tokyo").content.decode()
    currency = connected.practice.currency
    assert f"120.00 {currency}" in _before_first_form(page)
    chosen = first_slots(client, link)[0]
    confirm = _confirm_page(client, link, chosen)
    assert f"120.00 {currency}" in _before_first_form(confirm)
    assert "not set up" not in confirm


def test_a_package_link_says_how_many_sessions_its_price_buys(connected, client):
    offer = make_offer(connected, kind="session_pack", name="Five", sessions=5, price="500.00")
    link = paid_link(connected, offer)
    page = client.get(link.get_absolute_url()).content.decode()
    assert "500.00" in page and "for 5 sessions" in page


def test_without_stripe_the_page_says_so_with_the_owners_address_before_any_form(world, client):
    home = world.home
    with scopes_disabled():
        offer = services.offer_save(
            practice=home.practice,
            actor=home.owner,
            kind="single_session",
            name="One session",
            price="90.00",
            coach=home.coach,
        )
    link = open_all_week(home.practice, home.coach, requires_payment=True)
    with scopes_disabled():
        link = booking_link_save(practice=home.practice, actor=home.coach, link=link, offer=offer)
    page = _before_first_form(client.get(link.get_absolute_url()).content.decode())
    assert "90.00" in page
    assert "online payment is not set up" in page
    assert f"mailto:{home.owner.email}" in page
    chosen = first_slots(client, link)[0]
    confirm = _before_first_form(_confirm_page(client, link, chosen))
    assert "online payment is not set up" in confirm and home.owner.email in confirm
    # A visitor who sends the form anyway is told the same, address included.
    refused = book(client, link, chosen)
    assert refused.status_code == 400
    assert f"To book it, write to {home.owner.email}" in refused.content.decode()


def test_a_paid_link_without_a_price_or_with_an_offer_off_sale_says_so(connected, client):
    offer = make_offer(connected, kind="single_session", name="One session", price="120.00")
    link = paid_link(connected, offer)
    with scopes_disabled():
        services.offer_save(
            practice=connected.practice, actor=connected.owner, offer=offer, is_active=False
        )
    page = _before_first_form(client.get(link.get_absolute_url()).content.decode())
    assert "no longer on sale" in page and connected.owner.email in page
    with scopes_disabled():
        link.offer = None
        link.save(update_fields=["offer"])
    page = _before_first_form(client.get(link.get_absolute_url()).content.decode())
    assert "price is not set up yet" in page


def test_the_buy_link_without_stripe_names_whom_to_write_to(world, client):
    home = world.home
    with scopes_disabled():
        offer = services.offer_save(
            practice=home.practice,
            actor=home.owner,
            kind="single_session",
            name="One session",
            price="90.00",
            coach=home.coach,
        )
    page = client.get(offer.get_absolute_url()).content.decode()
    assert "Online payment is not set up" in page and f"mailto:{home.owner.email}" in page
