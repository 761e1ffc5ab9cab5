"""The portal's pages in the client's own zone, and addresses typed by hand (dates and
times out of range) answered with a page, never an error."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client as HttpClient
from django_scopes import scopes_disabled

from coachhub.models import AuditEntry, User
from engagements import services as engagement_services
from engagements.models import Client
from engagements.portal import portal_session_path

from .test_portal import _booked, home_url, link_for, signed_in

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")


def _tokyo_visitor(world, client, capture):
    _, booking, slots = _booked(world, client, capture)
    with scopes_disabled():
        visitor = Client.objects.get(email="visitor@example.net")
        visitor.time_zone = "Asia/Tokyo"
        visitor.save(update_fields=["time_zone"])
    mail.outbox.clear()
    path = portal_session_path(world.home.practice, booking.session.public_id)
    return visitor, booking, slots, path


def test_a_tokyo_clients_session_and_reschedule_times_are_tokyo_times(
    world, client, django_capture_on_commit_callbacks
):
    visitor, booking, _, path = _tokyo_visitor(world, client, django_capture_on_commit_callbacks)
    browser = signed_in(visitor)
    start = booking.session.starts_at.astimezone(TOKYO)
    end = booking.session.ends_at.astimezone(TOKYO)
    page = browser.get(path).content.decode()
    assert f"{start:%H:%M}–{end:%H:%M}" in page and "Asia/Tokyo" in page
    assert f"{start:%A} {start.day} {start:%B %Y}" in page
    picker = browser.get(path + "reschedule/").content.decode()
    buttons = re.findall(
        r'name="start" value="([^"]+)"><button type="submit" class="slot">([\d:]+)</button>',
        picker,
    )
    assert buttons
    for value, label in buttons:
        assert label == f"{dt.datetime.fromisoformat(value).astimezone(TOKYO):%H:%M}"


@pytest.mark.parametrize(
    "start",
    ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59+00:00"],
)
def test_a_start_out_of_range_is_a_clear_refusal(
    world, client, django_capture_on_commit_callbacks, start
):
    visitor, _, _, path = _tokyo_visitor(world, client, django_capture_on_commit_callbacks)
    response = signed_in(visitor).post(path + "reschedule/", {"start": start})
    assert response.status_code == 400
    assert "Choose one of the times offered." in response.content.decode()


@pytest.mark.parametrize("first_day", ["9999-12-31", "9999-12-25", "0001-01-01", "2026-02-30"])
def test_a_week_out_of_range_shows_the_picker(
    world, client, django_capture_on_commit_callbacks, first_day
):
    visitor, _, _, path = _tokyo_visitor(world, client, django_capture_on_commit_callbacks)
    response = signed_in(visitor).get(path + "reschedule/", {"from": first_day})
    assert response.status_code == 200
    assert "Choose a new time" in response.content.decode()


# --- A client's e-mail changed --------------------------------------------------------
def test_a_new_email_lets_go_of_the_old_account_and_its_links(world):
    home = world.home
    known = home.objects["client"]
    old_link = link_for(known)
    browser = signed_in(known)
    assert browser.get(home_url(home.practice)).status_code == 200
    with scopes_disabled():
        known.refresh_from_db()
        old_user = known.user_id
        engagement_services.client_update(
            client=known, actor=home.owner, data={"email": "moved@example.org"}
        )
        known.refresh_from_db()
        assert known.user_id is None
        entry = AuditEntry.objects.filter(action="client.update").latest("pk")
        assert entry.data["fields"].split(",") == ["email", "user"]
    # The old address's browser and its week-long link open nothing any more.
    assert browser.get(home_url(home.practice)).status_code == 302
    assert HttpClient().get(old_link).status_code == 404
    assert User.objects.filter(pk=old_user).exists()


def test_an_account_whose_email_moved_on_opens_nothing(world):
    home = world.home
    known = home.objects["client"]
    browser = signed_in(known)
    with scopes_disabled():
        known.refresh_from_db()
    User.objects.filter(pk=known.user_id).update(email="someone-else@example.org")
    assert browser.get(home_url(home.practice)).status_code == 302


def test_one_account_is_one_client_per_practice(world):
    home = world.home
    known, other = home.objects["client"], home.objects["seat_client"]
    signed_in(known)
    with scopes_disabled():
        known.refresh_from_db()
        with pytest.raises(IntegrityError), transaction.atomic():
            Client.objects.filter(pk=other.pk).update(user_id=known.user_id)
