"""Signed-in HTTP clients: a persona's browser session, an API token client, a real sign-in."""

from __future__ import annotations

from django.test import Client as HttpClient

from coachhub.models import Practice, User


def login(user: User, practice: Practice | None = None) -> HttpClient:
    client = HttpClient()
    client.force_login(user)
    if practice is not None:
        session = client.session
        session["active_practice_id"] = practice.pk
        session.save()
    return client


def token_client(key: str) -> HttpClient:
    return HttpClient(HTTP_AUTHORIZATION=f"Token {key}")


def can_log_in(email: str, password: str) -> bool:
    """Sign in through the real allauth form, as a person would."""
    browser = HttpClient()
    response = browser.post("/accounts/login/", {"login": email, "password": password})
    return response.status_code == 302 and browser.get("/dashboard/").status_code == 200
