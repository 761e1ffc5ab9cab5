"""A free link's booking by someone new is an intro call: a lead, not a client with an
active engagement whose set-up looks finished; cancelling it leaves the lead."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from engagements.models import Client, ClientStatus, Collection, Engagement, EngagementStatus
from engagements.services import client_create
from sessions_app.models import Booking, SessionSource, SessionStatus

from ..kit.booking import book, first_slots, open_all_week

pytestmark = pytest.mark.django_db


def test_a_new_visitor_on_a_free_link_is_a_lead_with_a_proposed_intro_call(world, client):
    home = world.home
    link = open_all_week(home.practice, home.coach, title="Free intro call")
    chosen = first_slots(client, link)[1]
    response = book(client, link, chosen, email="lena@example.net")
    assert response.status_code == 302
    with scopes_disabled():
        lead = Client.objects.get(email="lena@example.net")
        assert lead.status == ClientStatus.LEAD
        (engagement,) = Engagement.objects.filter(client=lead)
        assert engagement.status == EngagementStatus.PROPOSED
        assert engagement.title.startswith("Intro call")
        assert not engagement.steps.exists()  # no set-up checklist marked done
        assert not Collection.objects.filter(engagement=engagement).exists()
        (session,) = engagement.sessions.all()
        assert session.status == SessionStatus.SCHEDULED
        assert session.source == SessionSource.BOOKING_LINK

    token = response["Location"].split("/")[2]
    assert client.post(f"/booking/{token}/cancel/").status_code == 302
    with scopes_disabled():
        lead.refresh_from_db()
        assert lead.status == ClientStatus.LEAD
        assert Booking.objects.get(client=lead).status == "cancelled"
        engagement.refresh_from_db()
        assert engagement.status == EngagementStatus.PROPOSED


def test_an_existing_client_booking_a_free_link_keeps_their_coaching(world, client):
    home = world.home
    with scopes_disabled():
        known = client_create(
            practice=home.practice, actor=home.owner, name="Known", email="known@example.net"
        )
    assert known.status == ClientStatus.ACTIVE
    link = open_all_week(home.practice, home.coach)
    assert (
        book(client, link, first_slots(client, link)[0], email="known@example.net").status_code
        == 302
    )
    with scopes_disabled():
        known.refresh_from_db()
        assert known.status == ClientStatus.ACTIVE
        (engagement,) = Engagement.objects.filter(client=known)
        assert engagement.status == EngagementStatus.ACTIVE
        assert engagement.steps.exists()
