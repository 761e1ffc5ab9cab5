"""A free link's booking by someone new is an intro call: a lead, not a client with an
active engagement whose set-up looks finished; cancelling it leaves the lead."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from engagements.models import Client, ClientStatus, Collection, Engagement, EngagementStatus
from engagements.services import client_create
from sessions_app import services
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


def test_a_lead_booking_again_keeps_one_intro_and_coaching_set_up_makes_them_a_client(
    world, client
):
    """A second free booking joins the open intro; the coach setting up coaching for the
    lead makes them active, so their next free booking is not another intro."""
    home = world.home
    link = open_all_week(home.practice, home.coach, title="Free intro call")
    first, second, third = first_slots(client, link)[1:4]
    assert book(client, link, first, email="lena@example.net").status_code == 302
    assert book(client, link, second, email="lena@example.net").status_code == 302
    with scopes_disabled():
        lead = Client.objects.get(email="lena@example.net")
        (intro,) = Engagement.objects.filter(client=lead)
        assert intro.sessions.count() == 2
        services.engagement_create_per_session(
            practice=home.practice, actor=home.coach, client=lead, coach=home.coach
        )
        lead.refresh_from_db()
        assert lead.status == ClientStatus.ACTIVE
    assert book(client, link, third, email="lena@example.net").status_code == 302
    with scopes_disabled():
        titles = sorted(Engagement.objects.filter(client=lead).values_list("title", flat=True))
    assert len(titles) == 2 and titles[1].startswith("Intro call")
