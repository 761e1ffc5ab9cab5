"""Events that reach the invites: someone joining the workspace (team_join) is added to the
channel waiting for them, once; a removed app makes the next set-up's checklist say what
to do."""

from __future__ import annotations

import json
import time

import pytest
from django_scopes import scopes_disabled

from chat.models import EventStatus, InvitePath, InviteStatus, SlackEvent
from devtools.slack_standin import signed_headers

from ..kit.slack import (
    DONE,
    FAILED,
    SIGNING_SECRET,
    channel_of,
    invites_of,
    slack_connect,
    step,
)

pytestmark = pytest.mark.django_db


def deliver(client, team, event: dict, *, event_id: str | None = None, retry: int = 0):
    """POST an event_callback as the practice's own app signs it (its pasted secret)."""
    body = json.dumps(
        {
            "team_id": team.id,
            "api_app_id": "A0OWNAPP",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team.id, "user_id": team.bot_user_id}],
        }
    ).encode()
    headers = signed_headers(SIGNING_SECRET, body)
    headers.pop("Content-Type")
    if retry:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    return client.post(
        "/slack/events/", data=body, content_type="application/json", headers=headers
    )


def test_team_join_adds_the_new_member_to_the_channel_waiting_for_them(
    world, slack_standin, per_session, client, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)  # free plan: invite link
    engagement = per_session("Mia Wong", "mia@example.org")
    assert invites_of(engagement)["mia@example.org"].status == InviteStatus.WAITING

    mia = team.member_add("mia@example.org", "Mia Wong")  # she follows the e-mailed link
    joined = {"type": "team_join", "user": mia.as_slack()}
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(client, team, joined, event_id="Ev0MIAJOINS")
    assert first.status_code == 200
    invite = invites_of(engagement)["mia@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.DONE, InvitePath.INVITE_LINK)
    assert mia.id in slack_standin.channel_members(channel_of(engagement).channel_id)
    assert step(engagement, "slack_invite")[0] == DONE
    with scopes_disabled():
        assert SlackEvent.objects.get(event_id="Ev0MIAJOINS").status == EventStatus.PROCESSED

    # Slack's retry of the same delivery: no second row, no second invite call.
    with django_capture_on_commit_callbacks(execute=True):
        again = deliver(client, team, joined, event_id="Ev0MIAJOINS", retry=1)
    assert again.status_code == 200
    with scopes_disabled():
        assert SlackEvent.objects.filter(event_id="Ev0MIAJOINS").count() == 1
    invited = [e for e in slack_standin.effects("conversations.invite") if e["user"] == mia.id]
    assert len(invited) == 1


def test_a_join_without_an_email_is_kept_as_ignored(
    world, slack_standin, client, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, team, {"type": "team_join", "user": {"id": "U0GUEST", "profile": {}}})
    with scopes_disabled():
        assert SlackEvent.objects.get().status == EventStatus.IGNORED


def test_a_join_without_a_user_fails_at_once_saying_why(
    world, slack_standin, client, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, team, {"type": "team_join"})
    with scopes_disabled():
        event = SlackEvent.objects.get()
    assert event.status == EventStatus.FAILED and "user.id" in event.error


def test_after_the_app_is_removed_the_next_set_up_says_what_to_do(
    world, slack_standin, per_session, client, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver(client, team, {"type": "app_uninstalled"}).status_code == 200
    home.practice.refresh_from_db()
    home.practice._state.fields_cache.pop("slack_connection", None)
    engagement = per_session("Noor Ali", "noor@example.org")
    state, reason = step(engagement, "slack_invite")
    assert state == FAILED
    assert reason.startswith(
        f"Nobody was invited: Slack says the app was uninstalled from {team.name} on "
    )
    assert "Add it again on the Integrations page." in reason
