"""When Stripe cannot be reached or refuses, the dashboard says so in plain words (what
happened, what was and was not done, what to do), never the `stripe` library's own text.

The real library is used throughout: pointed at a local port that refuses connections, or at
the stand-in, which answers a malformed key with Stripe's 401.
"""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from django_scopes import scopes_disabled

from billing.models import CompanyInvoice, StripeAccount

from ..kit.factories import seat_client_engagement
from ..kit.http import login
from ..kit.stripe import connect

# What the library says (or wraps) that a coach should never have to read.
RAW_TEXT = (
    "communicating with Stripe",
    "support@stripe.com",
    "Network error",
    "Connection refused",
    "ConnectionError",
    "Invalid API Key provided",
    "Request req_",
)


def _refusing_address() -> str:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _no_raw_text(page: str) -> None:
    for text in RAW_TEXT:
        assert text not in page, text


@pytest.mark.django_db
def test_saving_keys_while_stripe_is_out_of_reach_says_so_plainly(world, settings):
    settings.STRIPE_API_BASE = _refusing_address()
    owner = login(world.home.owner, world.home.practice)
    response = owner.post("/billing/stripe/", {"secret_key": "sk_test_abcdefgh12345678"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Stripe could not be reached from this server; nothing was saved." in page
    _no_raw_text(page)
    with scopes_disabled():
        assert not StripeAccount.objects.exists()


@pytest.mark.django_db
def test_a_key_stripe_refuses_is_said_plainly(world, standin):
    owner = login(world.home.owner, world.home.practice)
    response = owner.post("/billing/stripe/", {"secret_key": "sk_test_short"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Stripe refused this key" in page and "nothing was saved" in page
    assert "Developers → API keys" in page
    _no_raw_text(page)
    with scopes_disabled():
        assert not StripeAccount.objects.exists()


@pytest.fixture
def invoicing(db, standin):
    """A practice connected through the stand-in, with a seat contract to invoice."""
    practice, owner, seat, _ = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 2, 10, 12, tzinfo=dt.UTC), name="Errors"
    )
    with scopes_disabled():
        seat.contract.organization.billing_email = "accounts@acme.test"
        seat.contract.organization.save(update_fields=["billing_email"])
    connected = connect(practice, owner, standin)
    return connected, seat.contract


@pytest.mark.django_db
def test_invoicing_a_company_while_stripe_is_out_of_reach(invoicing, settings):
    connected, contract = invoicing
    settings.STRIPE_API_BASE = _refusing_address()
    owner = login(connected.owner, connected.practice)
    answer = owner.post(
        f"/contracts/{contract.pk}/statement/invoice/", {"month": "2030-03"}, follow=True
    )
    page = answer.content.decode()
    assert answer.status_code == 200
    assert "Stripe could not be reached from this server; no invoice was sent." in page
    _no_raw_text(page)
    with scopes_disabled():
        assert not CompanyInvoice.objects.filter(contract=contract).exists()


@pytest.mark.django_db
def test_invoicing_with_a_key_stripe_no_longer_accepts(invoicing, standin):
    """The saved key was rolled at Stripe: the owner is told to connect again."""
    connected, contract = invoicing
    with scopes_disabled():
        account = StripeAccount.objects.get(practice=connected.practice)
        account.secret_key = "sk_test_rolled"  # the stand-in answers it with Stripe's 401
        account.save(update_fields=["secret_key"])
    owner = login(connected.owner, connected.practice)
    answer = owner.post(
        f"/contracts/{contract.pk}/statement/invoice/", {"month": "2030-03"}, follow=True
    )
    page = answer.content.decode()
    assert "Stripe refused the saved key" in page and "no invoice was sent" in page
    assert "Stripe settings" in page
    _no_raw_text(page)


@pytest.mark.django_db
def test_voiding_an_invoice_while_stripe_is_out_of_reach(invoicing, settings):
    connected, contract = invoicing
    owner = login(connected.owner, connected.practice)
    owner.post(f"/contracts/{contract.pk}/statement/invoice/", {"month": "2030-03"})
    with scopes_disabled():
        invoice = CompanyInvoice.objects.get(contract=contract)
    settings.STRIPE_API_BASE = _refusing_address()
    answer = owner.post(
        f"/contracts/{contract.pk}/statement/invoice/{invoice.pk}/void/", follow=True
    )
    page = answer.content.decode()
    assert "Stripe could not be reached from this server; the invoice was not voided." in page
    _no_raw_text(page)
    with scopes_disabled():
        invoice.refresh_from_db()
    assert invoice.status != "void"
