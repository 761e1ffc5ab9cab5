"""What a visitor can POST without signing in is bounded: floods get a plain 429, bots
that fill the honeypot create nothing, one practice's flood leaves the others open, and
Stripe's webhook is never throttled."""

from __future__ import annotations

import os
import uuid

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from coachhub.invitations import invitation_create, invitation_token
from engagements.models import Client
from sessions_app.booking_tokens import attendee_token, manage_token
from sessions_app.models import Booking, BookingStatus, Session
from web.limits import post_refused

from .kit.booking import book, first_slots, open_all_week


@pytest.fixture(autouse=True)
def _clock_stopped():
    """Limits count in windows of real time: stopped, no window ends half way through a test."""
    with time_machine.travel(timezone.now(), tick=False):
        yield


def _confirm_url(link) -> str:
    return f"/book/{link.practice.slug}/{link.slug}/confirm/"


def _clients() -> int:
    with scopes_disabled():
        return Client.objects.count()


@pytest.mark.django_db
def test_a_flood_of_booking_posts_gets_429_with_a_plain_message(world, client, settings):
    """A bot hammering the booking form is stopped, told why, and told when to come back."""
    settings.PUBLIC_POST_RATE_PER_ADDRESS = "3/m"
    link = open_all_week(world.home.practice, world.home.coach)
    start = first_slots(client, link)[0]
    for _ in range(3):  # incomplete forms: answered with the form, counted all the same
        assert client.post(_confirm_url(link), {"start": start, "tz": "UTC"}).status_code == 400

    response = client.post(_confirm_url(link), {"start": start, "tz": "UTC"})
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many requests from your address" in page
    assert "Go to CoachHub" in page  # the branded error page, not a bare body
    assert int(response["Retry-After"]) >= 1

    as_json = client.post(_confirm_url(link), {"start": start}, HTTP_ACCEPT="application/json")
    assert as_json.status_code == 429
    assert "Too many requests" in as_json.json()["error"]
    # Reading is never limited: the page itself still opens.
    assert client.get(link.get_absolute_url()).status_code == 200


@pytest.mark.django_db
def test_bookings_from_one_address_are_bounded_per_hour(world, client, settings):
    """Each booking makes a client and an engagement: an address cannot make them without end."""
    settings.PUBLIC_CHANGE_RATE_PER_ADDRESS = "2/h"
    link = open_all_week(world.home.practice, world.home.coach)
    slots = first_slots(client, link)
    before = _clients()
    for number in range(2):
        response = book(client, link, slots[number * 2], email=f"v{number}@example.net")
        assert response.status_code == 302

    refused = book(client, link, slots[4], email="v2@example.net")
    assert refused.status_code == 429
    assert _clients() == before + 2
    with scopes_disabled():
        assert not Client.objects.filter(email="v2@example.net").exists()
    # Another visitor is not held back by the first one's budget.
    someone_else = client.post(
        _confirm_url(link),
        {"start": slots[4], "name": "Sam", "email": "v4@example.net", "tz": "UTC"},
        REMOTE_ADDR="192.0.2.10",
    )
    assert someone_else.status_code == 302


@pytest.mark.django_db
def test_a_filled_honeypot_books_nothing_and_says_nothing(world, client):
    """Form bots fill every field; a person never sees this one."""
    link = open_all_week(world.home.practice, world.home.coach)
    start = first_slots(client, link)[0]
    form_page = client.get(_confirm_url(link), {"start": start}).content.decode()
    assert 'class="honeypot" aria-hidden="true"' in form_page
    assert 'name="website"' in form_page and 'tabindex="-1"' in form_page
    with scopes_disabled():
        bookings, clients = Booking.objects.count(), Client.objects.count()

    response = client.post(
        _confirm_url(link),
        {
            "start": start,
            "name": "Buy Cheap Pills",
            "email": "bot@example.net",
            "tz": "UTC",
            "website": "http://spam.example.net",
        },
    )
    assert response.status_code == 400
    assert "could not be sent" in response.content.decode()  # and nothing about why
    with scopes_disabled():
        assert Booking.objects.count() == bookings
        assert Client.objects.count() == clients


@pytest.mark.django_db
def test_a_filled_honeypot_on_a_buy_link_starts_no_checkout(world, client):
    offer = world.home.objects["offer"]
    url = reverse("buy", kwargs={"practice_slug": offer.practice.slug, "offer_id": offer.public_id})
    with scopes_disabled():
        checkouts = offer.checkouts.count()
    response = client.post(
        url, {"name": "Bot", "email": "bot@example.net", "website": "http://x.example.net"}
    )
    assert response.status_code == 400
    assert "could not be sent" in response.content.decode()
    with scopes_disabled():
        assert offer.checkouts.count() == checkouts
        assert not Client.objects.filter(email="bot@example.net").exists()


@pytest.mark.django_db
def test_one_practice_flooded_leaves_another_practice_open(world, client, settings):
    """Many addresses exhaust one practice's budget; the other practice still takes bookings."""
    settings.PUBLIC_POST_RATE_PER_PRACTICE = "4/m"
    home_link = open_all_week(world.home.practice, world.home.coach)
    other_link = open_all_week(world.other.practice, world.other.coach)
    home_start = first_slots(client, home_link)[0]
    statuses = [
        client.post(
            _confirm_url(home_link), {"start": home_start}, REMOTE_ADDR=f"198.51.100.{n}"
        ).status_code
        for n in range(6)
    ]
    assert statuses == [400] * 4 + [429] * 2
    flooded = client.post(_confirm_url(home_link), {"start": home_start}, REMOTE_ADDR="192.0.2.1")
    assert "receiving too many requests" in flooded.content.decode()

    # The flooding addresses themselves, and anyone else, still reach the other practice.
    other_start = first_slots(client, other_link)[0]
    for address in ("198.51.100.1", "192.0.2.1"):
        response = client.post(
            _confirm_url(other_link), {"start": other_start}, REMOTE_ADDR=address
        )
        assert response.status_code == 400  # the form, not a 429
    assert book(client, other_link, other_start).status_code == 302


@pytest.mark.django_db
def test_an_address_over_its_limit_uses_none_of_its_practice_s_budget(world, client, settings):
    """One address hammering cannot lock a practice's other visitors out."""
    settings.PUBLIC_POST_RATE_PER_ADDRESS = "2/m"
    settings.PUBLIC_POST_RATE_PER_PRACTICE = "5/m"
    link = open_all_week(world.home.practice, world.home.coach)
    start = first_slots(client, link)[0]
    for _ in range(20):
        client.post(_confirm_url(link), {"start": start}, REMOTE_ADDR="203.0.113.66")
    for n in range(3):  # 2 + 3 = the practice's 5
        response = client.post(_confirm_url(link), {"start": start}, REMOTE_ADDR=f"192.0.2.{n}")
        assert response.status_code == 400


@pytest.mark.django_db
def test_manage_and_session_links_are_limited_too(world, client, settings):
    """The signed cancel/reschedule pages count against the booking's practice."""
    settings.PUBLIC_POST_RATE_PER_ADDRESS = "2/m"
    link = open_all_week(world.home.practice, world.home.coach)
    slots = first_slots(client, link)
    assert book(client, link, slots[0]).status_code == 302
    with scopes_disabled():
        booking = Booking.objects.get(client__email="visitor@example.net")
        token = manage_token(booking, now=timezone.now())
    reschedule = reverse("booking_reschedule", kwargs={"token": token})
    cancel = reverse("booking_cancel", kwargs={"token": token})
    client.post(reschedule, {"start": "not a time"}, REMOTE_ADDR="192.0.2.7")
    client.post(reschedule, {"start": "not a time"}, REMOTE_ADDR="192.0.2.7")
    assert client.post(cancel, REMOTE_ADDR="192.0.2.7").status_code == 429
    with scopes_disabled():
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CONFIRMED  # the refused cancel changed nothing


@pytest.mark.django_db
def test_an_attendee_s_session_page_is_limited(world, client, settings):
    settings.PUBLIC_POST_RATE_PER_ADDRESS = "1/m"
    with scopes_disabled():
        session = Session.objects.get(engagement=world.home.objects["workshop"])
        participant = session.collection.participants.get()
    url = reverse(
        "attendee_session",
        kwargs={"token": attendee_token(session, participant.pk, now=timezone.now())},
    )
    assert client.post(url).status_code != 429
    assert client.post(url).status_code == 429
    assert client.get(url).status_code == 200  # the page itself still opens


@pytest.mark.django_db
def test_the_invitation_pages_are_limited(world, client, settings):
    settings.PUBLIC_POST_RATE_PER_ADDRESS = "1/m"
    with scopes_disabled():
        invitation = invitation_create(
            practice=world.home.practice,
            actor=world.home.owner,
            email="new@example.com",
            role="coach",
        )
    token = invitation_token(invitation)
    url = reverse("invitation", kwargs={"token": token})
    assert client.post(url).status_code == 302  # to sign in first
    assert client.post(url).status_code == 429
    signup = reverse("invitation_signup", kwargs={"token": token})
    assert client.post(signup, REMOTE_ADDR="192.0.2.9").status_code != 429
    assert client.post(signup, REMOTE_ADDR="192.0.2.9").status_code == 429


@pytest.mark.django_db
def test_stripe_s_webhook_is_never_throttled(world, client, settings):
    """Stripe retries what is refused: its deliveries are not visitors' POSTs."""
    settings.PUBLIC_POST_RATE_PER_ADDRESS = "1/m"
    settings.PUBLIC_POST_RATE_PER_PRACTICE = "1/m"
    url = reverse("stripe_webhook", kwargs={"practice_public_id": world.home.practice.public_id})
    statuses = {
        client.post(
            url, b"{}", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
        ).status_code
        for _ in range(5)
    }
    assert 429 not in statuses


@pytest.mark.redis
def test_the_counts_live_in_redis_where_every_web_process_sees_them(settings, rf):
    """Production's cache: django-ratelimit's atomic counting on Django's Redis backend."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": f"limits-test-{uuid.uuid4().hex}",  # expires by itself; no flush
        }
    }
    settings.PUBLIC_POST_RATE_PER_ADDRESS = "2/m"
    request = rf.post("/book/x/y/confirm/", HTTP_ACCEPT="application/json")
    answers = [post_refused(request, practice_id=1) for _ in range(3)]
    assert answers[:2] == [None, None]
    assert answers[2].status_code == 429
