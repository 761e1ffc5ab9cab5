"""The Purchases page: who sees which purchases, and what it costs to list them."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from coachhub.models import Role
from sessions_app import services as session_services
from sessions_app.ledger import credit_entry_add
from sessions_app.models import CreditKind

from ..kit.factories import MembershipFactory, UserFactory
from ..kit.http import login


@pytest.mark.django_db
def test_a_coach_sees_only_what_their_own_offers_sold(world):
    home = world.home
    offer_name = home.objects["offer"].name
    other_coach = UserFactory()
    MembershipFactory(practice=home.practice, user=other_coach, role=Role.COACH)
    for member, sees in ((home.owner, True), (home.coach, True), (other_coach, False)):
        page = login(member, home.practice).get("/billing/purchases/").content.decode()
        assert (offer_name in page) is sees, member
    # Credits left come from the ledger: 5 granted, 2 used.
    with scopes_disabled():
        purchase = home.objects["purchase"]
        credit_entry_add(
            engagement=purchase.engagement,
            kind=CreditKind.ADJUST,
            amount=-2,
            effect_key="test:use-two",
            override_reason="test",
        )
    page = login(home.owner, home.practice).get("/billing/purchases/").content.decode()
    assert "<td>3</td>" in page


@pytest.mark.django_db
def test_listing_purchases_costs_the_same_for_one_or_many(world):
    home = world.home
    browser = login(home.owner, home.practice)
    browser.get("/billing/purchases/")  # warm the session and caches
    with CaptureQueriesContext(connection) as one:
        assert browser.get("/billing/purchases/").status_code == 200
    with scopes_disabled():
        purchase = home.objects["purchase"]
        for number in range(5):
            engagement = session_services.engagement_create_per_session(
                practice=home.practice, actor=home.owner, client=purchase.client, coach=home.coach
            )
            purchase.pk = None
            purchase.public_id = uuid.uuid4()
            purchase.checkout = None
            purchase.engagement = engagement
            purchase.stripe_checkout_id = f"cs_test_more{number}"
            purchase.save()
    with CaptureQueriesContext(connection) as six:
        assert browser.get("/billing/purchases/").status_code == 200
    assert len(six.captured_queries) == len(one.captured_queries)
