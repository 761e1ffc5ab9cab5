"""Commitments: the client marks theirs done in the portal; a missed one is flagged once
(its due date passed in the practice's zone) and shown on the client page and the next
session's; the client is reminded once, at the practice's reminder time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from caring import services
from caring.models import Commitment, CommitmentOwner, CommitmentStatus
from caring.tasks import commitments_sweep
from coachhub.models import AuditEntry
from coachhub.tenancy import practice_scope

from ..web.test_portal import links_in, signed_in

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


def _commitment(home, session, membership, *, text="Update the CV", due_on, owner="client"):
    with practice_scope(home.practice):
        return services.commitment_create(
            session=session, membership=membership("coach"), text=text, owner=owner, due_on=due_on
        )


def _sweep_at(moment: dt.datetime, capture):
    with time_machine.travel(moment, tick=False), capture(execute=True):
        commitments_sweep()


def _reminders(client):
    return [m for m in mail.outbox if m.to == [client.email] and "committed to" in m.subject]


def test_the_client_marks_a_commitment_done_in_the_portal(home, session, membership, as_member):
    commitment = _commitment(home, session, membership, due_on=dt.date(2031, 1, 10))
    portal = signed_in(home.objects["client"])
    home_page = portal.get(f"/portal/{home.practice.slug}/").content.decode()
    assert "Update the CV" in home_page and "Mark done" in home_page
    response = portal.post(f"/portal/{home.practice.slug}/commitments/{commitment.pk}/done/")
    assert response.status_code == 302
    with scopes_disabled():
        commitment.refresh_from_db()
        assert commitment.status == CommitmentStatus.DONE and commitment.done_at
        assert AuditEntry.objects.filter(action="commitment.done", object_id=commitment.pk).exists()
    assert "Done" in portal.get(f"/portal/{home.practice.slug}/").content.decode()
    coach_page = as_member("coach").get(session.get_absolute_url()).content.decode()
    assert 'badge completed">Done' in coach_page


def test_a_coachs_commitment_is_not_the_clients_to_mark(home, session, membership):
    commitment = _commitment(
        home,
        session,
        membership,
        text="Send notes",
        owner=CommitmentOwner.COACH,
        due_on=dt.date(2031, 1, 10),
    )
    portal = signed_in(home.objects["client"])
    portal.post(f"/portal/{home.practice.slug}/commitments/{commitment.pk}/done/")
    with scopes_disabled():
        commitment.refresh_from_db()
    assert commitment.status == CommitmentStatus.OPEN


def test_a_missed_commitment_is_flagged_once_and_the_client_reminded_once(
    home, session, membership, as_member, django_capture_on_commit_callbacks
):
    client = home.objects["client"]
    commitment = _commitment(home, session, membership, due_on=dt.date(2030, 6, 10))
    mail.outbox.clear()
    # The due day itself, late evening in London: not missed yet.
    _sweep_at(dt.datetime(2030, 6, 10, 23, 30, tzinfo=LONDON), django_capture_on_commit_callbacks)
    with scopes_disabled():
        commitment.refresh_from_db()
    assert commitment.missed_at is None
    # Just after midnight in London (still the 10th in UTC during summer time): flagged.
    _sweep_at(dt.datetime(2030, 6, 11, 0, 10, tzinfo=LONDON), django_capture_on_commit_callbacks)
    with scopes_disabled():
        commitment.refresh_from_db()
    flagged_at = commitment.missed_at
    assert flagged_at is not None
    assert _reminders(client) == []  # the reminder waits for 09:00 practice time
    for hour, minute in ((9, 0), (9, 15), (13, 0)):
        moment = dt.datetime(2030, 6, 11, hour, minute, tzinfo=LONDON)
        _sweep_at(moment, django_capture_on_commit_callbacks)
    _sweep_at(dt.datetime(2030, 6, 12, 9, 0, tzinfo=LONDON), django_capture_on_commit_callbacks)
    (reminder,) = _reminders(client)
    assert "Update the CV" in reminder.body
    (link,) = links_in(reminder)
    assert HttpClient().get(link).status_code == 302  # the link signs the client in
    with scopes_disabled():
        commitment.refresh_from_db()
        assert commitment.missed_at == flagged_at  # flagged once, never again
        flags = AuditEntry.objects.filter(action="commitment.missed", object_id=commitment.pk)
        assert flags.count() == 1
    client_page = as_member("coach").get(f"/clients/{client.pk}/").content.decode()
    assert "Missed commitments" in client_page and "Update the CV" in client_page
    assert "1 missed commitment" in as_member("coach").get("/clients/").content.decode()


def test_the_reminder_goes_at_the_time_the_practice_chose(
    home, session, membership, django_capture_on_commit_callbacks
):
    with scopes_disabled():
        home.practice.commitment_reminder_time = dt.time(17, 30)
        home.practice.save(update_fields=["commitment_reminder_time"])
    _commitment(home, session, membership, due_on=dt.date(2030, 6, 10))
    mail.outbox.clear()
    _sweep_at(dt.datetime(2030, 6, 11, 9, 0, tzinfo=LONDON), django_capture_on_commit_callbacks)
    assert _reminders(home.objects["client"]) == []
    _sweep_at(dt.datetime(2030, 6, 11, 17, 30, tzinfo=LONDON), django_capture_on_commit_callbacks)
    assert len(_reminders(home.objects["client"])) == 1


def test_a_commitment_done_in_time_is_never_flagged(
    home, session, membership, django_capture_on_commit_callbacks
):
    commitment = _commitment(home, session, membership, due_on=dt.date(2030, 6, 10))
    with practice_scope(home.practice):
        services.commitment_done_by_client(commitment=commitment, client=home.objects["client"])
    mail.outbox.clear()
    _sweep_at(dt.datetime(2030, 6, 12, 10, 0, tzinfo=LONDON), django_capture_on_commit_callbacks)
    with scopes_disabled():
        commitment.refresh_from_db()
    assert commitment.missed_at is None and _reminders(home.objects["client"]) == []


def _session_page_queries(browser, session) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(session.get_absolute_url())
    assert response.status_code == 200
    return len(queries)


def test_the_session_page_costs_the_same_with_3_or_30_commitments(
    home, session, membership, as_member
):
    coach = as_member("coach")
    for number in range(3):
        _commitment(home, session, membership, text=f"Step {number}", due_on=dt.date(2031, 1, 1))
    coach.get(session.get_absolute_url())  # warm the caches a first visit fills
    with_three = _session_page_queries(coach, session)
    with scopes_disabled():
        Commitment.objects.bulk_create(
            Commitment(
                practice=home.practice,
                engagement=session.engagement,
                session=session,
                client=home.objects["client"],
                text=f"More {number}",
                due_on=dt.date(2031, 1, 1),
                missed_at=None if number % 2 else dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
            )
            for number in range(27)
        )
    assert _session_page_queries(coach, session) == with_three
