"""Hostile input to the Slack endpoints is refused with a clear answer, never a 500: a NUL
in a team id, a timestamp or signature that only looks like one, an invite link that is
not an address, an OAuth state or code carrying a NUL."""

from __future__ import annotations

import html
import json
import time

import pytest
from django_scopes import scopes_disabled

from chat.models import SlackConnection, SlackOAuthState
from devtools.slack_standin import signed_headers
from integrations.slack.signing import request_is_signed

from ..kit.slack import connection_of
from .test_events import (
    HOME_TEAM,
    OPERATOR_SECRET,
    envelope,
    post,
    slack,  # noqa: F401  (the fixture)
    stored,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("slack")]


@pytest.mark.parametrize(
    "team_id", ["T0HOME\u00000001", "t0lower", "T" * 33, "T0HOME 0001", "Ｔ0WIDE"]
)
def test_an_unsigned_body_naming_a_team_id_slack_never_sends_is_a_401(client, team_id):
    body = json.dumps(envelope({"type": "app_uninstalled"}, team_id=team_id)).encode()
    response = post(client, body, headers={})
    assert response.status_code == 401
    assert stored() == []


def test_a_signed_body_naming_many_teams_looks_up_only_the_first_few(client):
    delivery = envelope({"type": "app_uninstalled"})
    delivery["authorizations"] = [{"team_id": f"T{n:09d}"} for n in range(5000)]
    delivery["authorizations"].append({"team_id": HOME_TEAM})
    response = post(client, json.dumps(delivery).encode(), headers={})
    assert response.status_code == 401


def test_a_body_with_a_nul_in_its_team_id_and_text_is_refused_not_routed(client):
    delivery = envelope({"type": "message", "text": "a\u0000b"}, team_id="T0\u0000HOME")
    response = post(client, json.dumps(delivery).encode())
    assert response.status_code == 400
    assert "NUL character" in response.json()["error"]
    assert stored() == []


def _headers(body: bytes, **changes) -> dict:
    headers = signed_headers(OPERATOR_SECRET, body)
    headers.update(changes)
    return headers


@pytest.mark.parametrize(
    "changes",
    [
        {"X-Slack-Request-Timestamp": "²"},
        {"X-Slack-Request-Timestamp": "١٧٠٠٠٠٠٠٠٠"},  # Arabic-Indic digits
        {"X-Slack-Request-Timestamp": "9" * 40},
        {"X-Slack-Signature": "v0=" + "é" * 64},
        {"X-Slack-Signature": "v0=ＡＢ"},
        {"X-Slack-Signature": "v1=" + "0" * 64},
    ],
)
def test_a_timestamp_or_signature_that_only_looks_right_is_a_401(client, changes):
    body = json.dumps(envelope({"type": "app_uninstalled"})).encode()
    response = post(client, body, headers=_headers(body, **changes))
    assert response.status_code == 401
    assert stored() == []


def test_the_verifier_says_no_rather_than_raising():
    body = b'{"type":"event_callback"}'
    good = signed_headers(OPERATOR_SECRET, body, timestamp=int(time.time()))
    assert request_is_signed(signing_secret=OPERATOR_SECRET, body=body, headers=good)
    for bad in ({**good, "X-Slack-Request-Timestamp": "²"}, {**good, "X-Slack-Signature": "v0=ü"}):
        assert not request_is_signed(signing_secret=OPERATOR_SECRET, body=body, headers=bad)


CALLBACK = "/dashboard/integrations/slack/callback/"


@pytest.mark.parametrize(
    "link",
    [
        "https://[join.slack.com/t/a/shared_invite/zt-1",
        "https://join.slack.com/t/a b/shared_invite/zt-1",
    ],
)
def test_an_invite_link_that_is_not_an_address_says_so(world, as_member, link):
    owner = as_member("owner")
    response = owner.post("/dashboard/integrations/slack/plan/", {"invite_link": link})
    assert response.status_code == 200
    assert "That is not a Slack invite link" in html.unescape(response.content.decode())
    assert connection_of(world.home.practice).invite_link == ""


@pytest.mark.parametrize(
    "query",
    [
        {"code": "c", "state": "a\u0000b"},
        {"code": "c", "state": "x" * 5000},
        {"code": "a\u0000b" * 1000, "state": "forged"},
        {"error": "access\u0000denied" * 1000, "state": "forged"},
    ],
)
def test_a_callback_carrying_a_nul_or_a_megabyte_is_refused_in_words(world, as_member, query):
    response = as_member("owner").get(CALLBACK, query, follow=True)
    assert response.status_code == 200
    assert "was not started from this practice" in html.unescape(response.content.decode())
    with scopes_disabled():
        assert SlackConnection.objects.get(practice=world.home.practice).team_id == HOME_TEAM


def test_slacks_error_in_the_callback_is_shown_cut_down(world, as_member):
    with scopes_disabled():
        SlackOAuthState.objects.create(
            practice=world.home.practice, user=world.home.owner, state="s" * 43
        )
    response = as_member("owner").get(
        CALLBACK, {"state": "s" * 43, "error": "weird\u0000<b>" + "x" * 500}, follow=True
    )
    page = html.unescape(response.content.decode())
    assert f"Slack did not install the app (weirdb{'x' * 58})" in page
