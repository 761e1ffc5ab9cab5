"""Every dashboard page shows times in the viewer's own zone and says which; forms read
times in that zone; sign-up takes the browser's zone and suggests its currency."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.test import Client as HttpClient
from django_scopes import scopes_disabled

from coachhub.models import Practice, User
from sessions_app import services as sessions_services
from sessions_app.models import Session

from ..kit.http import login

# 16:00 UTC on a winter Tuesday: 11:00 in New York, 16:00 in London.
SESSION_AT = dt.datetime(2027, 1, 12, 16, 0, tzinfo=dt.UTC)


@pytest.fixture
def new_york_coach(world):
    """The practice keeps Europe/London; its coach works in America/New_York (demo's Carlos)."""
    home = world.home
    home.coach.time_zone = "America/New_York"
    home.coach.save(update_fields=["time_zone"])
    with scopes_disabled():
        engagement = sessions_services.engagement_create_per_session(
            practice=home.practice,
            actor=home.owner,
            client=home.objects["client"],
            coach=home.coach,
            first_session_at=SESSION_AT,
        )
        session = Session.objects.get(engagement=engagement)
    return login(home.coach, home.practice), engagement, session


def _says_new_york(page: str) -> None:
    assert "America/New_York" in page
    assert "Europe/London" not in page.replace('value="Europe/London"', "")


@pytest.mark.django_db
def test_a_new_york_coach_sees_new_york_times_on_every_page(world, new_york_coach):
    browser, engagement, session = new_york_coach
    client = world.home.objects["client"]
    pages = {
        "home": "/dashboard/",
        "engagement": engagement.get_absolute_url(),
        "client": client.get_absolute_url(),
        "session": session.get_absolute_url(),
    }
    for name, url in pages.items():
        page = browser.get(url).content.decode()
        assert "11:00" in page, name
        assert "16:00" not in page, name
        assert "America/New_York" in page, name
        assert "Times in Europe/London" not in page, name


@pytest.mark.django_db
def test_forms_ask_for_and_read_the_time_in_the_coachs_zone(world, new_york_coach):
    browser, engagement, _ = new_york_coach
    form = browser.get("/engagements/new/per-session/").content.decode()
    assert "America/New_York" in form
    assert "in Europe/London" not in form
    workshop_form = browser.get("/engagements/new/team-workshop/").content.decode()
    assert "America/New_York" in workshop_form and "Times are in Europe/London" not in workshop_form
    package_form = browser.get("/engagements/new/monthly-package/").content.decode()
    assert f"{world.home.coach.display_name}: America/New_York" in package_form
    engagement_page = browser.get(engagement.get_absolute_url()).content.decode()
    assert "Date and time (America/New_York)" in engagement_page  # "Schedule a session"
    response = browser.post(
        "/engagements/new/per-session/",
        {
            "client": world.home.objects["client"].pk,
            "coach": world.home.coach.pk,
            "first_session_at": "2027-01-19T11:00",
            "send_platform_invite": "on",
        },
    )
    assert response.status_code == 302
    with scopes_disabled():
        created = Session.objects.filter(starts_at__date=dt.date(2027, 1, 19)).get()
    assert created.starts_at == dt.datetime(2027, 1, 19, 16, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_moving_a_session_reads_the_new_time_in_the_viewers_zone(world, new_york_coach):
    browser, _, session = new_york_coach
    page = browser.get(session.get_absolute_url()).content.decode()
    assert "New time (America/New_York)" in page
    browser.post(f"/sessions/{session.public_id}/reschedule/", {"starts_at": "2027-01-13T09:30"})
    with scopes_disabled():
        session.refresh_from_db()
    assert session.starts_at == dt.datetime(2027, 1, 13, 14, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_the_owner_in_london_sees_the_same_session_in_london_time(world, new_york_coach):
    _, _, session = new_york_coach
    owner = login(world.home.owner, world.home.practice)
    page = owner.get("/dashboard/").content.decode()
    assert "16:00" in page and "Europe/London" in page
    page = owner.get(session.get_absolute_url()).content.decode()
    assert "16:00" in page and "(Europe/London)" in page


@pytest.mark.django_db
def test_a_member_sets_their_own_zone_on_my_account(world, new_york_coach):
    _, _, session = new_york_coach
    owner = login(world.home.owner, world.home.practice)
    page = owner.get("/account/")
    assert page.status_code == 200 and "Europe/London" in page.content.decode()
    response = owner.post("/account/", {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    world.home.owner.refresh_from_db()
    assert world.home.owner.time_zone == "Asia/Tokyo"
    # 16:00 UTC is 01:00 the next day in Tokyo.
    assert "01:00" in owner.get(session.get_absolute_url()).content.decode()
    bad = owner.post("/account/", {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 200 and "Select a valid choice" in bad.content.decode()
    world.home.owner.refresh_from_db()
    assert world.home.owner.time_zone == "Asia/Tokyo"


@pytest.mark.django_db
def test_a_member_without_a_valid_zone_sees_the_practices(world, new_york_coach):
    _, _, session = new_york_coach
    User.objects.filter(pk=world.home.assistant.pk).update(time_zone="")
    assistant = login(world.home.assistant, world.home.practice)
    page = assistant.get(session.get_absolute_url()).content.decode()
    assert "16:00" in page and "(Europe/London)" in page


def _sign_up(browser: HttpClient, **fields) -> None:
    data = {
        "email": "new@example.com",
        "password1": "a long and unusual passphrase 42",
        "password2": "a long and unusual passphrase 42",
        "practice_name": "Fresh Coaching",
        **fields,
    }
    response = browser.post("/accounts/signup/", data)
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("browser_zone", "zone", "currency"),
    [
        ("America/New_York", "America/New_York", "USD"),
        ("Europe/Berlin", "Europe/Berlin", "EUR"),
        ("Europe/London", "Europe/London", "GBP"),
        ("Australia/Sydney", "Australia/Sydney", "AUD"),
        ("Not/AZone", "Europe/London", "GBP"),
    ],
)
def test_sign_up_takes_the_browsers_zone_and_suggests_its_currency(browser_zone, zone, currency):
    browser = HttpClient()
    page = browser.get("/accounts/signup/").content.decode()
    assert 'name="browser_time_zone"' in page and "js/time_zone.js" in page
    _sign_up(browser, browser_time_zone=browser_zone)
    user = User.objects.get(email="new@example.com")
    practice = Practice.objects.get(memberships__user=user)
    assert (user.time_zone, practice.time_zone, practice.currency) == (zone, zone, currency)


@pytest.mark.django_db
def test_what_the_person_chose_at_sign_up_wins_over_the_browser():
    browser = HttpClient()
    _sign_up(browser, browser_time_zone="America/New_York", time_zone="Asia/Tokyo", currency="EUR")
    practice = Practice.objects.get(memberships__user__email="new@example.com")
    assert (practice.time_zone, practice.currency) == ("Asia/Tokyo", "EUR")


@pytest.mark.django_db
def test_the_demos_new_york_coach_sees_new_york_times():
    from io import StringIO

    from django.core.management import call_command
    from django.utils import timezone

    call_command("demo", stdout=StringIO())
    carlos = User.objects.get(email="coach@demo.coachhub.test")
    assert carlos.time_zone == "America/New_York"
    browser = HttpClient()
    browser.force_login(carlos)
    dashboard = browser.get("/dashboard/").content.decode()
    assert "Times in America/New_York" in dashboard
    with scopes_disabled():
        session = (
            Session.objects.filter(coach=carlos, starts_at__gt=timezone.now())
            .order_by("starts_at")
            .first()
        )
    new_york = session.starts_at.astimezone(ZoneInfo("America/New_York"))
    page = browser.get(session.get_absolute_url()).content.decode()
    assert f"{new_york:%H:%M}" in page and "(America/New_York)" in page
