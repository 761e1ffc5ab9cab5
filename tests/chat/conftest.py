"""Slack fixtures: the stand-in on a local port, and set-ups whose Slack task runs after commit.

The tests count the events the receiver stores and the sweep takes back: the world's
sample event (another practice's, there for the tenant sweep) is not one of them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from chat.models import SlackEvent
from engagements.participants import Participant
from engagements.services import NewClient
from sessions_app import services as session_services

from ..kit.slack import serving_slack


@pytest.fixture(autouse=True)
def _no_sample_events(request):
    if "world" not in request.fixturenames:
        return
    request.getfixturevalue("world")
    with scopes_disabled():
        SlackEvent.objects.all().delete()


@pytest.fixture
def slack_standin(settings):
    with serving_slack(settings) as standin:
        yield standin


@pytest.fixture
def per_session(world, django_capture_on_commit_callbacks):
    """`per_session("Jane Doe", "jane@example.org")` → a per-session engagement set up by
    the coach; `run_tasks=False` keeps the Slack task from running (queued only)."""

    def make(name: str, email: str, *, run_tasks: bool = True):
        home = world.home
        with django_capture_on_commit_callbacks(execute=run_tasks) as queued:
            with scopes_disabled():
                engagement = session_services.engagement_create_per_session(
                    practice=home.practice,
                    actor=home.owner,
                    client=NewClient(name=name, email=email),
                    coach=home.coach,
                    first_session_at=None,
                )
        engagement.queued = queued
        return engagement

    return make


@pytest.fixture
def workshop(world, django_capture_on_commit_callbacks):
    def make(title: str, people: list[tuple[str, str]], *, organization=None):
        home = world.home
        with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
            return session_services.engagement_create_team_workshop(
                practice=home.practice,
                actor=home.owner,
                coach=home.coach,
                title=title,
                core_subject="Leading teams",
                organization=organization,
                participants=[Participant(name, email) for name, email in people],
                starts_at=timezone.now() + dt.timedelta(days=10),
            )

    return make
