"""Accounts through django-allauth: sign-up makes a practice; login is rate-limited; 2FA exists."""

import re

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django_scopes import scopes_disabled

from coachhub.models import Membership, Role, User
from engagements.models import CollectionTemplate

from ..kit.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_signup_creates_user_and_practice_and_verifies_email():
    browser = HttpClient()
    response = browser.post(
        "/accounts/signup/",
        {
            "email": "new.coach@example.com",
            "password1": "a sturdy passphrase 42",
            "password2": "a sturdy passphrase 42",
            "practice_name": "Bright Path Coaching",
            "time_zone": "America/New_York",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.coach@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER
    assert membership.practice.slug == "bright-path-coaching"
    assert membership.practice.time_zone == "America/New_York"
    with scopes_disabled():
        names = set(
            CollectionTemplate.objects.filter(practice=membership.practice).values_list(
                "name", flat=True
            )
        )
    assert names == {"Coaching / Mentorship", "Team workshop"}
    # Mandatory verification: the e-mail carries a confirmation link that works.
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/confirm-email/\S+/)", mail.outbox[0].body)
    assert link
    browser.post(link.group(1))
    assert user.emailaddress_set.get().verified
    browser.post(
        "/accounts/login/", {"login": "new.coach@example.com", "password": "a sturdy passphrase 42"}
    )
    assert "Bright Path Coaching" in browser.get("/dashboard/").content.decode()


def test_signup_requires_a_practice_name():
    response = HttpClient().post(
        "/accounts/signup/",
        {
            "email": "x@example.com",
            "password1": "a sturdy passphrase 42",
            "password2": "a sturdy passphrase 42",
            "practice_name": "",
            "time_zone": "Europe/London",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="x@example.com").exists()


def test_login_is_rate_limited_after_repeated_failures():
    from allauth.account.models import EmailAddress

    user = UserFactory(email="target@example.com")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    browser = HttpClient()
    for _ in range(5):
        response = browser.post("/accounts/login/", {"login": user.email, "password": "wrong"})
        assert response.status_code == 200
    blocked = browser.post(
        "/accounts/login/", {"login": user.email, "password": "correct horse battery staple"}
    )
    # Even the right password is refused until the window passes, and the form says why.
    assert "Too many failed login attempts" in blocked.content.decode()
    assert browser.get("/dashboard/").status_code == 302


def test_two_factor_setup_is_available(world):
    browser = HttpClient()
    browser.force_login(world.home.owner)
    assert browser.get("/accounts/2fa/").status_code == 200
    page = browser.get("/accounts/2fa/totp/activate/")
    assert page.status_code in (200, 302)


def test_a_user_without_a_practice_is_asked_to_create_one():
    user = UserFactory()
    browser = HttpClient()
    browser.force_login(user)
    response = browser.get("/dashboard/")
    assert response.status_code == 302 and response["Location"] == "/practice/new/"
    created = browser.post("/practice/new/", {"name": "Second Wind", "time_zone": "Europe/Paris"})
    assert created.status_code == 302
    assert browser.get("/dashboard/").status_code == 200


def test_password_reset_sends_a_working_link():
    from allauth.account.models import EmailAddress

    user = UserFactory(email="forgetful@example.com")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    browser = HttpClient()
    assert browser.post("/accounts/password/reset/", {"email": user.email}).status_code == 302
    link = re.search(r"http://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    assert link
    form_page = browser.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    done = browser.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": "a brand new passphrase 7", "password2": "a brand new passphrase 7"},
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a brand new passphrase 7")
