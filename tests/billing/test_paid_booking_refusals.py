"""A paid booking that cannot go to checkout leaves nothing half-made: what the checkout
would refuse is refused before anything is booked, and a checkout Stripe cannot open gives
the slot back and leaves one engagement waiting for a time, which a retry books."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from engagements.models import Client, Engagement
from sessions_app.models import Booking, BookingStatus, Session, SessionStatus

from ..kit.booking import first_slots
from ..kit.stripe import book_paid, make_offer, paid_link

pytestmark = pytest.mark.django_db


def test_a_new_client_refused_a_single_session_is_told_so_before_anything_is_booked(
    connected, standin, client
):
    offer = make_offer(connected, kind="single_session", name="One session", price="120.00")
    link = paid_link(connected, offer)
    with scopes_disabled():
        connected.practice.one_off_sessions_for_new_clients = False
        connected.practice.save(update_fields=["one_off_sessions_for_new_clients"])
    chosen = first_slots(client, link)[0]
    response = book_paid(client, link, chosen, name="Nia New", email="nia@example.net")
    assert response.status_code == 400
    assert "start with a package" in response.content.decode()
    with scopes_disabled():
        assert not Client.objects.filter(email="nia@example.net").exists()
        assert not Booking.objects.filter(client__email="nia@example.net").exists()
    assert chosen in first_slots(client, link)


def test_a_checkout_stripe_cannot_open_gives_the_slot_back_and_a_retry_books_the_same_engagement(
    connected, standin, client, settings
):
    offer = make_offer(connected, kind="single_session", name="One session", price="120.00")
    link = paid_link(connected, offer)
    chosen = first_slots(client, link)[0]
    working_stripe = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens: Stripe is unreachable
    refused = book_paid(client, link, chosen, name="Olu", email="olu@example.net")
    assert refused.status_code == 400
    assert "Stripe did not open a checkout" in refused.content.decode()
    assert "could not be reached" in refused.content.decode()
    assert "127.0.0.1:9" not in refused.content.decode()  # not the library's own text
    with scopes_disabled():
        (booking,) = Booking.objects.filter(client__email="olu@example.net")
        assert booking.status == BookingStatus.CANCELLED
        session = booking.session
        assert session.status == SessionStatus.TO_SCHEDULE and session.starts_at is None
    assert chosen in first_slots(client, link)  # the hold was withdrawn at once

    settings.STRIPE_API_BASE = working_stripe
    retried = book_paid(client, link, chosen, name="Olu", email="olu@example.net")
    assert retried.status_code == 302 and "/checkout/cs_test_" in retried["Location"]
    with scopes_disabled():
        engagements = Engagement.objects.filter(client__email="olu@example.net")
        assert engagements.count() == 1
        held = Session.objects.get(engagement=engagements.get(), status=SessionStatus.HELD)
        assert held.pk == session.pk  # the same session, now holding the chosen time
