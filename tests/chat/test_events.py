"""POST /slack/events/: signed exactly as Slack signs (the stand-in's `signed_headers`, Slack's
HMAC scheme), verified with the operator's secret or a pasted connection's own; stored once
per practice by event_id; processed after commit; anything unsigned is a 401 with nothing
stored."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import time
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled
from slack_sdk.signature import SignatureVerifier

from chat.events import HANDLERS
from chat.models import ConnectionMethod, ConnectionStatus, EventStatus, SlackConnection, SlackEvent
from devtools.slack_standin import signed_headers

from ..kit.factories import PracticeFactory

OPERATOR_SECRET = "operator-signing-secret-0123456789"
OWN_SECRET = "practice-own-app-secret-9876543210"
HOME_TEAM, OTHER_TEAM = "T0HOME0001", "T0OTHER002"
# 2026-11-30 12:00 UTC: the reasons name the day in the practice's time zone.
EVENT_TIME = int(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC).timestamp())


@pytest.fixture
def slack(world, settings):
    """home: installed with "Add to Slack" (the operator's app); other: its own app, pasted."""
    settings.SLACK_SIGNING_SECRET = OPERATOR_SECRET
    with scopes_disabled():
        home = SlackConnection.objects.create(
            practice=world.home.practice,
            method=ConnectionMethod.OAUTH,
            team_id=HOME_TEAM,
            team_name="Home Coaching",
            bot_user_id="U0HOMEBOT",
            bot_token="xoxb-home-0123456789",
        )
        # The other practice's world already has a connection: make it its own pasted app.
        other = SlackConnection.objects.get(practice=world.other.practice)
        other.method, other.team_id, other.team_name = (
            ConnectionMethod.PASTED,
            OTHER_TEAM,
            "Other Studio",
        )
        other.bot_user_id, other.bot_token = "U0OTHERBOT", "xoxb-other-0123456789"
        other.signing_secret = OWN_SECRET
        other.save()
    return world, home, other


def envelope(event: dict, *, team_id: str = HOME_TEAM, event_id: str | None = None) -> dict:
    """An Events API delivery in Slack's documented `event_callback` envelope."""
    return {
        "token": "verification-token-unused",
        "team_id": team_id,
        "api_app_id": "A0COACHHUB",
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{time.time_ns()}",
        "event_time": EVENT_TIME,
        "authorizations": [{"team_id": team_id, "user_id": "U0BOT", "is_bot": True}],
    }


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def post(client, body: bytes | dict, *, secret: str = OPERATOR_SECRET, headers=None, **kwargs):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = signed_headers(secret, raw) if headers is None else headers
    content_type = kwargs.pop("content_type", "application/json")
    sent = {k: v for k, v in sent.items() if k != "Content-Type"}
    return client.post(
        "/slack/events/", data=raw, content_type=content_type, headers=sent, **kwargs
    )


def stored(practice=None) -> list[SlackEvent]:
    with scopes_disabled():
        events = SlackEvent.objects.order_by("pk")
        return list(events.filter(practice=practice) if practice else events)


def fresh(connection_row: SlackConnection) -> SlackConnection:
    with scopes_disabled():
        return SlackConnection.objects.get(pk=connection_row.pk)


@pytest.mark.django_db
def test_app_uninstalled_signed_by_the_operator_breaks_the_connection_saying_what_to_do(
    slack, client, django_capture_on_commit_callbacks
):
    world, home, _ = slack
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, envelope({"type": "app_uninstalled"}))
    assert response.status_code == 200
    [row] = stored(world.home.practice)
    assert row.status == EventStatus.PROCESSED and row.type == "app_uninstalled"
    broken = fresh(home)
    assert broken.status == ConnectionStatus.BROKEN and broken.broken_at is not None
    assert broken.broken_reason == (
        "Slack says the app was uninstalled from Home Coaching on 30 November 2026. "
        "Add it again on the Integrations page."
    )
    world.home.practice.refresh_from_db()
    with scopes_disabled():
        assert not SlackConnection.objects.get(pk=home.pk).ready
    assert fresh(slack[2]).status == ConnectionStatus.CONNECTED  # another practice untouched


@pytest.mark.django_db
def test_a_pasted_connection_is_verified_with_its_own_secret(
    slack, client, django_capture_on_commit_callbacks
):
    world, home, other = slack
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0OTHERBOT"]}}
    # Slack's exact scheme, computed by slack_sdk itself.
    body = json.dumps(envelope(revoked, team_id=OTHER_TEAM)).encode()
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(OWN_SECRET).generate_signature(timestamp=timestamp, body=body)
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, body, headers=headers)
    assert response.status_code == 200
    [row] = stored(world.other.practice)
    assert row.status == EventStatus.PROCESSED
    assert fresh(other).broken_reason == (
        "Slack says CoachHub's bot token for Other Studio was revoked on 30 November 2026. "
        "Connect the workspace again on the Integrations page."
    )
    assert fresh(home).status == ConnectionStatus.CONNECTED


@pytest.mark.django_db
def test_the_operators_app_cannot_speak_for_a_practices_own_app(
    slack, client, django_capture_on_commit_callbacks
):
    """Signed with the operator's secret, an event naming a team that only a pasted
    connection has is acknowledged but concerns no practice."""
    _, _, other = slack
    revoked = {"type": "tokens_revoked", "tokens": {"bot": ["U0OTHERBOT"]}}
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, envelope(revoked, team_id=OTHER_TEAM), secret=OPERATOR_SECRET)
    assert response.status_code == 200
    assert stored() == []
    assert fresh(other).status == ConnectionStatus.CONNECTED


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case", ["bad_signature", "stale", "future", "missing_headers", "another_secret", "no_secret"]
)
def test_unsigned_requests_are_401_and_store_nothing(slack, client, settings, case):
    _, home, _ = slack
    body = json.dumps(envelope({"type": "app_uninstalled"})).encode()
    headers = signed_headers(OPERATOR_SECRET, body)
    if case == "bad_signature":
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif case == "stale":
        headers = signed_headers(OPERATOR_SECRET, body, timestamp=int(time.time()) - 301)
    elif case == "future":
        headers = signed_headers(OPERATOR_SECRET, body, timestamp=int(time.time()) + 400)
    elif case == "missing_headers":
        headers = {}
    elif case == "another_secret":
        headers = signed_headers(OWN_SECRET, body)  # the other practice's app, not home's
    elif case == "no_secret":
        settings.SLACK_SIGNING_SECRET = ""  # nothing configured: nothing can be verified
    response = post(client, body, headers=headers)
    assert response.status_code == 401
    assert "not signed" in response.json()["error"]
    assert stored() == []
    assert fresh(home).status == ConnectionStatus.CONNECTED


@pytest.mark.django_db
def test_a_replayed_event_id_is_stored_once_and_acted_on_once(
    slack, client, django_capture_on_commit_callbacks, monkeypatch
):
    world, home, _ = slack
    effects = []
    monkeypatch.setitem(
        HANDLERS, "reaction_added", lambda event, conn: effects.append(event.pk) or "processed"
    )
    delivery = envelope({"type": "reaction_added", "reaction": "tada"}, event_id="Ev0REPLAY")
    body = json.dumps(delivery).encode()
    with django_capture_on_commit_callbacks(execute=True):
        first = post(client, body)
    retry = signed_headers(OPERATOR_SECRET, body)
    retry.update({"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    with django_capture_on_commit_callbacks(execute=True):
        again = post(client, body, headers=retry)
    assert first.status_code == again.status_code == 200
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    [row] = stored(world.home.practice)
    assert row.event_id == "Ev0REPLAY" and row.status == EventStatus.PROCESSED
    assert effects == [row.pk]


@pytest.mark.django_db
def test_url_verification_echoes_the_challenge_only_when_signed(slack, client):
    challenge = {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    challenge["type"] = "url_verification"
    response = post(client, challenge)
    assert response.status_code == 200
    assert response.json() == {"challenge": challenge["challenge"]}
    # A practice's own app sets its Request URL after pasting its token and secret.
    assert post(client, challenge, secret=OWN_SECRET).json() == {
        "challenge": challenge["challenge"]
    }
    assert post(client, challenge, secret="someone-else").status_code == 401
    assert stored() == []


@pytest.mark.django_db
def test_an_event_type_coachhub_does_not_act_on_is_kept_as_ignored(
    slack, client, django_capture_on_commit_callbacks
):
    world, home, _ = slack
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, envelope({"type": "channel_rename", "channel": {"id": "C1"}}))
    assert response.status_code == 200
    [row] = stored(world.home.practice)
    assert row.status == EventStatus.IGNORED and row.processed_at is not None
    assert fresh(home).status == ConnectionStatus.CONNECTED


@pytest.mark.django_db
def test_only_user_tokens_revoked_leaves_the_bot_connection_alone(
    slack, client, django_capture_on_commit_callbacks
):
    world, home, _ = slack
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": ["U0SOMEONE"]}}
    with django_capture_on_commit_callbacks(execute=True):
        post(client, envelope(revoked))
    [row] = stored(world.home.practice)
    assert row.status == EventStatus.IGNORED
    assert fresh(home).status == ConnectionStatus.CONNECTED


@pytest.mark.django_db
def test_a_team_no_practice_has_is_acknowledged_and_not_stored(slack, client, caplog):
    with caplog.at_level(logging.WARNING, logger="chat.events"):
        response = post(client, envelope({"type": "app_uninstalled"}, team_id="T0NOBODY99"))
    assert response.status_code == 200
    assert stored() == []
    assert "T0NOBODY99" in caplog.text and "not stored" in caplog.text


@pytest.mark.django_db
def test_an_oversize_body_is_413_before_it_is_read(slack, client):
    body = b'{"type":"event_callback","pad":"' + b"x" * (1024 * 1024) + b'"}'
    response = post(client, body)
    assert response.status_code == 413
    assert stored() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"this is not json", "not JSON"),
        (b'["a", "list"]', "no `type`"),
        (json.dumps({"type": "event_callback", "team_id": HOME_TEAM}).encode(), "event_id"),
        (
            json.dumps({"type": "event_callback", "team_id": HOME_TEAM, "event_id": "E1"}).encode(),
            "`event` with a `type`",
        ),
        (json.dumps({"type": "url_verification"}).encode(), "challenge"),
        (b'{"type": "event_callback", "team_id": "T0HOME0001", "x": NaN}', "not JSON"),
        (
            json.dumps(envelope({"type": "message", "text": "a\u0000b"})).encode(),
            "NUL character",
        ),
        (
            json.dumps({**envelope({"type": "message"}), "deep": nested(70)}).encode(),
            "nested deeper",
        ),
    ],
)
def test_signed_bodies_of_the_wrong_shape_are_400_with_a_message(slack, client, body, message):
    response = post(client, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert stored() == []


@pytest.mark.django_db
def test_an_unsigned_body_that_is_not_json_is_still_a_401(slack, client):
    assert post(client, b"not json", headers={}).status_code == 401


@pytest.mark.django_db
def test_a_body_that_is_not_utf8_is_a_401_not_a_crash(slack, client):
    """Slack signs UTF-8 text; slack_sdk's verifier raises on other bytes."""
    body = b"\xff\xfe not utf-8"
    assert post(client, body).status_code == 401
    assert post(client, body, headers={}).status_code == 401


@pytest.mark.django_db
def test_interactivity_is_verified_acknowledged_and_kept(
    slack, client, django_capture_on_commit_callbacks
):
    world, _, _ = slack
    payload = {
        "type": "block_actions",
        "team": {"id": HOME_TEAM, "domain": "home"},
        "user": {"id": "U0CLIENT"},
        "trigger_id": "1234.5678.abcdef",
        "actions": [{"action_id": "noop"}],
    }
    form = urlencode({"payload": json.dumps(payload)}).encode()
    content_type = "application/x-www-form-urlencoded"
    unsigned = post(client, form, headers={}, content_type=content_type)
    assert unsigned.status_code == 401
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, form, content_type=content_type)
        again = post(client, form, content_type=content_type)
    assert response.status_code == again.status_code == 200
    [row] = stored(world.home.practice)
    assert row.type == "block_actions" and row.event_id == "interaction:1234.5678.abcdef"
    assert row.status == EventStatus.IGNORED
    no_payload = post(client, b"other=1", content_type=content_type)
    assert no_payload.status_code == 400 and "payload" in no_payload.json()["error"]


@pytest.mark.django_db
def test_the_answer_costs_two_statements_and_no_outside_call(slack, client, monkeypatch):
    """Slack waits three seconds: the connection lookup and the INSERT, nothing else; the
    first request of a minute also notes that Slack reaches the connection (one UPDATE).
    Processing is enqueued after commit, which the test transaction never reaches."""

    def no_network(*args, **kwargs):
        raise AssertionError("the receiver made an outside call")

    monkeypatch.setattr(socket, "create_connection", no_network)
    budgets = []
    for budget in (3, 2):  # the first notes the time; the next, within the minute, does not
        with CaptureQueriesContext(connection) as queries:
            response = post(client, envelope({"type": "app_uninstalled"}))
        assert response.status_code == 200
        statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
        assert len(statements) <= budget, [sql[:80] for sql in statements]
        budgets.append(len(statements))
    assert budgets == [3, 2]
    assert len(stored()) == 2
    _, home, _ = slack
    assert fresh(home).events_last_received_at is not None


@pytest.mark.django_db
def test_the_event_is_stored_for_every_practice_connected_to_the_team(
    world, settings, client, django_capture_on_commit_callbacks
):
    """Two practices may share a workspace through the operator's app: each gets its row."""
    settings.SLACK_SIGNING_SECRET = OPERATOR_SECRET
    with scopes_disabled():
        SlackConnection.objects.filter(practice=world.other.practice).delete()
        for side in (world.home, world.other):
            SlackConnection.objects.create(
                practice=side.practice,
                method=ConnectionMethod.OAUTH,
                team_id=HOME_TEAM,
                team_name="Shared",
                bot_token=f"xoxb-{side.practice.pk}",
            )
    with django_capture_on_commit_callbacks(execute=True):
        post(client, envelope({"type": "app_uninstalled"}))
    both = {world.home.practice.pk, world.other.practice.pk}
    assert {row.practice_id for row in stored()} == both
    with scopes_disabled():
        assert set(SlackConnection.objects.values_list("status", flat=True)) == {"broken"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_event_delivered_twice_at_once_has_one_row_and_one_effect(settings, monkeypatch):
    """Slack's retry can overlap the first delivery: the unique key and the claim hold."""
    settings.SLACK_SIGNING_SECRET = OPERATOR_SECRET
    practice = PracticeFactory()
    with scopes_disabled():
        SlackConnection.objects.create(
            practice=practice, method=ConnectionMethod.OAUTH, team_id=HOME_TEAM, bot_token="xoxb-1"
        )
    effects = []
    monkeypatch.setitem(
        HANDLERS, "reaction_added", lambda event, conn: effects.append(event.pk) or "processed"
    )
    body = json.dumps(envelope({"type": "reaction_added"}, event_id="Ev0TWICE")).encode()
    barrier, answers = threading.Barrier(4), []

    def deliver() -> None:
        try:
            barrier.wait()
            answers.append(post(HttpClient(), body).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200, 200, 200]
    [row] = stored()
    assert row.status == EventStatus.PROCESSED
    assert effects == [row.pk]


# --- Which install an event speaks for ---------------------------------------------
def _set(row: SlackConnection, **changes) -> None:
    with scopes_disabled():
        SlackConnection.objects.filter(pk=row.pk).update(**changes)


@pytest.mark.django_db
def test_a_disconnected_pasted_app_is_never_verified_with_the_operators_secret(
    slack, client, django_capture_on_commit_callbacks
):
    world, _, other = slack
    _set(other, status=ConnectionStatus.BROKEN, broken_at=timezone.now())
    with scopes_disabled():
        wiped = SlackConnection.objects.get(pk=other.pk)
        wiped.signing_secret = ""
        wiped.save(update_fields=["signing_secret"])
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, envelope({"type": "app_uninstalled"}, team_id=OTHER_TEAM))
    assert response.status_code == 200  # the operator signed it: acknowledged, not stored
    assert stored(world.other.practice) == []
    assert fresh(other).broken_reason == ""


@pytest.mark.django_db
def test_a_connection_broken_long_ago_stores_no_events(slack, client):
    world, home, _ = slack
    _set(home, status=ConnectionStatus.BROKEN, broken_at=timezone.now() - dt.timedelta(hours=2))
    assert post(client, envelope({"type": "app_uninstalled"})).status_code == 200
    assert stored(world.home.practice) == []


@pytest.mark.django_db
def test_an_uninstall_of_another_app_leaves_the_connection_alone(
    slack, client, django_capture_on_commit_callbacks
):
    world, home, _ = slack
    _set(home, app_id="A0OURAPP")
    with django_capture_on_commit_callbacks(execute=True):
        post(client, envelope({"type": "app_uninstalled"}))  # api_app_id A0COACHHUB
        revoked = {"type": "tokens_revoked", "tokens": {"bot": ["U0HOMEBOT"]}}
        post(client, envelope(revoked))
    assert [row.status for row in stored(world.home.practice)] == [EventStatus.IGNORED] * 2
    assert fresh(home).status == ConnectionStatus.CONNECTED


@pytest.mark.django_db
def test_an_uninstall_from_before_a_reconnect_does_not_break_the_new_connection(
    slack, client, django_capture_on_commit_callbacks
):
    world, home, _ = slack
    reconnected = dt.datetime.fromtimestamp(EVENT_TIME, tz=dt.UTC) + dt.timedelta(minutes=1)
    _set(home, connected_at=reconnected)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, envelope({"type": "app_uninstalled"}))
        revoked = {"type": "tokens_revoked", "tokens": {"bot": ["U0HOMEBOT"]}}
        post(client, envelope(revoked))
    assert [row.status for row in stored(world.home.practice)] == [EventStatus.IGNORED] * 2
    assert fresh(home).status == ConnectionStatus.CONNECTED
    # One sent after the reconnect is about this install.
    _set(home, connected_at=reconnected - dt.timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        post(client, envelope({"type": "app_uninstalled"}))
    assert fresh(home).status == ConnectionStatus.BROKEN
