"""The purchase pipeline with the practice's Slack connected: a paid checkout ends in the
client's private channel and their invite, in-process (no worker), against the Stripe and
Slack stand-ins."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from billing.events import event_process
from billing.models import EventStatus, Purchase, StripeEvent
from chat.models import ChannelStatus, InvitePath, InviteStatus
from coachhub.tenancy import practice_scope

from ..kit.booking import first_slots
from ..kit.slack import DONE, channel_of, invites_of, serving_slack, slack_connect, step
from ..kit.stripe import book_paid, buy, deliver, make_offer, paid_link

pytestmark = pytest.mark.django_db


@pytest.fixture
def slack_standin(settings):
    with serving_slack(settings) as standin:
        yield standin


def _deliver_new(standin, connected, client, capture, seen: set[str]) -> None:
    for event in standin.accounts[connected.secret_key].events:
        if event["id"] in seen:
            continue
        seen.add(event["id"])
        with capture(execute=True):
            response = deliver(client, connected.practice, event, connected.webhook_secret)
        assert response.status_code == 200, response.content


def test_a_paid_package_ends_in_the_clients_channel_and_invite(
    connected, standin, client, slack_standin, django_capture_on_commit_callbacks
):
    team = slack_connect(connected.practice, connected.owner, slack_standin)
    ann = team.member_add("ann@example.net", "Ann Buyer")
    offer = make_offer(connected, kind="session_pack", name="Five", price="450.00", sessions=5)
    session_id = buy(client, offer)
    standin.pay(session_id)
    _deliver_new(standin, connected, client, django_capture_on_commit_callbacks, set())
    with scopes_disabled():
        engagement = Purchase.objects.get(stripe_checkout_id=session_id).engagement
    channel = channel_of(engagement)
    assert channel.status == ChannelStatus.CREATED and channel.name == "coaching-ann-buyer"
    assert ann.id in slack_standin.channel_members(channel.channel_id)
    invite = invites_of(engagement)["ann@example.net"]
    assert (invite.status, invite.path) == (InviteStatus.DONE, InvitePath.MEMBER)
    assert step(engagement, "slack_invite")[0] == DONE


def test_a_paid_booking_invites_to_slack_once_paid_not_while_the_slot_is_held(
    connected, standin, client, slack_standin, django_capture_on_commit_callbacks
):
    team = slack_connect(connected.practice, connected.owner, slack_standin)
    bo = team.member_add("bo@example.net", "Bo")
    offer = make_offer(connected, kind="single_session", name="One", price="120.00")
    link = paid_link(connected, offer)
    chosen = first_slots(client, link)[2]
    with django_capture_on_commit_callbacks(execute=True):
        response = book_paid(client, link, chosen, name="Bo", email="bo@example.net")
    assert response.status_code == 302
    assert not slack_standin.effects("conversations.create")  # a lead holding a slot
    session_id = response["Location"].rsplit("/", 1)[-1]
    standin.pay(session_id)
    _deliver_new(standin, connected, client, django_capture_on_commit_callbacks, set())
    with scopes_disabled():
        engagement = Purchase.objects.get(stripe_checkout_id=session_id).engagement
    invite = invites_of(engagement)["bo@example.net"]
    assert (invite.status, invite.slack_user_id) == (InviteStatus.DONE, bo.id)
    assert len(slack_standin.effects("conversations.create")) == 1


def test_with_slack_the_paid_checkout_writes_two_rows_more_in_its_budget(
    connected, standin, client, slack_standin, django_capture_on_commit_callbacks
):
    """The channel and its invite are one INSERT each in the set-up's transaction; the
    Slack calls wait for the commit."""
    slack_connect(connected.practice, connected.owner, slack_standin)
    offer = make_offer(connected, kind="session_pack", name="Three", price="300.00", sessions=3)
    session_id = buy(client, offer)
    standin.pay(session_id)
    [paid] = [
        e
        for e in standin.accounts[connected.secret_key].events
        if e["type"] == "checkout.session.completed"
    ]
    with django_capture_on_commit_callbacks(execute=False):
        assert (
            deliver(client, connected.practice, paid, connected.webhook_secret).status_code == 200
        )
    with scopes_disabled():
        event = StripeEvent.objects.get(stripe_id=paid["id"])
    with (
        django_capture_on_commit_callbacks(execute=False) as queued,
        practice_scope(connected.practice),
        CaptureQueriesContext(connection) as statements,
    ):
        assert event_process(event_id=event.pk) == EventStatus.PROCESSED
    sql = [q["sql"] for q in statements.captured_queries]
    assert sum(s.startswith('INSERT INTO "chat_slackchannel"') for s in sql) == 1
    assert sum('"chat_slackinvite"' in s and s.startswith("INSERT") for s in sql) == 1
    # 28 without Slack (tests/billing/test_pipeline.py), and the two rows.
    assert len(sql) <= 30, "\n".join(s[:120] for s in sql)
    # Nothing called inside the transaction (auth.test was the connecting).
    assert [call.method for call in slack_standin.calls()] == ["auth.test"]
    assert queued  # the Slack task is queued for after the commit
