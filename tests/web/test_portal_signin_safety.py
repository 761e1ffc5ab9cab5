"""What a portal link's session may not do (act as a member), which accounts a link never
signs in, and where a sign-in may send the browser next."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django_scopes import scopes_disabled

from coachhub.invitations import invitation_token
from coachhub.models import Membership
from engagements import services as engagement_services
from engagements.portal import portal_session_path

from .test_portal import home_url, link_for, signed_in

pytestmark = pytest.mark.django_db

PASSWORD_PAGE = "Sign in with a password for this page"


def test_a_link_session_cannot_accept_an_invitation(world):
    home = world.home
    invitation = home.objects["invitation"]
    with scopes_disabled():
        invitee = engagement_services.client_create(
            practice=home.practice, actor=home.owner, name="Invitee", email=invitation.email
        )
    browser = signed_in(invitee)
    url = f"/invitations/{invitation_token(invitation)}/"
    page = browser.get(url)
    assert page.status_code == 403 and PASSWORD_PAGE in page.content.decode()
    refused = browser.post(url)
    assert refused.status_code == 403 and PASSWORD_PAGE in refused.content.decode()
    with scopes_disabled():
        invitee.refresh_from_db()
        assert not Membership.objects.filter(user_id=invitee.user_id).exists()


def test_a_link_session_cannot_create_a_practice_or_open_the_dashboard(world):
    home = world.home
    browser = signed_in(home.objects["client"])
    for url in ["/", "/dashboard/", "/practice/new/"]:
        response = browser.get(url, follow=True)
        assert PASSWORD_PAGE in response.content.decode(), url
        assert response.status_code == 403, url
    created = browser.post("/practice/new/", {"name": "Mine", "time_zone": "UTC"})
    assert created.status_code == 403
    assert browser.get(home_url(home.practice)).status_code == 200  # the portal still opens


def test_a_link_session_that_became_a_member_elsewhere_still_gets_no_dashboard(world):
    home = world.home
    known = home.objects["client"]
    browser = signed_in(known)
    with scopes_disabled():
        known.refresh_from_db()
        Membership.objects.create(practice=home.practice, user_id=known.user_id, role="coach")
    response = browser.get("/dashboard/", follow=True)
    assert response.status_code == 403 and PASSWORD_PAGE in response.content.decode()
    assert browser.get("/api/v1/engagements/").status_code == 403  # nor the API
    # and the week-long link no longer signs that (now member) account in at all
    again = HttpClient().get(link_for(known))
    assert again.status_code == 403 and "Sign in with your password" in again.content.decode()


def test_a_members_link_gets_the_password_page_even_without_a_password(world):
    home = world.home
    coach = home.coach
    coach.set_unusable_password()
    coach.save(update_fields=["password"])
    with scopes_disabled():
        coach_as_client = engagement_services.client_create(
            practice=home.practice, actor=home.owner, name="Coach Too", email=coach.email
        )
    browser = HttpClient()
    response = browser.get(link_for(coach_as_client))
    assert response.status_code == 403
    text = response.content.decode()
    assert "Sign in with your password" in text
    assert "sesame" not in text  # the sign-in page's address does not carry the link
    assert browser.get("/dashboard/").status_code == 302  # not signed in at all
    # Signed in with a password, the kept link opens the portal without being shown again.
    browser.force_login(coach)
    assert browser.get(home_url(home.practice)).status_code == 302
    page = browser.get(home_url(home.practice))
    assert page.status_code == 200 and "Coach Too" in page.content.decode()


# --- Where a sign-in may lead -------------------------------------------------------------
@pytest.mark.parametrize(
    "wanted",
    [
        "{home}?sesame=ATTACKERS-TOKEN",
        "{home}sessions/{uuid}/?sesame=ATTACKERS-TOKEN",
        "{home}#sesame=ATTACKERS-TOKEN",
        "{home}%3Fsesame=ATTACKERS-TOKEN",
        "{home}\\\\evil.example",
        "{home}../../accounts/email/",
        "/portal/practice-other/",
        "https://evil.example{home}",
        "//evil.example{home}",
    ],
)
def test_a_requested_link_leads_only_to_a_bare_page_of_this_portal(
    world, django_capture_on_commit_callbacks, wanted
):
    home = world.home
    session = home.objects["session"]
    next_page = wanted.format(home=home_url(home.practice), uuid=session.public_id)
    with django_capture_on_commit_callbacks(execute=True):
        HttpClient().post(
            f"/portal/{home.practice.slug}/sign-in/",
            {"email": home.objects["client"].email, "next": next_page},
        )
    (message,) = mail.outbox
    (url,) = [u for u in re.findall(r"https?://\S+", message.body) if "sesame=" in u]
    parts = urlsplit(url)
    assert parts.path == home_url(home.practice)
    assert list(parse_qs(parts.query)) == ["sesame"] and "ATTACKER" not in url
    assert not parts.fragment


def test_a_requested_link_may_lead_to_one_of_the_clients_sessions(
    world, django_capture_on_commit_callbacks
):
    home = world.home
    session_path = portal_session_path(home.practice, home.objects["session"].public_id)
    with django_capture_on_commit_callbacks(execute=True):
        HttpClient().post(
            f"/portal/{home.practice.slug}/sign-in/",
            {"email": home.objects["client"].email, "next": session_path},
        )
    (message,) = mail.outbox
    (url,) = [u for u in re.findall(r"https?://\S+", message.body) if "sesame=" in u]
    assert urlsplit(url).path == session_path
