"""Prep questionnaires: sent once at the practice's lead time, answered in the portal until
the session starts, and shown on the coach's session page."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django_scopes import scopes_disabled

from caring.models import PrepAnswer, SessionPrep
from caring.selectors import prep_missing_soon
from caring.tasks import preps_send
from coachhub.models import CallProvider, IntegrationCall
from coachhub.tenancy import practice_scope

from ..web.test_portal import links_in, signed_in

pytestmark = pytest.mark.django_db


def _prep_path(practice, session) -> str:
    return f"/portal/{practice.slug}/sessions/{session.public_id}/prep/"


def _sweep(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        preps_send()


def _prep_mails(client):
    return [m for m in mail.outbox if m.to == [client.email] and "Before your session" in m.subject]


def test_prep_goes_out_once_at_the_practices_lead_time(
    home, session, django_capture_on_commit_callbacks
):
    client = home.objects["client"]
    with scopes_disabled():
        home.practice.prep_lead_hours = 24
        home.practice.save(update_fields=["prep_lead_hours"])
    mail.outbox.clear()
    with time_machine.travel(session.starts_at - dt.timedelta(hours=25), tick=False):
        _sweep(django_capture_on_commit_callbacks)
    assert _prep_mails(client) == []  # not yet: 25 hours before
    for minutes in (0, 5, 10):  # beat every five minutes after the lead time
        moment = session.starts_at - dt.timedelta(hours=24) + dt.timedelta(minutes=minutes)
        with time_machine.travel(moment, tick=False):
            _sweep(django_capture_on_commit_callbacks)
    (message,) = _prep_mails(client)
    assert "What would make this session most valuable for you?" in message.body
    assert any(link.startswith(_prep_path(home.practice, session)) for link in links_in(message))
    with scopes_disabled():
        prep = SessionPrep.objects.get(session=session)
        assert prep.sent_at is not None and prep.emailed_at is not None
        assert (
            IntegrationCall.objects.filter(
                practice=home.practice, provider=CallProvider.EMAIL, operation="caring.prep"
            ).count()
            == 1
        )


def test_the_client_answers_in_the_portal_and_the_coach_reads_them(
    home, session, as_member, django_capture_on_commit_callbacks
):
    client = home.objects["client"]
    browser = signed_in(client)
    path = _prep_path(home.practice, session)
    page = browser.get(path).content.decode()
    assert "Where did you get stuck on your commitments?" in page
    answer = {"answer_0": "Clarity on my promotion case", "answer_1": "", "answer_2": "Time"}
    response = browser.post(path, answer)
    assert response.status_code == 302
    assert "Clarity on my promotion case" in browser.get(path).content.decode()
    # Changed before the session starts: one answer kept, the latest.
    browser.post(path, {**answer, "answer_1": "A hard talk with my manager"})
    with scopes_disabled():
        (stored,) = PrepAnswer.objects.filter(client=client, prep__session=session)
        assert stored.answers[1] == "A hard talk with my manager"
    coach_page = as_member("coach").get(session.get_absolute_url()).content.decode()
    assert "Clarity on my promotion case" in coach_page
    assert "A hard talk with my manager" in coach_page
    # The session has started: answers are closed, shown but not editable.
    with time_machine.travel(session.starts_at + dt.timedelta(minutes=1), tick=False):
        refused = browser.post(path, {**answer, "answer_0": "Too late"})
        assert refused.status_code == 400
        assert "answers are closed" in refused.content.decode()
    with scopes_disabled():
        assert (
            PrepAnswer.objects.get(client=client, prep__session=session).answers[0]
            == "Clarity on my promotion case"
        )


def test_empty_answers_are_refused_with_a_message(home, session):
    browser = signed_in(home.objects["client"])
    response = browser.post(_prep_path(home.practice, session), {"answer_0": "  "})
    assert response.status_code == 400
    assert "Answer at least one question" in response.content.decode()


def test_prep_missing_soon_lists_a_session_sent_but_unanswered(
    home, session, django_capture_on_commit_callbacks
):
    with time_machine.travel(session.starts_at - dt.timedelta(hours=30), tick=False):
        _sweep(django_capture_on_commit_callbacks)
        now = session.starts_at - dt.timedelta(hours=20)
        with practice_scope(home.practice):
            assert list(prep_missing_soon(home.practice, now=now)) == [session]
            assert list(prep_missing_soon(home.practice, coach=home.owner, now=now)) == []
            assert list(prep_missing_soon(home.practice, now=now - dt.timedelta(hours=9))) == []
    browser = signed_in(home.objects["client"])
    browser.post(_prep_path(home.practice, session), {"answer_0": "Ready"})
    with practice_scope(home.practice):
        assert list(prep_missing_soon(home.practice, now=now)) == []
