"""Processing stored Slack events: one claim per attempt, bounded retries that end visibly,
the beat sweep that takes back what a dead worker or a lost broker left, and the admin that
shows a practice's events to its own staff only."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.utils import timezone
from django_scopes import scopes_disabled

from chat import events
from chat.events import (
    HANDLERS,
    MAX_EVENT_ATTEMPTS,
    event_attempt_failed,
    event_claim,
    event_process,
    events_recover,
    slack_event_process,
)
from chat.models import ConnectionMethod, ConnectionStatus, EventStatus, SlackConnection, SlackEvent
from chat.tasks import slack_events_recover_all
from integrations.errors import FailureKind, IntegrationError

from ..kit.http import login
from ..kit.world import OTHER_MARKER


def make_connection(practice, team_id: str = "T0HOME0001") -> SlackConnection:
    with scopes_disabled():
        return SlackConnection.objects.create(
            practice=practice,
            method=ConnectionMethod.OAUTH,
            team_id=team_id,
            team_name="Home Coaching",
            bot_user_id="U0HOMEBOT",
            bot_token="xoxb-home-0123456789",
        )


def make_event(practice, event_type: str = "app_uninstalled", *, team_id="T0HOME0001", **fields):
    """A stored event as the receiver leaves it: received, its processing not yet run."""
    event_id = fields.pop("event_id", f"Ev{time.time_ns()}")
    payload = {
        "type": "event_callback",
        "team_id": team_id,
        "event_id": event_id,
        "event_time": int(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC).timestamp()),
        "event": {"type": event_type},
    }
    with scopes_disabled():
        return SlackEvent.objects.create(
            practice=practice,
            event_id=event_id,
            team_id=team_id,
            type=event_type,
            payload=payload,
            **fields,
        )


def reload(event: SlackEvent) -> SlackEvent:
    with scopes_disabled():
        return SlackEvent.objects.get(pk=event.pk)


def backdate(event: SlackEvent, **fields) -> None:
    with scopes_disabled():
        SlackEvent.objects.filter(pk=event.pk).update(**fields)


@pytest.mark.django_db
def test_two_workers_never_both_claim_an_event(world):
    event = make_event(world.home.practice)
    with scopes_disabled():
        assert event_claim(event_pk=event.pk) is True
        assert event_claim(event_pk=event.pk) is False  # the second worker leaves it
        assert reload(event).status == EventStatus.PROCESSING and reload(event).attempts == 1


@pytest.mark.django_db
def test_a_processed_event_is_not_processed_again(world, monkeypatch):
    make_connection(world.home.practice)
    calls = []
    monkeypatch.setitem(HANDLERS, "star_added", lambda e, c: calls.append(e.pk) or "processed")
    event = make_event(world.home.practice, "star_added")
    for _ in range(2):
        slack_event_process.delay(practice_id=world.home.practice.pk, event_pk=event.pk)
    assert calls == [event.pk]
    assert reload(event).status == EventStatus.PROCESSED


@pytest.mark.django_db
def test_an_event_for_a_workspace_the_practice_left_is_ignored_saying_why(world):
    connection = make_connection(world.home.practice, team_id="T0NEWTEAM1")
    event = make_event(world.home.practice, "app_uninstalled", team_id="T0OLDTEAM1")
    slack_event_process.delay(practice_id=world.home.practice.pk, event_pk=event.pk)
    assert reload(event).status == EventStatus.IGNORED
    assert "no longer connected" in reload(event).error
    with scopes_disabled():
        assert SlackConnection.objects.get(pk=connection.pk).status == ConnectionStatus.CONNECTED


@pytest.mark.django_db
def test_a_failing_handler_run_in_process_leaves_the_event_failed_with_the_error(
    world, monkeypatch
):
    make_connection(world.home.practice)

    def boom(event, connection):
        raise RuntimeError("the invites service is down")

    monkeypatch.setitem(HANDLERS, "team_join", boom)
    event = make_event(world.home.practice, "team_join")
    assert slack_event_process.delay(
        practice_id=world.home.practice.pk, event_pk=event.pk
    ).get() == (EventStatus.FAILED)
    failed = reload(event)
    assert failed.status == EventStatus.FAILED
    assert failed.error == "RuntimeError: the invites service is down"


@pytest.mark.django_db
def test_retries_are_bounded_and_honour_retry_after(world):
    event = make_event(world.home.practice)
    now = timezone.now()
    slow_down = IntegrationError(
        "ratelimited", permanent=False, kind=FailureKind.PROVIDER_FAULT, retry_after=120
    )
    countdowns = []
    with scopes_disabled():
        for _ in range(MAX_EVENT_ATTEMPTS):
            assert event_claim(event_pk=event.pk, now=now)
            countdowns.append(event_attempt_failed(event_pk=event.pk, error=slow_down, now=now))
            if countdowns[-1] is not None:
                row = reload(event)
                assert row.status == EventStatus.RECEIVED
                assert row.retry_at == now + dt.timedelta(seconds=countdowns[-1])
    assert all(c >= 120 for c in countdowns[:-1])  # never asked again sooner than Slack said
    assert countdowns[-1] is None  # the last attempt gives up
    given_up = reload(event)
    assert given_up.status == EventStatus.FAILED and given_up.attempts == MAX_EVENT_ATTEMPTS
    assert "ratelimited" in given_up.error


@pytest.mark.django_db
def test_a_permanent_error_fails_at_once(world):
    event = make_event(world.home.practice)
    refused = IntegrationError("invalid_auth", permanent=True, kind=FailureKind.KEY_REFUSED)
    with scopes_disabled():
        event_claim(event_pk=event.pk)
        assert event_attempt_failed(event_pk=event.pk, error=refused) is None
    assert reload(event).status == EventStatus.FAILED


@pytest.mark.django_db
def test_the_sweep_takes_back_stuck_events_and_leaves_live_ones(
    world, django_capture_on_commit_callbacks
):
    make_connection(world.home.practice)
    now = timezone.now()
    lost = make_event(world.home.practice, "app_uninstalled", event_id="Ev0LOST")
    backdate(lost, received_at=now - dt.timedelta(minutes=6))
    fresh = make_event(world.home.practice, "channel_rename", event_id="Ev0FRESH")
    dead_worker = make_event(world.home.practice, "channel_rename", event_id="Ev0DEAD")
    lapse = dt.timedelta(seconds=django_settings.CELERY_TASK_TIME_LIMIT + 60)
    backdate(dead_worker, status=EventStatus.PROCESSING, claimed_at=now - lapse, attempts=1)
    live_worker = make_event(world.home.practice, "channel_rename", event_id="Ev0LIVE")
    backdate(live_worker, status=EventStatus.PROCESSING, claimed_at=now, attempts=1)
    waiting_retry = make_event(world.home.practice, "channel_rename", event_id="Ev0RETRY")
    backdate(
        waiting_retry,
        received_at=now - dt.timedelta(hours=1),
        retry_at=now + dt.timedelta(minutes=10),
    )

    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert slack_events_recover_all() == 1  # one practice has stuck events: one task
    assert len(queued) == 2  # the lost one and the dead worker's, each queued once
    assert reload(lost).status == EventStatus.PROCESSED
    with scopes_disabled():
        assert (
            SlackConnection.objects.get(practice=world.home.practice).status
            == ConnectionStatus.BROKEN
        )
    assert reload(dead_worker).status == EventStatus.IGNORED  # run again, to its end
    assert reload(dead_worker).attempts == 2
    assert reload(fresh).status == EventStatus.RECEIVED  # its own message is still on its way
    assert reload(live_worker).status == EventStatus.PROCESSING
    assert reload(waiting_retry).status == EventStatus.RECEIVED
    with scopes_disabled():
        assert events_recover(practice_id=world.home.practice.pk) == 0


@pytest.mark.django_db
def test_an_event_that_kills_its_worker_every_time_is_failed_by_the_sweep(world):
    event = make_event(world.home.practice)
    lapse = dt.timedelta(seconds=django_settings.CELERY_TASK_TIME_LIMIT + 60)
    backdate(
        event,
        status=EventStatus.PROCESSING,
        claimed_at=timezone.now() - lapse,
        attempts=MAX_EVENT_ATTEMPTS,
    )
    with scopes_disabled():
        assert events_recover(practice_id=world.home.practice.pk) == 0
    failed = reload(event)
    assert failed.status == EventStatus.FAILED and "stopped at each of" in failed.error


def test_beat_runs_the_sweep_every_minute():
    entry = django_settings.CELERY_BEAT_SCHEDULE["slack-events-recover"]
    assert entry == {"task": "chat.tasks.slack_events_recover_all", "schedule": 60.0}
    assert events.slack_events_recover.name == "chat.events.slack_events_recover"


@pytest.mark.django_db
def test_the_admin_shows_a_practices_slack_events_to_its_own_staff_only(world):
    mine = make_event(world.home.practice, "channel_rename", event_id="Ev0MINE")
    theirs = make_event(world.other.practice, "channel_rename", event_id=f"Ev0{OTHER_MARKER}")
    staff = world.home.owner
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="chat"))
    browser = login(staff, world.home.practice)
    listing = browser.get("/admin/chat/slackevent/")
    assert listing.status_code == 200
    assert b"Ev0MINE" in listing.content and OTHER_MARKER.encode() not in listing.content
    assert browser.get(f"/admin/chat/slackevent/{mine.pk}/change/").status_code == 200
    assert browser.get(f"/admin/chat/slackevent/{theirs.pk}/change/").status_code == 404


@pytest.mark.django_db
def test_the_admin_processes_a_failed_event_again(world, django_capture_on_commit_callbacks):
    make_connection(world.home.practice)
    event = make_event(world.home.practice, "app_uninstalled")
    backdate(event, status=EventStatus.FAILED, attempts=MAX_EVENT_ATTEMPTS, error="Boom")
    staff = world.home.owner
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="chat"))
    browser = login(staff, world.home.practice)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/admin/chat/slackevent/",
            {"action": "process_again", "_selected_action": [event.pk]},
        )
    assert response.status_code == 302
    again = reload(event)
    assert again.status == EventStatus.PROCESSED and again.attempts == 1


@pytest.mark.django_db
def test_event_process_on_a_missing_row_says_gone(world):
    with scopes_disabled():
        assert event_process(event_pk=987654) == "gone"
