"""Slack helpers: the local stand-in on 127.0.0.1 for the real `slack_sdk`, and a practice
connected to one of its workspaces (as a pasted bot token would connect it)."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django_scopes import scopes_disabled

from chat.models import ConnectionMethod, SlackChannel, SlackConnection, SlackInvite
from devtools.slack_standin import StandIn
from engagements.models import StepState
from integrations.slack import client as slack

SIGNING_SECRET = "test-signing-secret"
INVITE_LINK = "https://join.slack.com/t/coaching/shared_invite/zt-test"


@contextmanager
def serving_slack(settings):
    """The stand-in answering the real `slack_sdk` (never the network)."""
    standin = StandIn(signing_secret=SIGNING_SECRET)
    server = standin.serve()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SLACK_API_BASE = standin.base_url
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()


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
