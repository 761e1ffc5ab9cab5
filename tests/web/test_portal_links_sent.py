"""The sign-in links the portal sends: which carry a way in (e-mail bodies only), how
asking for one behaves for a client and a stranger, the call log, and that building a
message or a calendar file writes nothing."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from coachhub.models import AuditEntry, IntegrationCall, User
from engagements.models import Client
from engagements.portal import (
    PortalAccountMissing,
    portal_link,
    portal_link_send,
    portal_session_path,
)

from ..kit.booking import book, first_slots, open_all_week
from ..sessions_app.test_invites import event_of, mail_to

pytestmark = pytest.mark.django_db


def _invite_file(booked) -> str:
    """The booking's "Add to calendar" file, from the booking's own page it was sent to."""
    return f"/booking/{booked['Location'].split('/')[2]}/invite.ics"


def _ask(practice, email: str, capture, browser=None):
    with capture(execute=True):
        return (browser or HttpClient()).post(f"/portal/{practice.slug}/sign-in/", {"email": email})


def test_invites_and_ics_files_link_the_portal_without_a_token_and_the_body_with_one(
    world, client, django_capture_on_commit_callbacks
):
    link = open_all_week(world.home.practice, world.home.coach)
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, link, first_slots(client, link)[1])
    (message,) = mail_to("visitor@example.net")
    with scopes_disabled():
        session = Client.objects.get(email="visitor@example.net").sessions.get()
    page = portal_session_path(world.home.practice, session.public_id)
    _, event = event_of(message)
    assert str(event["URL"]).endswith(page) and "sesame" not in str(event["URL"])
    assert "sesame" not in str(event["DESCRIPTION"]) and page in str(event["DESCRIPTION"])
    assert f"{page}?sesame=" in message.body  # the e-mail itself still signs in
    # The booking page's "Add to calendar" file: no way in either.
    ics_file = client.get(_invite_file(response)).content.decode()
    assert page in ics_file.replace("\r\n ", "") and "sesame" not in ics_file


def test_asking_for_a_link_is_limited_per_address_silently(
    world, django_capture_on_commit_callbacks
):
    home = world.home
    known = home.objects["client"]
    answers = [
        _ask(
            home.practice,
            known.email,
            django_capture_on_commit_callbacks,
            HttpClient(REMOTE_ADDR=f"203.0.113.{number}"),
        )
        for number in range(5)
    ]
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1  # the same page every time
    assert len(mail.outbox) == 3
    # Another address is its own count.
    _ask(home.practice, home.objects["seat_client"].email, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 4


def test_the_request_does_not_look_the_address_up_and_the_e_mail_is_logged(
    world, django_capture_on_commit_callbacks
):
    home = world.home
    known = home.objects["client"]
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            HttpClient().post(f"/portal/{home.practice.slug}/sign-in/", {"email": known.email})
    client_table = Client._meta.db_table
    assert not [q for q in queries.captured_queries if client_table in q["sql"]]
    assert len(callbacks) == 1
    callbacks[0]()
    (message,) = mail.outbox
    assert message.to == [known.email]
    with scopes_disabled():
        (call,) = IntegrationCall.objects.filter(operation="portal.link")
    assert call.recipient == known.email and call.outcome == "ok"
    # A stranger: one task too, and nothing sent or logged.
    _ask(home.practice, "nobody@example.net", django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    with scopes_disabled():
        assert IntegrationCall.objects.filter(operation="portal.link").count() == 1


def test_building_a_link_writes_nothing(world):
    known = world.home.objects["client"]
    with scopes_disabled():
        known = Client.objects.select_related("practice", "user").get(pk=known.pk)
        assert known.user is None
        users, audits = User.objects.count(), AuditEntry.objects.count()
        with pytest.raises(PortalAccountMissing):
            portal_link(known)
        assert (User.objects.count(), AuditEntry.objects.count()) == (users, audits)


def test_an_ics_download_makes_no_account(world, client, django_capture_on_commit_callbacks):
    link = open_all_week(world.home.practice, world.home.coach)
    with django_capture_on_commit_callbacks(execute=True):
        response = book(client, link, first_slots(client, link)[1])
    users = User.objects.count()
    with scopes_disabled():
        Client.objects.filter(email="visitor@example.net").update(user=None)
    assert client.get(_invite_file(response)).status_code == 200
    assert User.objects.count() == users
    with scopes_disabled():
        assert Client.objects.get(email="visitor@example.net").user_id is None


def test_a_link_task_queued_before_the_lookup_moved_still_sends(world):
    """Tasks already in the queue at deploy named the client by id, not by address."""
    home = world.home
    known = home.objects["client"]
    portal_link_send.apply(kwargs={"practice_id": home.practice.pk, "client_id": known.pk})
    (message,) = mail.outbox
    assert message.to == [known.email] and "sesame=" in message.body
