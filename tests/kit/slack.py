"""Slack helpers: the local stand-in answering the real `slack_sdk` on 127.0.0.1, the
operator's app, and a practice connected to one of its workspaces (as a pasted bot token
would connect it)."""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
from django_scopes import scopes_disabled

from chat.models import ConnectionMethod, SlackChannel, SlackConnection, SlackInvite
from devtools.slack_standin import StandIn
from engagements.models import StepState
from integrations.slack import client as slack

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "operator-client-secret-0123456789"
SIGNING_SECRET = "operator-signing-secret-0123456789"
INVITE_LINK = "https://join.slack.com/t/coaching/shared_invite/zt-test"


@contextmanager
def serving_slack(settings, *, operator_app: bool = True) -> Iterator[StandIn]:
    """The stand-in on 127.0.0.1 (never the network); `operator_app`: the settings of
    CoachHub's own Slack app are set, so "Add to Slack" is offered."""
    standin = StandIn(
        signing_secret=SIGNING_SECRET, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    server = standin.serve()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SLACK_API_BASE = standin.base_url
    settings.SLACK_CLIENT_ID = CLIENT_ID if operator_app else ""
    settings.SLACK_CLIENT_SECRET = CLIENT_SECRET if operator_app else ""
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET if operator_app else ""
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()


def authorize(url: str, *, decision: str = "allow", team_id: str = "") -> str:
    """Open Slack's authorize page at `url` and press Allow (or Cancel) as the owner would;
    returns where Slack sends the browser back (the Location, not followed)."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", f"{parts.path}?{parts.query}")
        page = connection.getresponse()
        assert page.status == 200, page.read()
        page.read()
        form = {**query, "decision": decision, "team": team_id}
        connection.request(
            "POST",
            parts.path,
            body=urllib.parse.urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 302, answer.status
        return answer.getheader("Location")
    finally:
        connection.close()


def local_path(url: str) -> str:
    """`http://127.0.0.1:8000/dashboard/…?code=…` → `/dashboard/…?code=…` for the test client."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


def slack_connect(
    practice,
    owner,
    standin: StandIn,
    *,
    plan: str = "free",
    slack_connect_allowed: bool = False,
    invite_link: str = INVITE_LINK,
):
    """A workspace on the stand-in and the practice's connection to it; returns the team."""
    team = standin.team_add(name=f"{practice.name} Slack", plan=plan)
    identity = slack.auth_test(token=team.bot_token, base_url=standin.base_url)
    with scopes_disabled():
        SlackConnection.objects.create(
            practice=practice,
            method=ConnectionMethod.PASTED,
            team_id=identity.team_id,
            team_name=identity.team_name,
            team_url=identity.team_url,
            bot_user_id=identity.bot_user_id,
            bot_id=identity.bot_id,
            bot_token=team.bot_token,
            signing_secret=SIGNING_SECRET,
            installed_by=owner,
            slack_connect_allowed=slack_connect_allowed,
            invite_link=invite_link,
        )
    practice._state.fields_cache.pop("slack_connection", None)  # it was read as missing
    return team


def connection_of(practice) -> SlackConnection:
    with scopes_disabled():
        return SlackConnection.objects.get(practice=practice)


def channel_of(engagement) -> SlackChannel:
    with scopes_disabled():
        return SlackChannel.objects.select_related("collection").get(
            collection__engagement=engagement
        )


def invites_of(engagement) -> dict[str, SlackInvite]:
    with scopes_disabled():
        return {
            invite.email: invite
            for invite in SlackInvite.objects.filter(channel__collection__engagement=engagement)
        }


def step(engagement, key: str) -> tuple[str, str]:
    with scopes_disabled():
        found = engagement.steps.get(key=key)
    return found.state, found.reason


DONE, PENDING, FAILED = StepState.DONE, StepState.PENDING, StepState.FAILED


def retry_after_lapse() -> None:
    """Time passes beyond Slack's Retry-After: the hold it put on the workspace's method
    (chat.calls, in the cache) is over, so the next call goes to Slack again."""
    cache.clear()
