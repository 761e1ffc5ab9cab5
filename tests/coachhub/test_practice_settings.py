"""Settings: every practice default in the model is editable, with labels, units and clear
messages; a bad value saves nothing and is never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django_scopes import scopes_disabled

from coachhub.models import AuditEntry, Practice
from sessions_app import services

pytestmark = pytest.mark.django_db

GOOD = {
    "name": "Home Coaching",
    "time_zone": "Europe/London",
    "currency": "GBP",
    "logo_url": "https://example.org/logo.png",
    "brand_colour": "#aa3300",
    "default_session_minutes": "50",
    "buffer_before_minutes": "10",
    "buffer_after_minutes": "15",
    "minimum_notice_minutes": "240",
    "booking_horizon_days": "30",
    "cancellation_window_hours": "48",
    "reminder_lead_minutes": "48, 2, 0.5",
    "one_off_sessions_for_new_clients": "on",
    "prep_lead_hours": "72",
    "commitment_reminder_time": "08:30",
}


def _practice(world) -> Practice:
    return Practice.objects.get(pk=world.home.practice.pk)


def test_the_page_names_each_default_with_its_unit(as_member):
    page = as_member("owner").get("/practice/settings/").content.decode()
    for label in (
        "Buffer before each session (minutes)",
        "Buffer after each session (minutes)",
        "Minimum notice (minutes)",
        "Booking horizon (days)",
        "Cancellation window (hours)",
        "Reminder e-mails (hours before the session)",
        "Logo (image address)",
        "Sell single sessions to new clients",
        "Prep questionnaire (hours before the session)",
        "Missed-commitment reminders (practice time)",
    ):
        assert label in page, label
    assert 'type="color"' in page and 'name="brand_colour"' in page
    assert "offered packages only" in page  # what the one-off checkbox does
    # Today's values are shown: the reminders as hours (24 and 1 by default).
    assert 'value="24, 1"' in page


def test_the_owner_saves_every_default(world, as_member):
    response = as_member("owner").post("/practice/settings/", GOOD)
    assert response.status_code == 302
    practice = _practice(world)
    assert practice.logo_url == "https://example.org/logo.png"
    assert practice.brand_colour == "#aa3300"
    assert practice.default_session_minutes == 50
    assert (practice.buffer_before_minutes, practice.buffer_after_minutes) == (10, 15)
    assert practice.minimum_notice_minutes == 240
    assert practice.booking_horizon_days == 30
    assert practice.cancellation_window_hours == 48
    assert practice.reminder_lead_minutes == [48 * 60, 120, 30]
    assert practice.one_off_sessions_for_new_clients is True
    assert practice.prep_lead_hours == 72
    assert practice.commitment_reminder_time == dt.time(8, 30)


def test_unticking_one_off_sessions_and_clearing_reminders_and_logo(world, as_member):
    data = {**GOOD, "reminder_lead_minutes": "", "logo_url": ""}
    del data["one_off_sessions_for_new_clients"]
    assert as_member("owner").post("/practice/settings/", data).status_code == 302
    practice = _practice(world)
    assert practice.reminder_lead_minutes == []
    assert practice.logo_url == ""
    assert practice.one_off_sessions_for_new_clients is False


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("buffer_before_minutes", "-5", "Ensure this value is greater than or equal to 0"),
        ("buffer_after_minutes", "1000", "Ensure this value is less than or equal to 240"),
        ("buffer_after_minutes", "ten", "Enter a whole number"),
        ("minimum_notice_minutes", "-1", "Ensure this value is greater than or equal to 0"),
        ("minimum_notice_minutes", "99999999", "Ensure this value is less than or equal to"),
        ("booking_horizon_days", "0", "Ensure this value is greater than or equal to 1"),
        ("booking_horizon_days", "100000", "Ensure this value is less than or equal to 730"),
        ("cancellation_window_hours", "-3", "Ensure this value is greater than or equal to 0"),
        ("reminder_lead_minutes", "24, soon", "“soon” is not a number of hours"),
        ("reminder_lead_minutes", "0", "A reminder must go out before the session"),
        ("reminder_lead_minutes", "1000", "at most 720 hours"),
        ("reminder_lead_minutes", "24, 24", "24 is listed twice"),
        ("reminder_lead_minutes", "0.001", "whole minutes"),
        ("reminder_lead_minutes", "1,2,3,4,5,6", "At most 5 reminders"),
        ("logo_url", "not a link", "Enter a valid URL"),
        ("logo_url", "javascript:alert(1)", "Enter a valid URL"),
        ("logo_url", "http://example.org/logo.png", "Use an https:// address for the logo"),
        ("brand_colour", "green", "Choose a colour such as #2f5d62"),
        ("currency", "pounds", "Use a three-letter currency code"),
        ("currency", "£", "Use a three-letter currency code"),
        ("default_session_minutes", "0", "Ensure this value is greater than or equal to 5"),
    ],
)
def test_a_bad_value_is_explained_and_nothing_is_saved(world, as_member, field, value, message):
    with scopes_disabled():
        before = AuditEntry.objects.count()
    response = as_member("owner").post("/practice/settings/", {**GOOD, field: value})
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page, page[page.find('class="error"') - 300 :][:800]
    practice = _practice(world)
    assert practice.buffer_before_minutes == 0 and practice.brand_colour == "#2f5d62"
    assert practice.reminder_lead_minutes == [24 * 60, 60]
    with scopes_disabled():
        assert AuditEntry.objects.count() == before


def test_new_booking_links_start_from_the_saved_defaults(world, as_member):
    owner = as_member("owner")
    owner.post("/practice/settings/", GOOD)
    with scopes_disabled():
        link = services.booking_link_save(
            practice=_practice(world), actor=world.home.owner, slug="fresh", title="Fresh"
        )
    assert (link.buffer_before_minutes, link.buffer_after_minutes) == (10, 15)
    assert (link.minimum_notice_minutes, link.horizon_days) == (240, 30)
