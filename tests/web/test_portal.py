"""The client portal: signing in by link (asked for or from an e-mail), what a link may
and may not do, the pages a signed-in client sees, and changing a session from there."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from coachhub.models import User
from engagements import services as engagement_services
from engagements.models import Client
from engagements.portal import portal_link, portal_session_path
from sessions_app import services
from sessions_app.models import Booking, Session, SessionStatus

from ..kit.booking import book, first_slots, open_all_week
from ..kit.world import OTHER_MARKER

pytestmark = pytest.mark.django_db


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def link_for(client: Client, *, path: str | None = None, requested: bool = False) -> str:
    """The client's link, as the task sending their e-mail makes it (account first)."""
    with scopes_disabled():
        client.refresh_from_db()
        engagement_services.clients_portal_users_ensure(clients=[client])
        return path_of(portal_link(client, path=path, requested=requested))


def signed_in(client: Client) -> HttpClient:
    """A browser that opened the client's e-mail link (and so is signed in to the portal)."""
    browser = HttpClient()
    response = browser.get(link_for(client))
    assert response.status_code == 302, response.content.decode()[:300]
    return browser


def links_in(message) -> list[str]:
    return [path_of(url) for url in re.findall(r"https?://\S+", message.body)]


def home_url(practice) -> str:
    return f"/portal/{practice.slug}/"


# --- Asking for a link --------------------------------------------------------------
def test_asking_for_a_link_answers_the_same_and_mails_only_a_client(
    world, client, django_capture_on_commit_callbacks
):
    home = world.home
    practice, known = home.practice, home.objects["client"]
    sign_in = f"/portal/{practice.slug}/sign-in/"
    assert "E-mail me a sign-in link" in client.get(sign_in).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        for_client = client.post(sign_in, {"email": known.email.upper()})
        for_stranger = client.post(sign_in, {"email": "nobody@example.net"})
    assert for_client.status_code == for_stranger.status_code == 200
    same = for_client.content.decode().replace(known.email.upper(), "X")
    assert same == for_stranger.content.decode().replace("nobody@example.net", "X")
    assert [m.to for m in mail.outbox] == [[known.email]]  # nothing to the stranger
    # A client of the other practice is nobody here.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(sign_in, {"email": world.other.objects["client"].email})
    assert len(mail.outbox) == 1
    bad = client.post(sign_in, {"email": "not an address"})
    assert bad.status_code == 400 and "Enter a valid email address" in bad.content.decode()


def test_a_requested_link_signs_in_once_and_only_when_the_person_presses_sign_in(
    world, django_capture_on_commit_callbacks
):
    home = world.home
    known = home.objects["client"]
    with django_capture_on_commit_callbacks(execute=True):
        HttpClient().post(f"/portal/{home.practice.slug}/sign-in/", {"email": known.email})
    (message,) = mail.outbox
    (link,) = [url for url in links_in(message) if "sesame=" in url]
    browser = HttpClient()
    # Opening it (as a mail scanner would) asks to press a button and signs nobody in.
    assert "Sign in</button>" in browser.get(link).content.decode()
    assert browser.get(home_url(home.practice)).status_code == 302
    response = browser.post(link)
    assert response.status_code == 302 and "sesame" not in response["Location"]
    page = browser.get(response["Location"])
    assert page.status_code == 200 and known.name in page.content.decode()
    # The same link a second time, anywhere: spent.
    again = HttpClient().post(link)
    assert again.status_code == 410
    assert "This link has expired — get a new one" in again.content.decode()


def test_asking_for_links_is_rate_limited_like_other_public_posts(
    world, client, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_CHANGE_RATE_PER_ADDRESS = "2/h"
    sign_in = f"/portal/{world.home.practice.slug}/sign-in/"
    email = world.home.objects["client"].email
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post(sign_in, {"email": email}).status_code for _ in range(3)]
    assert answers == [
        200,
        200,
        429,
    ]
    assert len(mail.outbox) == 2


# --- Links: expiry, reuse, the wrong practice, forgeries ---------------------------
def test_an_email_link_lasts_seven_days_and_may_be_opened_again(world):
    known = world.home.objects["client"]
    link = link_for(known)
    assert HttpClient().get(link).status_code == 302
    assert HttpClient().get(link).status_code == 302  # on a second device too
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, minutes=1)):
        response = HttpClient().get(link)
    assert response.status_code == 410
    assert "This link has expired — get a new one" in response.content.decode()
    assert "E-mail me a sign-in link" in response.content.decode()


def test_a_requested_link_lasts_an_hour(world):
    link = link_for(world.home.objects["client"], requested=True)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=59)):
        assert HttpClient().post(link).status_code == 302
    fresh = link_for(world.home.objects["client"], requested=True)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61)):
        assert HttpClient().post(fresh).status_code == 410


def test_a_link_of_another_practice_or_a_forged_one_is_a_clear_page(world):
    home, other = world.home, world.other
    other_link = link_for(other.objects["client"])
    token = other_link.split("sesame=")[1]
    foreign = HttpClient().get(f"{home_url(home.practice)}?sesame={token}")
    assert foreign.status_code == 404
    assert "This link is not valid here — get a new one" in foreign.content.decode()
    assert OTHER_MARKER not in foreign.content.decode()
    for forged in ["garbage", token[:-2] + ("AA" if not token.endswith("AA") else "BB"), ""]:
        response = HttpClient().get(f"{home_url(home.practice)}?sesame={forged}")
        assert response.status_code == 404, forged
        assert "get a new one" in response.content.decode()


def test_one_person_in_two_practices_is_one_account_signed_in_to_one_practice_at_a_time(world):
    home, other = world.home, world.other
    known = home.objects["client"]
    with scopes_disabled():
        twin = engagement_services.client_create(
            practice=other.practice, actor=other.owner, name="Same Person", email=known.email
        )
    browser = HttpClient()
    assert browser.get(link_for(known)).status_code == 302
    with scopes_disabled():
        twin_link = link_for(twin)
        known.refresh_from_db()
        twin.refresh_from_db()
    assert known.user_id == twin.user_id
    assert User.objects.filter(email=known.email).count() == 1
    assert not User.objects.get(pk=known.user_id).has_usable_password()
    # Signed in to home: the other practice's portal asks for its own link.
    response = browser.get(home_url(other.practice))
    assert response.status_code == 302 and "/sign-in/" in response["Location"]
    assert browser.get(twin_link).status_code == 302
    assert browser.get(home_url(other.practice)).status_code == 200
    assert browser.get(home_url(home.practice)).status_code == 302  # one practice at a time


def test_an_account_with_a_password_is_not_signed_in_by_a_link(world):
    home = world.home
    with scopes_disabled():
        coach_as_client = engagement_services.client_create(
            practice=home.practice, actor=home.owner, name="Coach Too", email=home.coach.email
        )
    link = link_for(coach_as_client)
    response = HttpClient().get(link)
    assert response.status_code == 403
    assert "Sign in with your password" in response.content.decode()
    browser = HttpClient()
    browser.force_login(home.coach)  # signed in the usual way: now the link opens the portal
    assert browser.get(link).status_code == 302
    assert "Coach Too" in browser.get(home_url(home.practice)).content.decode()


def test_signing_out_ends_the_portal_session(world):
    home = world.home
    browser = signed_in(home.objects["client"])
    assert browser.get(home_url(home.practice)).status_code == 200
    assert browser.post(f"/portal/{home.practice.slug}/sign-out/").status_code == 302
    assert browser.get(home_url(home.practice)).status_code == 302


# --- What a signed-in client sees ----------------------------------------------------
def _session_for(practice, actor, engagement, client, *, starts_at, title):
    return Session.objects.create(
        practice=practice,
        engagement=engagement,
        coach=engagement.coach,
        client=client,
        title=title,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1),
        status=SessionStatus.SCHEDULED,
    )


def test_the_portal_shows_only_the_clients_own_sessions_in_their_zone(world):
    home = world.home
    known, seat_client = home.objects["client"], home.objects["seat_client"]
    with scopes_disabled():
        known.time_zone = "Asia/Tokyo"
        known.save(update_fields=["time_zone"])
        someone_else = _session_for(
            home.practice,
            home.owner,
            home.objects["engagement"],
            seat_client,
            starts_at=timezone.now() + dt.timedelta(days=4),
            title="Somebody else's session",
        )
        own = Session.objects.select_related("coach").get(pk=home.objects["session"].pk)
    page = signed_in(known).get(home_url(home.practice)).content.decode()
    assert own.title in page and own.coach.display_name in page
    tokyo = own.starts_at.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert f"{tokyo:%H:%M}" in page and "Asia/Tokyo" in page
    assert "Somebody else" not in page and OTHER_MARKER not in page
    browser = signed_in(known)
    assert (
        browser.get(portal_session_path(home.practice, someone_else.public_id)).status_code == 404
    )
    other_session = world.other.objects["session"]
    assert browser.get(portal_session_path(home.practice, other_session.public_id)).status_code == (
        404
    )


def test_credits_left_and_a_seats_allowance_this_month(world):
    home = world.home
    page = signed_in(home.objects["client"]).get(home_url(home.practice)).content.decode()
    assert "<strong>5</strong> session credits left" in page  # granted 5, none used yet
    assert "this month" not in page  # not on a seat
    seat_page = signed_in(home.objects["seat_client"]).get(home_url(home.practice))
    text = seat_page.content.decode()
    assert "<strong>2</strong> of 2 sessions left this month" in text
    assert "session credit" not in text


def test_the_clients_own_calendar_feed_is_offered_and_serves_their_sessions(world):
    home = world.home
    known = home.objects["client"]
    page = signed_in(known).get(home_url(home.practice)).content.decode()
    (feed_path,) = set(re.findall(r"https?://[^/\s<]+(/calendar/[\w-]+\.ics)", page))
    assert f"webcal://127.0.0.1:8000{feed_path}" in page
    body = HttpClient().get(feed_path).content.decode()
    assert home.objects["session"].ics_uid() in body
    # Its events lead to the portal, without a way in of their own.
    assert f"/portal/{home.practice.slug}/sessions/" in body.replace("\r\n ", "")
    assert "sesame" not in body


def test_the_home_page_costs_the_same_statements_for_3_and_30_sessions(world):
    home = world.home
    known = home.objects["client"]
    browser = signed_in(known)

    def statements() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(home_url(home.practice)).status_code == 200
        return len(queries.captured_queries)

    def add(count: int, offset: int) -> None:
        with scopes_disabled():
            for number in range(count):
                _session_for(
                    home.practice,
                    home.owner,
                    home.objects["engagement"],
                    known,
                    starts_at=timezone.now() + dt.timedelta(days=10 + offset + number),
                    title=f"Session {offset + number}",
                )

    statements()  # the first visit makes the client's feed address
    add(2, 0)  # with the world's own: 3 sessions
    few = statements()
    add(27, 100)
    assert statements() == few
    assert few <= 12


# --- Changing a session from the portal ---------------------------------------------
def _booked(world, client, capture, **link_fields):
    """A visitor books through a link: their confirmation, the booking, the free slots."""
    home = world.home
    link = open_all_week(home.practice, home.coach, **link_fields)
    slots = first_slots(client, link)
    with capture(execute=True):
        assert book(client, link, slots[2]).status_code == 302
    (message,) = [m for m in mail.outbox if m.to == ["visitor@example.net"]]
    with scopes_disabled():
        booking = Booking.objects.select_related("session").get(client__email="visitor@example.net")
    return message, booking, slots


def test_the_confirmation_link_lands_on_the_session_in_the_portal_signed_in(
    world, client, django_capture_on_commit_callbacks
):
    message, booking, _ = _booked(world, client, django_capture_on_commit_callbacks)
    session_path = portal_session_path(world.home.practice, booking.session.public_id)
    (link,) = [url for url in links_in(message) if url.startswith(session_path)]
    browser = HttpClient()
    response = browser.get(link)
    assert response.status_code == 302 and response["Location"] == session_path
    page = browser.get(session_path).content.decode()
    assert booking.session.title in page and "Reschedule" in page and "Cancel" in page


def test_reschedule_from_the_portal_within_the_rules(
    world, client, django_capture_on_commit_callbacks
):
    _, booking, slots = _booked(
        world, client, django_capture_on_commit_callbacks, max_reschedules=1
    )
    with scopes_disabled():
        visitor = Client.objects.get(email="visitor@example.net")
    browser = signed_in(visitor)
    session_path = portal_session_path(world.home.practice, booking.session.public_id)
    picker = browser.get(session_path + "reschedule/")
    assert picker.status_code == 200 and "Choose a new time" in picker.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(session_path + "reschedule/", {"start": slots[4]})
    assert response.status_code == 302
    with scopes_disabled():
        booking.refresh_from_db()
        booking.session.refresh_from_db()
    assert booking.session.starts_at == dt.datetime.fromisoformat(slots[4])
    assert any(m.subject.startswith("Moved:") for m in mail.outbox)
    assert "has moved" in browser.get(response["Location"]).content.decode()
    # The most reschedules allowed was one: the page says so and refuses another.
    page = browser.get(session_path).content.decode()
    assert "rescheduled 1 times, the most allowed" in page
    refused = browser.post(session_path + "reschedule/", {"start": slots[6]})
    assert refused.status_code == 400
    assert booking.reschedule_count == 1


def test_cancel_from_the_portal_ahead_and_inside_the_window(
    world, client, django_capture_on_commit_callbacks
):
    home = world.home
    _, booking, _ = _booked(world, client, django_capture_on_commit_callbacks)
    with scopes_disabled():
        visitor = Client.objects.get(email="visitor@example.net")
    browser = signed_in(visitor)
    session_path = portal_session_path(home.practice, booking.session.public_id)
    confirm = browser.get(session_path + "cancel/").content.decode()
    assert "Yes, cancel it" in confirm and "not counted" in confirm
    assert browser.post(session_path + "cancel/").status_code == 302
    with scopes_disabled():
        booking.refresh_from_db()
        assert booking.status == "cancelled"
    assert browser.post(session_path + "cancel/").status_code == 400  # once is enough

    # A session the coach set up (no booking) starting in 2 hours: inside the window.
    known = home.objects["client"]
    with scopes_disabled():
        soon = _session_for(
            home.practice,
            home.owner,
            home.objects["engagement"],
            known,
            starts_at=timezone.now().replace(microsecond=0) + dt.timedelta(hours=2),
            title="Soon",
        )
    own = signed_in(known)
    soon_path = portal_session_path(home.practice, soon.public_id)
    assert "counts as used" in own.get(soon_path + "cancel/").content.decode()
    assert own.post(soon_path + "cancel/").status_code == 302
    with scopes_disabled():
        soon.refresh_from_db()
    assert soon.status == SessionStatus.LATE_CANCELLED


def test_a_session_past_its_reschedule_cutoff_cannot_be_moved_from_the_portal(world):
    home = world.home
    link = open_all_week(home.practice, home.coach, reschedule_cutoff_hours=48)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    with scopes_disabled():
        booking = services.booking_create(
            link=link,
            name="Cut Off",
            email="cut@example.net",
            starts_at=now + dt.timedelta(hours=30),
            time_zone="UTC",
        )
        cut = Client.objects.get(email="cut@example.net")
    browser = signed_in(cut)
    session_path = portal_session_path(home.practice, booking.session.public_id)
    page = browser.get(session_path).content.decode()
    assert "up to 48 hours before" in page and "/reschedule/" not in page
    response = browser.post(session_path + "reschedule/", {"start": "2030-01-01T10:00:00+00:00"})
    assert response.status_code == 400
    assert "up to 48 hours before" in response.content.decode()


def test_a_client_whose_email_changed_gets_an_account_of_the_new_address(world):
    home = world.home
    known = home.objects["client"]
    signed_in(known)
    with scopes_disabled():
        known.refresh_from_db()
        first_user = known.user_id
        engagement_services.client_update(
            client=known, actor=home.owner, data={"email": "new-address@example.org"}
        )
        known.refresh_from_db()
    signed_in(known)
    with scopes_disabled():
        known.refresh_from_db()
    assert known.user_id != first_user
    assert known.user.email == "new-address@example.org"


def test_a_group_place_given_up_shows_as_cancelled_for_that_client_only(
    world, client, django_capture_on_commit_callbacks
):
    home = world.home
    link = open_all_week(
        home.practice, home.coach, capacity=3, engagement=home.objects["workshop"], slug="group"
    )
    slot = first_slots(client, link)[2]
    with django_capture_on_commit_callbacks(execute=True):
        assert book(client, link, slot, email="stays@example.net").status_code == 302
        assert book(client, link, slot, email="leaves@example.net").status_code == 302
    with scopes_disabled():
        leaving = Booking.objects.select_related("session").get(client__email="leaves@example.net")
        services.booking_cancel(booking=leaving)
        stays = Client.objects.get(email="stays@example.net")
        leaves = Client.objects.get(email="leaves@example.net")
    session_path = portal_session_path(home.practice, leaving.session.public_id)
    gone = signed_in(leaves).get(session_path).content.decode()
    assert 'class="badge cancelled">Cancelled' in gone and "/cancel/" not in gone
    kept = signed_in(stays).get(session_path).content.decode()
    assert 'class="badge scheduled">Scheduled' in kept and "/cancel/" in kept
