"""The stand-in plays the workspace and POSTs its events over HTTP to a running CoachHub,
signed with the app's secret as Slack signs them: removing the app breaks the practice's
connection with what to do, a redelivery changes nothing, the Request URL passes Slack's
handshake."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from chat.models import ConnectionMethod, ConnectionStatus, EventStatus, SlackConnection, SlackEvent
from devtools.slack_standin import StandIn

from ..kit.factories import PracticeFactory

SECRET = "standin-operator-secret-0123456789"


@pytest.mark.django_db(transaction=True)
def test_removing_the_app_in_the_workspace_breaks_the_connection(live_server, settings):
    settings.SLACK_SIGNING_SECRET = SECRET
    standin = StandIn(signing_secret=SECRET, events_url=f"{live_server.url}/slack/events/")
    team = standin.team_add(name="Harbour Coaching", plan="free")
    practice = PracticeFactory()
    with scopes_disabled():
        connection = SlackConnection.objects.create(
            practice=practice,
            method=ConnectionMethod.OAUTH,
            team_id=team.id,
            team_name=team.name,
            bot_user_id=team.bot_user_id,
            bot_token=team.bot_token,
        )
    assert standin.events_url_verify() is True

    assert standin.app_uninstall(team.id) == 200  # tokens_revoked, then app_uninstalled
    assert [d.status for d in standin.deliveries] == [200, 200]
    with scopes_disabled():
        rows = list(SlackEvent.objects.order_by("pk"))
        broken = SlackConnection.objects.get(pk=connection.pk)
    assert [(row.type, row.status) for row in rows] == [
        ("tokens_revoked", EventStatus.PROCESSED),
        ("app_uninstalled", EventStatus.PROCESSED),
    ]
    assert broken.status == ConnectionStatus.BROKEN
    assert broken.broken_reason.startswith(
        "Slack says the app was uninstalled from Harbour Coaching on "
    )
    assert broken.broken_reason.endswith("Add it again on the Integrations page.")

    assert standin.event_redeliver(rows[-1].event_id) == 200  # Slack's retry: no second row
    assert standin.deliveries[-1].retry_num == 1
    with scopes_disabled():
        assert SlackEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_workspace_no_practice_connected_is_acknowledged_and_nothing_kept(live_server, settings):
    settings.SLACK_SIGNING_SECRET = SECRET
    standin = StandIn(signing_secret=SECRET, events_url=f"{live_server.url}/slack/events/")
    team = standin.team_add(name="Strangers", plan="pro")
    assert standin.member_join(team.id, "someone@example.org", "Someone") == 200
    with scopes_disabled():
        assert SlackEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_events_signed_with_another_apps_secret_are_refused(live_server, settings):
    settings.SLACK_SIGNING_SECRET = SECRET
    standin = StandIn(signing_secret="not-ours", events_url=f"{live_server.url}/slack/events/")
    team = standin.team_add(name="Harbour Coaching")
    with scopes_disabled():
        SlackConnection.objects.create(
            practice=PracticeFactory(),
            method=ConnectionMethod.OAUTH,
            team_id=team.id,
            bot_token=team.bot_token,
        )
    assert standin.app_uninstall(team.id) == 401
    assert standin.events_url_verify() is False
    with scopes_disabled():
        assert SlackEvent.objects.count() == 0
        assert SlackConnection.objects.get().status == ConnectionStatus.CONNECTED
