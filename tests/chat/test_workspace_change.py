"""Reconnecting to another workspace, and Try again after a lost team_join: what was made
in the former workspace says so and is made anew here; a client who joined without
CoachHub hearing of it is added when the coach presses Try again."""

from __future__ import annotations

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from chat import services
from chat.models import ChannelStatus, InvitePath, InviteStatus

from ..kit.slack import (
    DONE,
    FAILED,
    PENDING,
    SIGNING_SECRET,
    channel_of,
    connection_of,
    invites_of,
    slack_connect,
    step,
)

pytestmark = pytest.mark.django_db


def test_reconnecting_to_another_workspace_marks_the_old_channels_and_try_again_remakes_them(
    world, slack_standin, per_session, as_member, django_capture_on_commit_callbacks
):
    home = world.home
    first = slack_connect(home.practice, home.owner, slack_standin, slack_connect_allowed=True)
    first.member_add("jane@example.org", "Jane Doe")
    engagement = per_session("Jane Doe", "jane@example.org")
    old = channel_of(engagement)
    assert old.status == ChannelStatus.CREATED and old.team_id == first.id

    second = slack_standin.team_add(name="New Home", plan="free")
    jane = second.member_add("jane@example.org", "Jane Doe")
    second.member_add(home.coach.email, "Coach")
    with scopes_disabled():
        services.slack_token_connect(
            practice=home.practice,
            actor=home.owner,
            bot_token=second.bot_token,
            signing_secret=SIGNING_SECRET,
        )
    connection = connection_of(home.practice)
    assert connection.team_id == second.id
    assert connection.invite_link == "" and not connection.slack_connect_allowed
    left = channel_of(engagement)
    assert left.status == ChannelStatus.FAILED
    state, reason = step(engagement, "slack_channel")
    assert state == FAILED
    assert (
        f"#{old.name} is in the former workspace {home.practice.name} Slack; press Try again "
        "to make a new channel here." in reason
    )
    assert step(engagement, "slack_invite")[0] == FAILED

    with django_capture_on_commit_callbacks(execute=True):
        response = as_member("coach").post(f"/engagements/{engagement.pk}/slack/retry/")
    assert response.status_code == 302
    made = channel_of(engagement)
    assert made.status == ChannelStatus.CREATED and made.team_id == second.id
    assert made.channel_id != old.channel_id
    assert jane.id in slack_standin.channel_members(made.channel_id)
    invite = invites_of(engagement)["jane@example.org"]
    assert (invite.status, invite.path, invite.slack_user_id) == (
        InviteStatus.DONE,
        InvitePath.MEMBER,
        jane.id,
    )
    assert step(engagement, "slack_channel")[0] == DONE


def test_reconnecting_to_the_same_workspace_keeps_the_channels_and_the_plan(
    world, slack_standin, per_session
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    engagement = per_session("Jane Doe", "jane@example.org")
    with scopes_disabled():
        services.slack_token_connect(
            practice=home.practice,
            actor=home.owner,
            bot_token=team.bot_token,
            signing_secret=SIGNING_SECRET,
        )
    assert channel_of(engagement).status == ChannelStatus.CREATED
    assert connection_of(home.practice).invite_link != ""


def test_a_client_who_joined_without_coachhub_hearing_of_it_is_added_by_try_again(
    world, slack_standin, per_session, as_member, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    mail.outbox.clear()
    engagement = per_session("Mia Wong", "mia@example.org")
    assert invites_of(engagement)["mia@example.org"].status == InviteStatus.WAITING
    mia = team.member_add("mia@example.org", "Mia Wong")  # she joins; the team_join is lost
    coach = as_member("coach")
    page = coach.get(engagement.get_absolute_url()).content.decode()
    assert "Waiting for Mia Wong to join" in page and "Try again" in page
    with django_capture_on_commit_callbacks(execute=True):
        coach.post(f"/engagements/{engagement.pk}/slack/retry/")
    invite = invites_of(engagement)["mia@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.DONE, InvitePath.INVITE_LINK)
    assert mia.id in slack_standin.channel_members(channel_of(engagement).channel_id)
    assert step(engagement, "slack_invite") == (
        DONE,
        "Mia Wong joined the workspace and was added to #coaching-mia-wong.",
    )
    assert len([m for m in mail.outbox if m.to == ["mia@example.org"]]) == 1  # no second e-mail


def test_try_again_for_someone_still_not_in_the_workspace_sends_nothing_more(
    world, slack_standin, per_session, as_member, django_capture_on_commit_callbacks
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    mail.outbox.clear()
    engagement = per_session("Mia Wong", "mia@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        as_member("coach").post(f"/engagements/{engagement.pk}/slack/retry/")
    assert invites_of(engagement)["mia@example.org"].status == InviteStatus.WAITING
    assert len([m for m in mail.outbox if m.to == ["mia@example.org"]]) == 1
    assert step(engagement, "slack_invite")[0] == PENDING
