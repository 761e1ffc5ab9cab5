"""Connecting a practice's Slack workspace: "Add to Slack" end to end against the stand-in
with the real slack_sdk, a pasted token, what the plan allows, disconnecting, reconnecting."""

from __future__ import annotations

import datetime as dt
import html
import logging
import socket
import urllib.parse

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection as db
from django_scopes import scopes_disabled

from chat import services
from chat.calls import slack_call
from chat.models import ConnectionStatus, SlackConnection, SlackOAuthState
from coachhub.models import AuditEntry, IntegrationCall, Membership, Role
from integrations.errors import IntegrationError
from integrations.slack import client as slack_api

from ..kit.factories import UserFactory
from ..kit.http import login
from ..kit.slack import CLIENT_ID, CLIENT_SECRET, authorize, local_path, serving_slack

pytestmark = pytest.mark.django_db

INSTALL = "/dashboard/integrations/slack/install/"
TOKEN = "/dashboard/integrations/slack/token/"
PLAN = "/dashboard/integrations/slack/plan/"
DISCONNECT = "/dashboard/integrations/slack/disconnect/"
PAGE = "/dashboard/integrations/"
SIGNING = "abcdef0123456789abcdef0123456789"


@pytest.fixture
def slack(settings):
    with serving_slack(settings) as standin:
        yield standin


def text(response) -> str:
    """The page as a person reads it (entities such as &#x27; decoded)."""
    return html.unescape(response.content.decode())


def connection_of(practice) -> SlackConnection | None:
    with scopes_disabled():
        return SlackConnection.objects.filter(practice=practice).first()


def install(browser, standin, team, *, decision="allow"):
    """The owner's clicks: Add to Slack → Slack's page → Allow → back to CoachHub."""
    started = browser.post(INSTALL)
    assert started.status_code == 302
    back = authorize(started["Location"], decision=decision, team_id=team.id)
    return browser.get(local_path(back), follow=True)


def test_add_to_slack_connects_the_workspace_end_to_end(world, as_member, slack):
    team = slack.team_add(name="Acme coaching", installed=False)
    owner = as_member("owner")
    started = owner.post(INSTALL)
    url = urllib.parse.urlsplit(started["Location"])
    query = dict(urllib.parse.parse_qsl(url.query))
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{slack.site_url}/oauth/v2/authorize"
    assert query["client_id"] == CLIENT_ID
    assert set(query["scope"].split(",")) == set(slack_api.BOT_SCOPES)
    assert query["redirect_uri"].endswith("/dashboard/integrations/slack/callback/")

    back = authorize(started["Location"], team_id=team.id)
    page = text(owner.get(local_path(back), follow=True))

    assert "Slack workspace Acme coaching connected" in page
    assert "Connected to the workspace <strong>Acme coaching</strong>" in page
    connection = connection_of(world.home.practice)
    assert connection.method == "oauth" and connection.status == ConnectionStatus.CONNECTED
    assert connection.team_id == team.id
    assert connection.bot_token == slack.teams[team.id].bot_token
    assert connection.bot_id == team.bot_id and connection.bot_user_id == team.bot_user_id
    assert connection.installed_by == world.home.owner
    assert connection.bot_token not in page and connection.bot_token_masked in page
    assert world.home.practice.__class__.objects.get(pk=world.home.practice.pk).slack_connected
    with scopes_disabled():
        calls = list(
            IntegrationCall.objects.filter(practice=world.home.practice).values_list(
                "operation", "outcome"
            )
        )
    assert ("oauth.v2.access", "ok") in calls and ("auth.test", "ok") in calls


def test_a_used_state_is_refused_and_nothing_more_is_exchanged(world, as_member, slack):
    team = slack.team_add(name="Acme", installed=False)
    owner = as_member("owner")
    back = authorize(owner.post(INSTALL)["Location"], team_id=team.id)
    owner.get(local_path(back))
    again = text(owner.get(local_path(back), follow=True))
    assert "already finished (each one works once)" in again
    assert len(slack.calls("oauth.v2.access")) == 1


def test_an_expired_state_is_refused_and_nothing_is_stored(world, as_member, slack):
    team = slack.team_add(name="Acme", installed=False)
    owner = as_member("owner")
    back = authorize(owner.post(INSTALL)["Location"], team_id=team.id)
    with scopes_disabled():
        SlackOAuthState.objects.update(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=11)
        )
    page = text(owner.get(local_path(back), follow=True))
    assert "took more than 10 minutes and expired" in page
    assert connection_of(world.home.practice) is None
    assert slack.calls("oauth.v2.access") == []


def test_a_forged_or_other_practices_state_is_refused(world, as_member, slack):
    team = slack.team_add(name="Acme", installed=False)
    other_owner = login(world.other.owner, world.other.practice)
    back = authorize(other_owner.post(INSTALL)["Location"], team_id=team.id)
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))["code"]
    owner = as_member("owner")
    for state in (
        "forged",
        dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))["state"],
    ):
        page = text(
            owner.get(
                "/dashboard/integrations/slack/callback/",
                {"code": code, "state": state},
                follow=True,
            )
        )
        assert "was not started from this practice" in page
    assert connection_of(world.home.practice) is None
    assert slack.calls("oauth.v2.access") == []


def test_another_members_state_is_refused(world, as_member, slack):
    team = slack.team_add(name="Acme", installed=False)
    second_owner = UserFactory(email="second-owner@example.com")
    Membership.objects.create(practice=world.home.practice, user=second_owner, role=Role.OWNER)
    back = authorize(as_member("owner").post(INSTALL)["Location"], team_id=team.id)
    page = login(second_owner, world.home.practice).get(local_path(back), follow=True)
    assert "started by another member" in text(page)
    assert connection_of(world.home.practice) is None


def test_cancelling_on_slacks_page_says_so_and_connects_nothing(world, as_member, slack):
    team = slack.team_add(name="Acme", installed=False)
    page = text(install(as_member("owner"), slack, team, decision="cancel"))
    assert "The Slack install was cancelled on Slack's page" in page
    assert connection_of(world.home.practice) is None
    with scopes_disabled():
        state = SlackOAuthState.objects.get(practice=world.home.practice)
    assert state.consumed_at is not None


def test_a_pasted_bot_token_is_checked_with_slack_and_stored_encrypted(world, as_member, slack):
    team = slack.team_add(name="Own app workspace")
    token = slack.teams[team.id].bot_token
    response = as_member("owner").post(TOKEN, {"bot_token": token, "signing_secret": SIGNING})
    assert response.status_code == 302
    connection = connection_of(world.home.practice)
    assert connection.method == "pasted" and connection.team_name == "Own app workspace"
    assert connection.signing_secret == SIGNING
    # Events Slack sent about an earlier install (an uninstall) are told apart by this.
    assert connection.connected_at is not None and connection.events_last_received_at is None
    assert "groups:write" in connection.scopes.split(",")  # from Slack's X-OAuth-Scopes
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT bot_token, signing_secret FROM chat_slackconnection WHERE id = %s",
            [connection.pk],
        )
        raw_token, raw_secret = cursor.fetchone()
    assert token not in raw_token and SIGNING not in raw_secret
    page = text(as_member("owner").get(PAGE))
    assert token not in page and SIGNING not in page
    assert connection.bot_token_masked in page


def test_a_bad_pasted_token_says_what_to_do_and_stores_nothing(world, as_member, slack, settings):
    owner = as_member("owner")
    page = owner.post(TOKEN, {"bot_token": "xoxb-0000-not-real", "signing_secret": SIGNING})
    assert page.status_code == 200
    assert "Slack refused this token (invalid_auth)" in text(page)
    user_token = owner.post(TOKEN, {"bot_token": "xoxp-1234-5678", "signing_secret": SIGNING})
    assert "starts with xoxb-" in text(user_token)
    assert len(slack.calls("auth.test")) == 1  # a user token is refused before any call
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.SLACK_API_BASE = f"http://127.0.0.1:{closed.getsockname()[1]}/api/"
    unreachable = owner.post(TOKEN, {"bot_token": "xoxb-1-2-3", "signing_secret": SIGNING})
    assert "Slack could not be reached from this server; nothing was saved" in (text(unreachable))
    assert connection_of(world.home.practice) is None


def test_no_token_in_audit_data_logs_or_call_log(world, as_member, slack, caplog):
    """Even at DEBUG: slack_sdk logs every answer's body, and oauth.v2.access's holds the token."""
    caplog.set_level(logging.DEBUG)
    practice, owner = world.home.practice, world.home.owner
    install(as_member("owner"), slack, slack.team_add(name="Acme", installed=False))
    installed = connection_of(practice).bot_token
    pasted_team = slack.team_add(name="Own app")
    pasted = slack.teams[pasted_team.id].bot_token
    with scopes_disabled():
        services.slack_disconnect(practice=practice, actor=owner)
        services.slack_token_connect(
            practice=practice, actor=owner, bot_token=pasted, signing_secret=SIGNING
        )
        audit = list(AuditEntry.objects.filter(action__startswith="slack.").values("data"))
        calls = list(IntegrationCall.objects.values_list("error", flat=True))
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"slack.connect", "slack.disconnect", "slack.reconnect"} <= actions
    for secret in (installed, pasted, SIGNING, CLIENT_SECRET):
        assert secret not in caplog.text
        assert secret not in str(audit)
        assert not any(secret in error for error in calls)


def test_disconnecting_revokes_the_token_and_keeps_the_workspace_as_broken(world, as_member, slack):
    team = slack.team_add(name="Acme", installed=False)
    owner = as_member("owner")
    install(owner, slack, team)
    token = connection_of(world.home.practice).bot_token
    page = text(owner.post(DISCONNECT, follow=True))
    assert "Slack disconnected" in page
    assert slack.effects("auth.revoke") == [{"team_id": team.id, "bot_user_id": team.bot_user_id}]
    assert slack.tokens[token].revoked
    connection = connection_of(world.home.practice)
    assert connection.status == ConnectionStatus.BROKEN and connection.bot_token == ""
    assert connection.team_id == team.id  # channels and invites stay linked to it
    owner_name = world.home.owner.display_name
    assert connection.broken_reason.startswith(f"Disconnected by {owner_name} on ")
    assert connection.broken_reason.endswith("connect again to resume.")
    assert connection.broken_reason in page
    assert "Reconnect with “Add to Slack”" in page
    assert not world.home.practice.__class__.objects.get(pk=world.home.practice.pk).slack_connected


def test_reconnecting_replaces_the_token_and_clears_broken(world, as_member, slack):
    team = slack.team_add(name="Acme", installed=False)
    owner = as_member("owner")
    install(owner, slack, team)
    first = connection_of(world.home.practice).bot_token
    owner.post(DISCONNECT)
    page = text(install(owner, slack, team))
    connection = connection_of(world.home.practice)
    assert connection.status == ConnectionStatus.CONNECTED and connection.broken_reason == ""
    assert connection.broken_at is None
    assert connection.bot_token not in ("", first)  # a fresh token: the first was revoked
    assert slack_api.auth_test(token=connection.bot_token, base_url=slack.base_url).team_id
    assert "Connected to the workspace" in page and "Broken" not in page
    with scopes_disabled():
        assert AuditEntry.objects.filter(action="slack.reconnect").exists()


def test_a_token_slack_revoked_shows_as_broken_with_what_to_do(world, as_member, slack):
    team = slack.team_add(name="Acme")
    practice, owner = world.home.practice, world.home.owner
    with scopes_disabled():
        connection = services.slack_token_connect(
            practice=practice,
            actor=owner,
            bot_token=slack.teams[team.id].bot_token,
            signing_secret=SIGNING,
        )
    slack.token_revoke(connection.bot_token)
    with pytest.raises(IntegrationError), scopes_disabled():
        slack_call(slack_api.private_channel_create, connection=connection, operation="x", name="a")
    page = text(as_member("coach").get(PAGE))
    assert "Broken: Acme." in page
    assert "Connect the workspace again on the Integrations page" in page
    assert "Ask the practice owner to reconnect it here" in page


def test_disconnecting_one_practice_leaves_another_on_the_same_install_working(world, slack):
    team = slack.team_add(name="Shared")
    token = slack.teams[team.id].bot_token
    with scopes_disabled():
        for side in (world.home, world.other):
            services.slack_token_connect(
                practice=side.practice, actor=side.owner, bot_token=token, signing_secret=SIGNING
            )
        services.slack_disconnect(practice=world.home.practice, actor=world.home.owner)
    assert slack.effects("auth.revoke") == []
    assert connection_of(world.other.practice).ready
    assert slack_api.auth_test(token=token, base_url=slack.base_url).team_id == team.id


def test_what_the_plan_allows_is_validated_in_words(world, as_member, slack):
    team = slack.team_add(name="Acme")
    owner = as_member("owner")
    owner.post(TOKEN, {"bot_token": slack.teams[team.id].bot_token, "signing_secret": SIGNING})
    cases = {
        "": "cannot be invited to their channel unless CoachHub can",
        "http://join.slack.com/t/acme/shared_invite/zt-1": "must be an https:// address",
        "https://example.com/t/acme/shared_invite/zt-1": "That is not a Slack invite link",
        "https://acme.slack.com/archives/C1": "is not an invite link",
    }
    for link, words in cases.items():
        page = text(owner.post(PLAN, {"invite_link": link}))
        assert words in page, link
    assert connection_of(world.home.practice).invite_link == ""
    good = "https://join.slack.com/t/acme/shared_invite/zt-abc123"
    assert owner.post(PLAN, {"invite_link": good}).status_code == 302
    assert owner.post(PLAN, {"slack_connect_allowed": "on"}).status_code == 302
    connection = connection_of(world.home.practice)
    assert connection.slack_connect_allowed and connection.invite_link == ""
    with scopes_disabled():
        assert AuditEntry.objects.filter(action="slack.plan_set").count() == 2


@pytest.mark.parametrize("role", ["coach", "assistant"])
def test_only_the_owner_connects_changes_or_disconnects(world, as_member, slack, role):
    team = slack.team_add(name="Acme")
    token = slack.teams[team.id].bot_token
    member = as_member(role)
    assert member.post(INSTALL).status_code == 403
    assert member.post(TOKEN, {"bot_token": token, "signing_secret": SIGNING}).status_code == 403
    assert member.get("/dashboard/integrations/slack/callback/?code=x&state=y").status_code == 403
    assert connection_of(world.home.practice) is None
    with scopes_disabled():
        services.slack_token_connect(
            practice=world.home.practice,
            actor=world.home.owner,
            bot_token=token,
            signing_secret=SIGNING,
        )
        with pytest.raises(PermissionDenied, match="Only the practice owner"):
            services.slack_disconnect(practice=world.home.practice, actor=world.home.member(role))
    assert member.post(PLAN, {"slack_connect_allowed": "on"}).status_code == 403
    assert member.post(DISCONNECT).status_code == 403
    page = member.get(PAGE)
    assert page.status_code == 200  # the states, read-only
    shown = text(page)
    assert "Connected to the workspace" in shown
    assert DISCONNECT not in shown and PLAN not in shown and TOKEN not in shown
    assert connection_of(world.home.practice).bot_token_masked not in shown
    assert connection_of(world.home.practice).ready


def test_add_to_slack_without_the_operators_app_is_refused_in_words(world, slack, settings):
    settings.SLACK_CLIENT_ID = ""
    with scopes_disabled(), pytest.raises(ValidationError, match="SLACK_CLIENT_ID is not set"):
        services.slack_install_start(
            practice=world.home.practice, actor=world.home.owner, redirect_uri="https://x/cb/"
        )


def test_a_token_lacking_scopes_says_which_and_what_to_do(world, as_member, slack):
    team = slack.team_add(name="Narrow app", scopes=("chat:write", "users:read"))
    owner = as_member("owner")
    owner.post(TOKEN, {"bot_token": slack.teams[team.id].bot_token, "signing_secret": SIGNING})
    page = text(owner.get(PAGE))
    assert "The app lacks groups:write, groups:read, groups:history, users:read.email" in page
    assert "Add them to your app (OAuth & Permissions → Bot Token Scopes)" in page


def test_slack_busy_while_checking_a_token_says_try_again(world, as_member, slack):
    team = slack.team_add(name="Acme")
    slack.rate_limit_next("auth.test", retry_after=3)
    page = as_member("owner").post(
        TOKEN, {"bot_token": slack.teams[team.id].bot_token, "signing_secret": SIGNING}
    )
    assert "Slack had a problem answering (it may be busy); nothing was saved" in text(page)
    assert connection_of(world.home.practice) is None
    with scopes_disabled():
        call = IntegrationCall.objects.get(practice=world.home.practice)
    assert (call.operation, call.outcome, call.error_code) == (
        "auth.test",
        "retrying",
        "ratelimited",
    )
