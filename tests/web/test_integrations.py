"""The Integrations page: every integration's state in plain words, for every member."""

from __future__ import annotations

import html
import json

import pytest
from django.contrib.auth.models import Permission
from django_scopes import scopes_disabled

from chat.models import SlackConnection, SlackOAuthState
from coachhub.models import CallProvider, IntegrationCall
from devtools.slack_standin import signed_headers
from tests.kit.http import login
from tests.kit.slack import SIGNING_SECRET, serving_slack, slack_connect
from tests.kit.world import OTHER_MARKER

pytestmark = pytest.mark.django_db

PAGE = "/dashboard/integrations/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def no_slack_settings(settings) -> None:
    settings.SLACK_CLIENT_ID = settings.SLACK_CLIENT_SECRET = settings.SLACK_SIGNING_SECRET = ""


def test_without_any_slack_settings_the_page_says_what_is_missing(world, as_member, settings):
    no_slack_settings(settings)
    page = text(as_member("owner").get(PAGE))
    assert "Not connected. Connect a Slack workspace" in page
    assert (
        "the operator has not configured CoachHub's Slack app (SLACK_CLIENT_ID, "
        "SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET are not set). A pasted token of your own "
        "Slack app still works." in page
    )
    assert "/dashboard/integrations/slack/install/" not in page  # no Add to Slack button
    assert 'action="/dashboard/integrations/slack/token/"' in page
    refused = as_member("owner").post("/dashboard/integrations/slack/install/", follow=True)
    assert "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET are not set" in text(
        refused
    )


def test_with_the_operators_app_the_owner_gets_add_to_slack_and_the_urls_to_configure(
    world, as_member, settings
):
    with serving_slack(settings):
        settings.SITE_URL = "https://coach.example.com"
        page = text(as_member("owner").get(PAGE))
    assert '<button type="submit">Add to Slack</button>' in page
    assert "https://coach.example.com/dashboard/integrations/slack/callback/" in page
    assert "https://coach.example.com/slack/events/" in page
    for name in ("team_join", "app_uninstalled", "tokens_revoked", "users:read.email"):
        assert name in page


def test_every_integration_is_listed_with_its_state(world, as_member, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    page = text(as_member("owner").get(PAGE))
    assert "Stripe payments" in page and "Not connected: paid booking links" in page
    assert 'href="/billing/stripe/"' in page
    assert "e-mails are printed on the server's console, not sent" in page
    assert "External calendars" in page and "Cal" in page and "Not read yet." in page
    assert "https://example.org/c.ics" not in page  # a calendar's secret address stays secret
    assert "Calendly and Cal.com" in page and "Not available yet" in page
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "smtp.example.com", 587
    assert "Sent through the mail server smtp.example.com:587" in text(as_member("owner").get(PAGE))


@pytest.mark.parametrize("role", ["coach", "assistant"])
def test_members_see_the_states_read_only(world, as_member, role, settings):
    with serving_slack(settings):
        page = text(as_member(role).get(PAGE))
    assert "Only the practice owner can change them." in page
    assert "Add to Slack" not in page and "Bot User OAuth Token" not in page
    assert "For the operator" not in page


def test_another_practices_slack_workspace_never_shows(world, as_member):
    with scopes_disabled():
        assert SlackConnection.objects.filter(practice=world.other.practice).exists()
    page = text(as_member("owner").get(PAGE))
    assert OTHER_MARKER not in page
    assert "Not connected. Connect a Slack workspace" in page


def test_the_callback_without_slacks_answer_explains_and_stores_nothing(world, as_member):
    response = as_member("owner").get("/dashboard/integrations/slack/callback/", follow=True)
    assert "was not started from this practice" in text(response)
    with scopes_disabled():
        assert not SlackConnection.objects.filter(practice=world.home.practice).exists()


def test_admin_shows_the_connection_with_its_token_masked(world):
    admin = world.other.owner
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    admin.user_permissions.set(Permission.objects.filter(content_type__app_label="chat"))
    browser = login(admin, world.other.practice)
    with scopes_disabled():
        connection = SlackConnection.objects.get(practice=world.other.practice)
    listing = text(browser.get("/admin/chat/slackconnection/?status__exact=connected"))
    assert f"{OTHER_MARKER}Workspace" in listing
    page = text(browser.get(f"/admin/chat/slackconnection/{connection.pk}/change/"))
    assert connection.bot_token_masked in page
    assert connection.bot_token not in page and connection.signing_secret not in page
    assert 'name="bot_token"' not in page  # never editable in clear
    for model in ("slackchannel", "slackinvite", "slackevent", "slackpost"):
        assert browser.get(f"/admin/chat/{model}/?q=sweep").status_code == 200


@pytest.mark.parametrize("role", ["coach", "assistant"])
def test_the_call_log_naming_clients_e_mails_is_shown_to_the_owner_only(world, as_member, role):
    with scopes_disabled():
        IntegrationCall.objects.create(
            practice=world.home.practice,
            provider=CallProvider.EMAIL,
            operation="email.send",
            recipient="private.client@example.org",
            outcome="ok",
        )
    member = text(as_member(role).get(PAGE))
    assert "private.client@example.org" not in member
    assert "Recent calls to outside services" not in member
    owner = text(as_member("owner").get(PAGE))
    assert "Recent calls to outside services" in owner
    assert "private.client@example.org" in owner


def test_add_to_slack_is_not_offered_without_the_operators_signing_secret(
    world, as_member, settings
):
    with serving_slack(settings):
        settings.SLACK_SIGNING_SECRET = ""
        owner = as_member("owner")
        page = text(owner.get(PAGE))
        refused = text(owner.post("/dashboard/integrations/slack/install/", follow=True))
    assert '<button type="submit">Add to Slack</button>' not in page
    assert "(SLACK_SIGNING_SECRET is not set)" in page
    assert "and SLACK_SIGNING_SECRET is not set on this server" in refused
    with scopes_disabled():
        assert not SlackOAuthState.objects.filter(practice=world.home.practice).exists()


def test_a_connected_workspace_no_event_has_come_from_says_what_to_check(
    world, as_member, settings, client
):
    with serving_slack(settings) as standin:
        team = slack_connect(world.home.practice, world.home.owner, standin)
        owner = as_member("owner")
        before = text(owner.get(PAGE))
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": team.id,
                "event_id": "Ev1",
                "event": {"type": "x"},
            }
        ).encode()
        headers = {
            k: v for k, v in signed_headers(SIGNING_SECRET, body).items() if k != "Content-Type"
        }
        assert (
            client.post(
                "/slack/events/", data=body, content_type="application/json", headers=headers
            ).status_code
            == 200
        )
        after = text(owner.get(PAGE))
    words = "No events received from Slack yet — check the Request URL and signing secret."
    assert words in before
    assert words not in after and "Last received" in after
