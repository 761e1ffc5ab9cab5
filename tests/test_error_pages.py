"""Branded error pages with DEBUG off: what happened and what to do, in the app's look."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import get_template
from django.test import Client as HttpClient
from django_scopes import scopes_disabled

from sessions_app.booking_tokens import manage_token
from sessions_app.models import Booking

pytestmark = pytest.mark.django_db

LAYOUT = 'href="/static/css/coachhub.css"'


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


def test_a_missing_page_is_the_branded_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert LAYOUT in page and "This page does not exist" in page
    assert "ask your coach for a new one" in page


def test_a_refusal_is_the_branded_403_with_its_reason(as_member):
    response = as_member("coach").get("/practice/settings/")
    assert response.status_code == 403
    page = response.content.decode()
    assert LAYOUT in page and "You cannot do this here" in page
    assert "Only the practice owner can do this." in page
    assert 'href="/dashboard/"' in page  # the signed-in member keeps the app's navigation


def test_an_expired_manage_link_is_the_branded_410(world, client):
    booking = world.home.objects["booking"]
    with scopes_disabled():
        booking = Booking.objects.select_related("session").get(pk=booking.pk)
        booking.session.starts_at = dt.datetime(2020, 1, 1, 9, tzinfo=dt.UTC)
        booking.session.ends_at = dt.datetime(2020, 1, 1, 10, tzinfo=dt.UTC)
        expired = manage_token(booking, now=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    response = client.get(f"/booking/{expired}/")
    assert response.status_code == 410
    page = response.content.decode()
    assert LAYOUT in page
    assert "This link has expired" in page
    assert "invalid or has expired — ask your coach for a new one" in page


@pytest.mark.urls("tests.error_urls")
def test_a_crash_is_the_branded_500():
    response = HttpClient(raise_request_exception=False).get("/fails/")
    assert response.status_code == 500
    page = response.content.decode()
    assert LAYOUT in page and "Something went wrong on our side" in page
    assert "a bug" not in page


def test_the_500_page_renders_with_no_context_at_all():
    """Django renders 500.html with no request and no context processors."""
    page = get_template("500.html").render()
    assert "Something went wrong on our side" in page and LAYOUT in page


def test_favicon_is_served_with_debug_off(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert '<link rel="icon" href="/favicon.ico">' in client.get("/").content.decode()
