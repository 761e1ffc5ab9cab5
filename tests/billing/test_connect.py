"""Connecting Stripe: one call proves the key; keys are encrypted at rest and shown masked;
without keys the app keeps working and says what is missing."""

from __future__ import annotations

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from billing.models import StripeAccount

from ..kit.http import login


@pytest.mark.django_db
def test_the_owner_connects_with_keys_checked_by_stripe(world, standin):
    owner = login(world.home.owner, world.home.practice)
    page = owner.get("/billing/stripe/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Not connected" in text
    assert f"/webhooks/stripe/{world.home.practice.public_id}/" in text
    response = owner.post(
        "/billing/stripe/",
        {
            "secret_key": "sk_test_abcdefgh12345678",
            "publishable_key": "pk_test_abcdefgh12345678",
            "webhook_secret": "whsec_abcdefghijklmnop",
        },
    )
    assert response.status_code == 302
    page = owner.get("/billing/stripe/").content.decode()
    assert "sk_test_…5678" in page and "sk_test_abcdefgh12345678" not in page
    assert "whsec_abcdefghijklmnop" not in page
    with scopes_disabled():
        account = StripeAccount.objects.get(practice=world.home.practice)
        assert account.ready and account.account_id.startswith("acct_")
    # At rest the column holds ciphertext, not the key.
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_key, webhook_secret FROM billing_stripeaccount")
        raw_key, raw_secret = cursor.fetchone()
    assert "sk_test" not in raw_key and "whsec" not in raw_secret
    with scopes_disabled():
        world.home.practice.refresh_from_db()
        assert world.home.practice.payments_connected


@pytest.mark.django_db
def test_pasting_the_webhook_secret_later_keeps_the_keys_saved_before(world, standin):
    """The order the page asks for: keys first, then the endpoint's secret from Stripe."""
    owner = login(world.home.owner, world.home.practice)
    owner.post(
        "/billing/stripe/",
        {"secret_key": "sk_test_abcdefgh12345678", "publishable_key": "pk_test_abcdefgh12345678"},
    )
    owner.post("/billing/stripe/", {"webhook_secret": "whsec_abcdefghijklmnop"})
    with scopes_disabled():
        account = StripeAccount.objects.get(practice=world.home.practice)
    assert account.secret_key == "sk_test_abcdefgh12345678"
    assert account.publishable_key == "pk_test_abcdefgh12345678"
    assert account.webhook_secret == "whsec_abcdefghijklmnop" and account.ready
    assert "pk_test_abcdefgh12345678" in owner.get("/billing/stripe/").content.decode()


@pytest.mark.django_db
def test_a_refused_key_gives_a_clear_message_and_saves_nothing(world, standin):
    owner = login(world.home.owner, world.home.practice)
    response = owner.post("/billing/stripe/", {"secret_key": "sk_test_short"})
    assert response.status_code == 200
    assert "Stripe refused this key" in response.content.decode()
    response = owner.post("/billing/stripe/", {"secret_key": "not-a-key"})
    assert "Paste the secret key" in response.content.decode()
    with scopes_disabled():
        assert not StripeAccount.objects.exists()


@pytest.mark.django_db
def test_stripe_out_of_reach_is_said_and_nothing_saved(world, settings):
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    owner = login(world.home.owner, world.home.practice)
    response = owner.post("/billing/stripe/", {"secret_key": "sk_test_abcdefgh12345678"})
    assert response.status_code == 200
    assert "could not be reached" in response.content.decode()


@pytest.mark.django_db
def test_only_owners_manage_stripe(world):
    coach = login(world.home.coach, world.home.practice)
    assert coach.get("/billing/stripe/").status_code == 403


@pytest.mark.django_db
def test_without_stripe_a_buy_link_says_payment_is_not_set_up(world, client):
    offer = world.home.objects["offer"]
    page = client.get(f"/buy/{offer.practice.slug}/{offer.public_id}/")
    assert page.status_code == 200
    assert "Online payment is not set up" in page.content.decode()
    response = client.post(
        f"/buy/{offer.practice.slug}/{offer.public_id}/", {"name": "A", "email": "a@example.net"}
    )
    assert response.status_code == 400
    assert "not finished connecting Stripe" in response.content.decode()
