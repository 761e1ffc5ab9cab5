"""The Slack stand-in answers the real `slack_sdk` as Slack would: documented shapes and
error codes, 429 with `Retry-After`, 5xx, the OAuth install, and signed event deliveries.
Driven only through `slack_sdk.WebClient` and plain HTTP."""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.signature import SignatureVerifier

from devtools.slack_standin import StandIn, signed_headers

SECRET = "test-signing-secret"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def standin():
    fake = StandIn(signing_secret=SECRET, client_id="123.456", client_secret="shh")
    server = fake.serve()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def team(standin):
    return standin.team_add(name="Acme coaching", plan="free")


@pytest.fixture
def client(standin, team):
    return WebClient(token=team.bot_token, base_url=standin.base_url)


def refused(call, **kwargs) -> SlackApiError:
    """The SlackApiError a call raises (the test fails if it succeeds)."""
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    return caught.value


def private_channel(client, name="ann-coaching") -> str:
    return client.conversations_create(name=name, is_private=True)["channel"]["id"]


# --- auth ---------------------------------------------------------------------------
def test_auth_test_says_which_workspace_and_bot(standin, team, client):
    answer = client.auth_test()
    assert answer.status_code == 200
    assert answer["ok"] is True
    assert answer["url"] == "https://acme-coaching.slack.com/"
    assert answer["team"] == "Acme coaching"
    assert answer["team_id"] == team.id and team.id.startswith("T")
    assert answer["user_id"] == team.bot_user_id and answer["bot_id"].startswith("B")
    assert team.bot_token.startswith("xoxb-")


def test_bad_tokens_are_refused_with_slacks_codes(standin, team):
    assert refused(WebClient(base_url=standin.base_url).auth_test).response["error"] == "not_authed"
    wrong = WebClient(token="xoxb-1-2-nope", base_url=standin.base_url)
    assert refused(wrong.auth_test).response["error"] == "invalid_auth"


def test_a_revoked_token_stops_working(standin, team, client):
    assert client.auth_revoke(test=True)["revoked"] is False  # test mode keeps it
    assert client.auth_test()["ok"]
    assert client.auth_revoke()["revoked"] is True
    error = refused(client.auth_test)
    assert error.response.status_code == 200
    assert error.response["error"] == "token_revoked"


def test_token_revoke_switch(standin, team, client):
    standin.token_revoke(team.bot_token)
    assert refused(client.chat_postMessage, channel="C1", text="hi").response["error"] == (
        "token_revoked"
    )


# --- users --------------------------------------------------------------------------
def test_users_lookup_by_email(team, client):
    ann = team.member_add("ann@example.com", "Ann Client")
    user = client.users_lookupByEmail(email="Ann@Example.com")["user"]
    assert user["id"] == ann.id and user["team_id"] == team.id
    assert user["real_name"] == "Ann Client"
    assert user["profile"]["email"] == "ann@example.com"
    assert user["profile"]["real_name"] == "Ann Client"
    assert "display_name" in user["profile"]
    error = refused(client.users_lookupByEmail, email="nobody@example.com")
    assert error.response["error"] == "users_not_found"


# --- conversations.create -----------------------------------------------------------
def test_conversations_create_makes_a_private_channel_with_the_bot_in_it(standin, team, client):
    channel = client.conversations_create(name="ann-coaching", is_private=True)["channel"]
    assert re.fullmatch(r"C[A-Z0-9]{8,}", channel["id"])
    assert channel["name"] == "ann-coaching"
    assert channel["is_private"] is True and channel["is_channel"] is True
    assert channel["creator"] == team.bot_user_id and isinstance(channel["created"], int)
    assert standin.channel_members(channel["id"]) == [team.bot_user_id]
    assert standin.effects("conversations.create") == [
        {"team_id": team.id, "channel": channel["id"], "name": "ann-coaching"}
    ]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("Ann Coaching", "invalid_name_specials"),
        ("ann!", "invalid_name_specials"),
        ("a" * 81, "invalid_name_maxlength"),
        ("--__", "invalid_name_punctuation"),
        ("", "invalid_name_required"),
        ("here", "invalid_name"),
        ("general", "name_taken"),
    ],
)
def test_conversations_create_refuses_bad_names(client, name, error):
    assert refused(client.conversations_create, name=name).response["error"] == error


def test_a_taken_name_is_refused_the_second_time(client):
    private_channel(client, "ann-coaching")
    error = refused(client.conversations_create, name="ann-coaching", is_private=True)
    assert error.response["error"] == "name_taken"
    assert client.conversations_create(name="a" * 80)["ok"]


# --- conversations.invite -----------------------------------------------------------
def test_conversations_invite_adds_a_member_once(standin, team, client):
    ann = team.member_add("ann@example.com", "Ann Client")
    channel_id = private_channel(client)
    answer = client.conversations_invite(channel=channel_id, users=[ann.id])
    assert answer["channel"]["id"] == channel_id
    assert ann.id in standin.channel_members(channel_id)
    error = refused(client.conversations_invite, channel=channel_id, users=ann.id)
    assert error.response["error"] == "already_in_channel"
    assert error.response["errors"] == [
        {"user": ann.id, "ok": False, "error": "already_in_channel"}
    ]
    assert standin.effects("conversations.invite") == [
        {"team_id": team.id, "channel": channel_id, "user": ann.id}
    ]


def test_conversations_invite_errors(standin, team, client):
    ann = team.member_add("ann@example.com", "Ann Client")
    channel_id = private_channel(client)
    cases = [
        ({"channel": "CNOSUCH", "users": ann.id}, "channel_not_found"),
        ({"channel": channel_id, "users": "UNOSUCH"}, "user_not_found"),
        ({"channel": channel_id, "users": team.bot_user_id}, "cant_invite_self"),
        ({"channel": channel_id, "users": ""}, "no_user"),
    ]
    for arguments, code in cases:
        assert refused(client.conversations_invite, **arguments).response["error"] == code
    general = next(c for c in team.channels.values() if c.is_general)
    error = refused(client.conversations_invite, channel=general.id, users=ann.id)
    assert error.response["error"] == "not_in_channel"
    assert standin.effects("conversations.invite") == []


def test_conversations_invite_of_several_adds_none_unless_forced(standin, team, client):
    ann = team.member_add("ann@example.com", "Ann Client")
    channel_id = private_channel(client)
    error = refused(client.conversations_invite, channel=channel_id, users=[ann.id, "UNOSUCH"])
    assert error.response["error"] == "user_not_found"
    assert ann.id not in standin.channel_members(channel_id)
    answer = client.conversations_invite(channel=channel_id, users=[ann.id, "UNOSUCH"], force=True)
    assert answer["errors"] == [{"user": "UNOSUCH", "ok": False, "error": "user_not_found"}]
    assert ann.id in standin.channel_members(channel_id)


# --- conversations.inviteShared -----------------------------------------------------
def test_slack_connect_needs_a_paid_plan(standin, team, client):
    channel_id = private_channel(client)
    error = refused(client.conversations_inviteShared, channel=channel_id, emails=["b@x.com"])
    assert error.response["error"] == "not_paid"
    standin.plan_set(team.id, "pro")
    answer = client.conversations_inviteShared(channel=channel_id, emails=["b@x.com"])
    assert answer["invite_id"].startswith("I")
    assert answer["is_legacy_shared_channel"] is False
    assert [(i.email, i.status) for i in team.invites] == [("b@x.com", "pending")]
    assert standin.effects("conversations.inviteShared") == [
        {"channel": channel_id, "email": "b@x.com"}
    ]
    joined = standin.invite_accept(answer["invite_id"])
    assert joined[0] in standin.channel_members(channel_id)


def test_invite_shared_errors(standin, team, client):
    standin.plan_set(team.id, "pro")
    ann = team.member_add("ann@example.com", "Ann Client")
    channel_id = private_channel(client)
    client.conversations_invite(channel=channel_id, users=ann.id)
    general = next(c for c in team.channels.values() if c.is_general)
    cases = [
        ({"channel": channel_id, "emails": "not-an-email"}, "invalid_email"),
        ({"channel": channel_id, "emails": "ann@example.com"}, "already_in_channel"),
        ({"channel": channel_id, "user_ids": "UNOSUCH"}, "user_not_found"),
        ({"channel": "CNOSUCH", "emails": "b@x.com"}, "channel_not_found"),
        ({"channel": general.id, "emails": "b@x.com"}, "cannot_share_mandatory_channel"),
    ]
    for arguments, code in cases:
        assert refused(client.conversations_inviteShared, **arguments).response["error"] == code


# --- chat.postMessage and conversations.info ----------------------------------------
def test_chat_post_message(standin, team, client):
    channel_id = private_channel(client)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Reminder*"}}]
    answer = client.chat_postMessage(channel=channel_id, text="Reminder", blocks=blocks)
    assert answer["channel"] == channel_id
    assert re.fullmatch(r"\d{10}\.\d{6}", answer["ts"])
    assert answer["message"]["text"] == "Reminder"
    assert answer["message"]["blocks"] == blocks
    assert answer["message"]["bot_id"] == team.bot_id
    assert answer["message"]["ts"] == answer["ts"]
    assert standin.channel(channel_id).messages[0]["text"] == "Reminder"


def test_chat_post_message_errors(standin, team, client):
    channel_id = private_channel(client)
    general = next(c for c in team.channels.values() if c.is_general)
    assert refused(client.chat_postMessage, channel="CNOSUCH", text="x").response["error"] == (
        "channel_not_found"
    )
    assert refused(client.chat_postMessage, channel=general.id, text="x").response["error"] == (
        "not_in_channel"
    )
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns before sending
        error = refused(client.chat_postMessage, channel=channel_id, text="")
    assert error.response["error"] == "no_text"
    standin.channel(channel_id).is_archived = True
    assert refused(client.chat_postMessage, channel=channel_id, text="x").response["error"] == (
        "is_archived"
    )
    assert standin.effects("chat.postMessage") == []


def test_conversations_info(standin, team, client):
    ann = team.member_add("ann@example.com", "Ann Client")
    channel_id = private_channel(client)
    client.conversations_invite(channel=channel_id, users=ann.id)
    channel = client.conversations_info(channel=channel_id, include_num_members=True)["channel"]
    assert channel["id"] == channel_id and channel["name"] == "ann-coaching"
    assert channel["num_members"] == 2
    assert "num_members" not in client.conversations_info(channel=channel_id)["channel"]
    error = refused(client.conversations_info, channel="CNOSUCH")
    assert error.response["error"] == "channel_not_found"


# --- scopes -------------------------------------------------------------------------
def test_a_token_without_the_scope_gets_missing_scope(standin):
    narrow = standin.team_add(name="Narrow", scopes=("chat:write",))
    client = WebClient(token=narrow.bot_token, base_url=standin.base_url)
    error = refused(client.users_lookupByEmail, email="a@b.c")
    assert error.response["error"] == "missing_scope"
    assert error.response["needed"] == "users:read.email"
    assert error.response["provided"] == "chat:write"
    assert error.response.headers["X-OAuth-Scopes"] == "chat:write"


def test_fail_next_switch_answers_the_error_once(standin, team, client):
    standin.fail_next("conversations.create", error="missing_scope")
    error = refused(client.conversations_create, name="one", is_private=True)
    assert error.response["error"] == "missing_scope"
    assert error.response["needed"] and error.response["provided"]
    standin.fail_next("conversations.create", error="name_taken", times=2)
    for _ in range(2):
        assert refused(client.conversations_create, name="two").response["error"] == "name_taken"
    assert client.conversations_create(name="two")["ok"]
    assert [c.fault for c in standin.calls("conversations.create")] == [
        "fail_next",
        "fail_next",
        "fail_next",
        None,
    ]


def test_unknown_method(standin, client):
    error = refused(client.api_call, api_method="conversations.nope")
    assert error.response["error"] == "unknown_method"


# --- rate limits and server errors --------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(standin, team, client):
    channel_id = private_channel(client)
    standin.rate_limit_next("chat.postMessage", retry_after=7)
    error = refused(client.chat_postMessage, channel=channel_id, text="hi")
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"
    assert standin.effects("chat.postMessage") == []
    assert client.chat_postMessage(channel=channel_id, text="hi")["ok"]
    limited = standin.calls("chat.postMessage")[0]
    assert (limited.status, limited.retry_after, limited.error) == (429, 7, "ratelimited")
    assert limited.params == {"channel": channel_id}


def test_slack_sdk_retry_handler_waits_as_told(standin, team, client):
    channel_id = private_channel(client)
    standin.rate_limit_next("chat.postMessage", retry_after=1)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    assert client.chat_postMessage(channel=channel_id, text="hi")["ok"]
    [retry] = standin.retries_after_rate_limit()
    assert retry["retry_after"] == 1
    assert retry["waited"] >= 1.0
    assert len(standin.effects("chat.postMessage")) == 1


def test_server_errors(standin, team, client):
    ann = team.member_add("ann@example.com", "Ann Client")
    channel_id = private_channel(client)
    standin.server_error_next("conversations.invite", status=503)
    error = refused(client.conversations_invite, channel=channel_id, users=ann.id)
    assert error.response.status_code == 503
    assert ann.id not in standin.channel_members(channel_id)
    # The work done but the answer lost: the retry hears already_in_channel.
    standin.server_error_next("conversations.invite", status=500, after_effect=True)
    error = refused(client.conversations_invite, channel=channel_id, users=ann.id)
    assert error.response.status_code == 500
    assert ann.id in standin.channel_members(channel_id)
    error = refused(client.conversations_invite, channel=channel_id, users=ann.id)
    assert error.response["error"] == "already_in_channel"
    assert len(standin.effects("conversations.invite")) == 1


def chaos_outcomes(seed: int) -> list[tuple[int, str | None]]:
    fake = StandIn()
    server = fake.serve()
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        team = fake.team_add(name="Chaos")
        client = WebClient(token=team.bot_token, base_url=fake.base_url)
        fake.chaos(rate_limited=0.3, retry_after=(1, 3), server_errors=0.1, seed=seed)
        outcomes = []
        for _ in range(40):
            try:
                client.auth_test()
                outcomes.append((200, None))
            except SlackApiError as error:
                outcomes.append(
                    (error.response.status_code, error.response.headers.get("Retry-After"))
                )
        return outcomes
    finally:
        server.shutdown()
        server.server_close()


def test_chaos_is_the_same_for_the_same_seed():
    first, again, other = chaos_outcomes(1), chaos_outcomes(1), chaos_outcomes(2)
    assert first == again
    assert first != other
    statuses = {status for status, _ in first}
    assert statuses == {200, 429, 503}
    assert {int(after) for status, after in first if status == 429} <= {1, 2, 3}


def test_chaos_off(standin, client):
    standin.chaos(rate_limited=1.0, seed=3)
    assert refused(client.auth_test).response.status_code == 429
    standin.chaos()
    assert client.auth_test()["ok"]


# --- OAuth install ------------------------------------------------------------------
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def open_no_redirect(url: str, form: dict | None = None):
    opener = urllib.request.build_opener(NoRedirect)
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        return opener.open(url, data=data, timeout=10)
    except urllib.error.HTTPError as answer:
        return answer


def test_oauth_install_through_the_authorize_page(standin, team):
    redirect = "http://127.0.0.1:8000/slack/oauth/callback/"
    url = AuthorizeUrlGenerator(
        client_id=standin.client_id,
        scopes=["chat:write", "groups:write"],
        redirect_uri=redirect,
        authorization_url=standin.site_url + "/oauth/v2/authorize",
    ).generate(state="s-123")
    page = urllib.request.urlopen(url, timeout=10).read().decode()
    assert "CoachHub wants to join Acme coaching" in page
    assert "groups:write" in page and "Allow" in page and "Cancel" in page
    answer = open_no_redirect(
        url,
        {
            "client_id": standin.client_id,
            "scope": "chat:write,groups:write",
            "state": "s-123",
            "redirect_uri": redirect,
            "team": team.id,
            "decision": "allow",
        },
    )
    assert answer.status == 302
    location = urllib.parse.urlsplit(answer.headers["Location"])
    assert location.path == "/slack/oauth/callback/"
    query = dict(urllib.parse.parse_qsl(location.query))
    assert query["state"] == "s-123"
    oauth = WebClient(base_url=standin.base_url)
    installed = oauth.oauth_v2_access(
        client_id="123.456", client_secret="shh", code=query["code"], redirect_uri=redirect
    )
    assert installed["token_type"] == "bot"
    assert installed["team"] == {"id": team.id, "name": "Acme coaching"}
    assert installed["bot_user_id"] == team.bot_user_id
    assert installed["app_id"].startswith("A")
    assert installed["enterprise"] is None and installed["is_enterprise_install"] is False
    assert installed["authed_user"]["id"] == team.owner_id
    assert installed["access_token"].startswith("xoxb-")
    bot = WebClient(token=installed["access_token"], base_url=standin.base_url)
    assert bot.auth_test()["team_id"] == team.id
    again = refused(
        oauth.oauth_v2_access,
        client_id="123.456",
        client_secret="shh",
        code=query["code"],
        redirect_uri=redirect,
    )
    assert again.response["error"] == "invalid_code"


def test_oauth_install_into_a_new_workspace_and_cancel(standin):
    base = standin.site_url + "/oauth/v2/authorize"
    fields = {
        "client_id": "123.456",
        "scope": "chat:write",
        "state": "st",
        "redirect_uri": "http://app.test/cb/",
    }
    answer = open_no_redirect(
        base, {**fields, "team": "new", "new_name": "Fresh", "decision": "allow"}
    )
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["Location"]).query))[
        "code"
    ]
    installed = WebClient(base_url=standin.base_url).oauth_v2_access(
        client_id="123.456", client_secret="shh", code=code, redirect_uri="http://app.test/cb/"
    )
    assert installed["team"]["name"] == "Fresh"
    assert installed["scope"] == "chat:write"
    cancelled = open_no_redirect(base, {**fields, "decision": "cancel"})
    assert cancelled.headers["Location"] == "http://app.test/cb/?error=access_denied&state=st"
    wrong_client = open_no_redirect(base + "?client_id=nope&redirect_uri=http://app.test/cb/")
    assert wrong_client.status == 400


def test_oauth_access_errors(standin, team):
    oauth = WebClient(base_url=standin.base_url)
    code = standin.oauth_code(team.id, redirect_uri="http://app.test/cb/")
    cases = [
        ({"client_id": "nope", "client_secret": "shh"}, "invalid_client_id"),
        ({"client_id": "123.456", "client_secret": "wrong"}, "bad_client_secret"),
        (
            {"client_id": "123.456", "client_secret": "shh", "redirect_uri": "http://x/"},
            "bad_redirect_uri",
        ),
    ]
    for arguments, error in cases:
        assert refused(oauth.oauth_v2_access, code=code, **arguments).response["error"] == error
    error = refused(oauth.oauth_v2_access, client_id="123.456", client_secret="shh", code="nope")
    assert error.response["error"] == "invalid_code"


# --- events -------------------------------------------------------------------------
@pytest.fixture
def receiver():
    """A tiny app that records what it is sent and answers `receiver.status`."""

    class Receiver(http.server.BaseHTTPRequestHandler):
        got: list = []
        status = 200

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            Receiver.got.append((body, dict(self.headers.items())))
            self.send_response(Receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    Receiver.got = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    Receiver.url = f"http://127.0.0.1:{server.server_port}/slack/events/"
    yield Receiver
    server.shutdown()
    server.server_close()


def test_member_join_delivers_a_signed_team_join(standin, team, client, receiver):
    standin.events_url = receiver.url
    assert standin.member_join(team.id, "ann@example.com", "Ann Client") == 200
    [(body, headers)] = receiver.got
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    assert headers["Content-Type"] == "application/json"
    envelope = json.loads(body)
    assert envelope["type"] == "event_callback"
    assert envelope["team_id"] == team.id and envelope["api_app_id"] == standin.app_id
    assert envelope["token"] and envelope["event_id"].startswith("Ev")
    assert isinstance(envelope["event_time"], int)
    assert envelope["authorizations"][0]["user_id"] == team.bot_user_id
    event = envelope["event"]
    assert event["type"] == "team_join" and event["event_ts"]
    assert event["user"]["profile"]["email"] == "ann@example.com"
    assert event["user"]["team_id"] == team.id
    assert client.users_lookupByEmail(email="ann@example.com")["user"]["id"] == event["user"]["id"]


def test_redelivery_carries_slacks_retry_headers(standin, team, receiver):
    standin.events_url = receiver.url
    receiver.status = 500
    assert standin.member_join(team.id, "ann@example.com", "Ann Client") == 500
    receiver.status = 200
    event_id = standin.deliveries[-1].event_id
    assert standin.event_redeliver(event_id) == 200
    assert standin.event_redeliver(event_id, reason="http_error") == 200
    (first, _), (second, retried), (_, third) = receiver.got
    assert second == first
    assert SignatureVerifier(SECRET).is_valid_request(second, retried)
    assert (retried["X-Slack-Retry-Num"], retried["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert (third["X-Slack-Retry-Num"], third["X-Slack-Retry-Reason"]) == ("2", "http_error")
    assert [d.status for d in standin.deliveries] == [500, 200, 200]


def test_revoking_the_apps_tokens_and_uninstalling(standin, team, client, receiver):
    standin.events_url = receiver.url
    assert standin.team_tokens_revoke(team.id) == 200
    event = json.loads(receiver.got[-1][0])["event"]
    assert event == {"type": "tokens_revoked", "tokens": {"bot": [team.bot_user_id]}}
    assert refused(client.auth_test).response["error"] == "token_revoked"
    other = standin.team_add(name="Other")
    assert standin.app_uninstall(other.id) == 200
    kinds = [json.loads(body)["event"]["type"] for body, _ in receiver.got]
    assert kinds == ["tokens_revoked", "tokens_revoked", "app_uninstalled"]
    for body, headers in receiver.got:
        assert SignatureVerifier(SECRET).is_valid_request(body, headers)


def test_no_request_url_means_no_delivery(standin, team):
    assert standin.member_join(team.id, "ann@example.com", "Ann") == 0
    assert team.member_by_email("ann@example.com") is not None


def test_signed_headers_match_slack_sdks_verifier():
    body = b'{"type":"event_callback"}'
    headers = signed_headers("s3cret", body, timestamp=int(time.time()))
    assert SignatureVerifier("s3cret").is_valid_request(body, headers)
    old = signed_headers("s3cret", body, timestamp=int(time.time()) - 3600)
    assert not SignatureVerifier("s3cret").is_valid_request(body, old)


# --- the workspace page -------------------------------------------------------------
def test_workspace_page_shows_and_plays_the_workspace(standin, receiver):
    hostile = standin.team_add(name="<script>alert(1)</script>", plan="pro")
    standin.events_url = receiver.url
    html = urllib.request.urlopen(standin.site_url + "/", timeout=10).read().decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert SECRET in html and hostile.bot_token in html
    form = {"action": "member_join", "team": hostile.id, "email": "zoe@example.com", "name": "Zoe"}
    assert open_no_redirect(standin.site_url + "/workspace", form).status == 303
    assert json.loads(receiver.got[-1][0])["event"]["user"]["profile"]["email"] == "zoe@example.com"
    form = {"action": "fault", "method": "auth.test", "kind": "429", "seconds": "4"}
    open_no_redirect(standin.site_url + "/workspace", form)
    client = WebClient(token=hostile.bot_token, base_url=standin.base_url)
    assert refused(client.auth_test).response.headers["Retry-After"] == "4"
    open_no_redirect(
        standin.site_url + "/workspace", {"action": "plan", "team": hostile.id, "plan": "free"}
    )
    assert hostile.plan == "free"
    assert (
        open_no_redirect(
            standin.site_url + "/workspace", {"action": "plan", "team": "TNOPE"}
        ).status
        == 400
    )


# --- running it ---------------------------------------------------------------------
def test_python_m_serves_a_demo_workspace():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SLACK_STANDIN_SIGNING_SECRET": "from-env"}
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.slack_standin", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        printed = ""
        while "demo bot token" not in printed and process.poll() is None:
            printed += process.stdout.readline()
        assert f"SLACK_API_BASE=http://127.0.0.1:{port}/api/" in printed
        assert "from-env" in printed
        token = re.search(r"(xoxb-\S+)", printed).group(1)
        client = WebClient(token=token, base_url=f"http://127.0.0.1:{port}/api/")
        answer = client.auth_test()
        assert answer["team"] == "Demo coaching"
    finally:
        process.terminate()
        process.wait(timeout=10)


# --- plain HTTP -----------------------------------------------------------------------
def post(url: str, body: bytes, content_type: str | None, **headers) -> dict:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200
        return json.loads(answer.read())


def test_arguments_by_query_form_json_or_multipart(standin, team):
    token = urllib.parse.quote(team.bot_token)
    with urllib.request.urlopen(f"{standin.base_url}auth.test?token={token}") as answer:
        assert json.loads(answer.read())["team_id"] == team.id
    form = f"token={token}&name=by-form".encode()
    answer = post(
        standin.base_url + "conversations.create", form, "application/x-www-form-urlencoded"
    )
    assert answer["channel"]["name"] == "by-form"
    answer = post(
        standin.base_url + "conversations.create",
        json.dumps({"name": "by-json", "is_private": True}).encode(),
        "application/json; charset=utf-8",
        Authorization=f"Bearer {team.bot_token}",
    )
    assert answer["channel"]["is_private"] is True
    multipart = (
        b'--XX\r\nContent-Disposition: form-data; name="name"\r\n\r\nby-multipart\r\n--XX--\r\n'
    )
    answer = post(
        standin.base_url + "conversations.create",
        multipart,
        "multipart/form-data; boundary=XX",
        Authorization=f"Bearer {team.bot_token}",
    )
    assert answer["channel"]["name"] == "by-multipart"
    broken = post(standin.base_url + "auth.test", b"{nope", "application/json")
    assert broken == {"ok": False, "error": "invalid_json"}


def test_workspace_page_renders_everything_it_holds(standin, team, client, receiver):
    standin.plan_set(team.id, "pro")
    standin.events_url = receiver.url
    channel_id = private_channel(client)
    client.conversations_inviteShared(channel=channel_id, emails="b@x.com")
    client.chat_postMessage(channel=channel_id, text="hello")
    standin.member_join(team.id, "ann@example.com", "Ann & Co")
    standin.rate_limit_next("chat.postMessage", retry_after=9)
    standin.chaos(rate_limited=0.1, seed=5)
    html = urllib.request.urlopen(standin.site_url + "/", timeout=10).read().decode()
    assert "ann-coaching" in html and "b@x.com" in html and "pending" in html
    assert "Ann &amp; Co" in html and "team_join" in html
    assert "Retry-After 9" in html and "Chaos: {" in html
    assert "conversations.inviteShared" in html  # the request log
    invite = team.invites[0].id
    open_no_redirect(
        standin.site_url + "/workspace",
        {"action": "invite_accept", "team": team.id, "invite": invite},
    )
    assert team.invites[0].status == "accepted"
    open_no_redirect(standin.site_url + "/workspace", {"action": "chaos_off"})
    assert standin.faults.chaos_settings is None


def test_history_returns_the_bots_posts_with_their_metadata_only_when_asked():
    standin = StandIn()
    server = standin.serve()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        team = standin.team_add(name="History")
        client = WebClient(token=team.bot_token, base_url=standin.base_url)
        channel = client.conversations_create(name="history", is_private=True)["channel"]["id"]
        metadata = {"event_type": "coachhub_post", "event_payload": {"key": "k1"}}
        ts = client.chat_postMessage(channel=channel, text="hi", metadata=metadata)["ts"]
        plain = client.conversations_history(channel=channel)["messages"]
        assert [m["ts"] for m in plain] == [ts] and "metadata" not in plain[0]
        full = client.conversations_history(channel=channel, include_all_metadata=True)
        assert full["messages"][0]["metadata"] == metadata
        later = client.conversations_history(channel=channel, oldest=str(float(ts) + 1))
        assert later["messages"] == []
    finally:
        server.shutdown()
