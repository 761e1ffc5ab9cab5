"""The whole Slack story as an owner, a client and Slack live it, with nothing mocked:
CoachHub served on a live port, the Slack and Stripe stand-ins answering the real client
libraries, tasks in-process after each commit, and Slack's team_join POSTed over HTTP,
signed with the operator's secret."""

from __future__ import annotations

import html

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from billing.models import Purchase
from chat.models import ChannelStatus, ConnectionStatus, InvitePath, InviteStatus

from ..kit.http import login
from ..kit.slack import (
    DONE,
    FAILED,
    INVITE_LINK,
    PENDING,
    authorize,
    channel_of,
    connection_of,
    invites_of,
    local_path,
    serving_slack,
    step,
)
from ..kit.stripe import buy, connect, deliver, make_offer, serving_standin

INTEGRATIONS = "/dashboard/integrations/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def _paid(stripe, connected, client, seen: set[str]) -> None:
    """Stripe's events for what was paid, delivered to the practice's webhook as Stripe would."""
    for event in stripe.accounts[connected.secret_key].events:
        if event["id"] not in seen:
            seen.add(event["id"])
            response = deliver(client, connected.practice, event, connected.webhook_secret)
            assert response.status_code == 200, response.content


def _buy_package(stripe, connected, client, offer, seen, *, email, name):
    session_id = buy(client, offer, email=email, name=name)
    stripe.pay(session_id)
    _paid(stripe, connected, client, seen)
    with scopes_disabled():
        return Purchase.objects.get(stripe_checkout_id=session_id).engagement


@pytest.mark.django_db(transaction=True)
def test_done_when(live_server, settings, world, client):
    settings.SITE_URL = "http://testserver"
    home = world.home
    with serving_slack(settings) as slack, serving_standin(settings, deliver=False) as stripe:
        slack.events_url = f"{live_server.url}/slack/events/"
        team = slack.team_add(name="Harbour Coaching", plan="free", installed=False)
        team.member_add(home.coach.email, "Coach")
        owner = login(home.owner, home.practice)

        # 1. The owner connects the workspace with "Add to Slack" on Slack's own page.
        started = owner.post("/dashboard/integrations/slack/install/")
        back = authorize(started["Location"], team_id=team.id)
        page = text(owner.get(local_path(back), follow=True))
        assert "Slack workspace Harbour Coaching connected" in page
        assert "No events received from Slack yet" in page

        # 2. Its plan has no Slack Connect: the workspace's invite link is e-mailed instead.
        plan = owner.post("/dashboard/integrations/slack/plan/", {"invite_link": INVITE_LINK})
        assert plan.status_code == 302

        # 3. A client buys a package through Stripe: channel made, invite link e-mailed.
        connected = connect(home.practice, home.owner, stripe)
        connected.coach = home.coach
        offer = make_offer(connected, kind="session_pack", name="Five", price="450.00", sessions=5)
        seen: set[str] = set()
        mail.outbox.clear()
        engagement = _buy_package(
            stripe, connected, client, offer, seen, email="ann@example.net", name="Ann Buyer"
        )
        channel = channel_of(engagement)
        assert channel.status == ChannelStatus.CREATED and channel.name == "coaching-ann-buyer"
        invite = invites_of(engagement)["ann@example.net"]
        assert (invite.status, invite.path) == (InviteStatus.WAITING, InvitePath.INVITE_LINK)
        [letter] = [m for m in mail.outbox if m.to == ["ann@example.net"] and INVITE_LINK in m.body]
        assert "#coaching-ann-buyer" in letter.body
        assert step(engagement, "slack_invite")[0] == PENDING

        # 4. She joins the workspace; Slack POSTs team_join, signed with the operator's secret.
        assert slack.member_join(team.id, "ann@example.net", "Ann Buyer") == 200
        ann = next(m for m in slack.teams[team.id].members.values() if m.email == "ann@example.net")
        assert ann.id in slack.channel_members(channel.channel_id)
        assert step(engagement, "slack_invite") == (
            DONE,
            "Ann Buyer joined the workspace and was added to #coaching-ann-buyer.",
        )
        assert step(engagement, "slack_channel")[0] == DONE

        # 5. The engagement page: the channel, her state, and the calls made for it.
        coach = login(home.coach, home.practice)
        page = text(coach.get(engagement.get_absolute_url()))
        assert "#coaching-ann-buyer" in page
        assert "Ann Buyer joined the workspace and was added to #coaching-ann-buyer." in page
        calls = page[page.index('id="integration-calls"') :]
        for purpose in ("Create the channel", "Add to the channel", "to ann@example.net"):
            assert purpose in calls
        page = text(owner.get(INTEGRATIONS))
        assert "No events received from Slack yet" not in page and "Last received" in page

        # 6. The workspace revokes CoachHub's token: the next set-up says what to do.
        slack.token_revoke(connection_of(home.practice).bot_token)
        later = _buy_package(
            stripe, connected, client, offer, seen, email="bo@example.net", name="Bo Later"
        )
        state, reason = step(later, "slack_channel")
        assert state == FAILED and "Connect the workspace again on the Integrations page" in reason
        assert connection_of(home.practice).status == ConnectionStatus.BROKEN
        page = text(owner.get(INTEGRATIONS))
        assert "Broken: Harbour Coaching." in page
        assert "Connect the workspace again on the Integrations page." in page
