"""The portal's pages in the client's own zone, and addresses typed by hand (dates and
times out of range) answered with a page, never an error."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from engagements.models import Client
from engagements.portal import portal_session_path

from .test_portal import _booked, signed_in

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
