"""Each client gets into their collection's private channel by the best path the workspace
allows, and the checklist says which — real `slack_sdk` against the local stand-in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django_scopes import scopes_disabled

from chat.models import ChannelStatus, InvitePath, InviteStatus, SlackInvite
from chat.services import slack_channel_work, slack_member_joined
from coachhub.models import CallOutcome, CallProvider, IntegrationCall
from engagements.models import Organization
from engagements.services import NewClient
from integrations.slack import client as slack
from sessions_app import services as session_services

from ..kit.booking import open_all_week
from ..kit.slack import (
    DONE,
    FAILED,
    INVITE_LINK,
    PENDING,
    channel_of,
    connection_of,
    invites_of,
    slack_connect,
    step,
)

pytestmark = pytest.mark.django_db


def test_a_client_already_in_the_workspace_is_added_to_their_new_channel_with_the_coach(
    world, slack_standin, per_session
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    coach = team.member_add(home.coach.email, "Coach")
    jane = team.member_add("jane@example.org", "Jane Doe")
    engagement = per_session("Jane Doe", "jane@example.org")
    channel = channel_of(engagement)
    assert channel.status == ChannelStatus.CREATED and channel.name == "coaching-jane-doe"
    assert slack_standin.channel(channel.channel_id).is_private
    assert set(slack_standin.channel_members(channel.channel_id)) == {
        team.bot_user_id,
        coach.id,
        jane.id,
    }
    invite = invites_of(engagement)["jane@example.org"]
    assert (invite.status, invite.path, invite.slack_user_id) == (
        InviteStatus.DONE,
        InvitePath.MEMBER,
        jane.id,
    )
    assert step(engagement, "slack_invite") == (
        DONE,
        "Jane Doe was already in the workspace and was added to #coaching-jane-doe.",
    )
    state, reason = step(engagement, "slack_channel")
    assert state == DONE and "#coaching-jane-doe created" in reason
    with scopes_disabled():
        logged = list(
            IntegrationCall.objects.filter(engagement_id=engagement.pk).values_list(
                "provider", "operation", "outcome"
            )
        )
    assert ("slack", "conversations.create", "ok") in logged
    assert logged.count(("slack", "conversations.invite", "ok")) == 2  # the coach, then Jane


def test_on_a_plan_with_slack_connect_a_newcomer_is_invited_by_e_mail(
    world, slack_standin, per_session
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin, plan="pro", slack_connect_allowed=True)
    engagement = per_session("Omar Haddad", "omar@example.org")
    invite = invites_of(engagement)["omar@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.DONE, InvitePath.SLACK_CONNECT)
    assert invite.shared_invite_id.startswith("I")
    [shared] = slack_standin.effects("conversations.inviteShared")
    assert shared["email"] == "omar@example.org"
    state, reason = step(engagement, "slack_invite")
    assert state == DONE and "Slack Connect invitation to #coaching-omar-haddad" in reason
    assert not [m for m in mail.outbox if "on Slack" in m.subject]  # no invite link needed


def test_without_slack_connect_the_invite_link_is_e_mailed_and_joining_completes_it(
    world, slack_standin, per_session, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    mail.outbox.clear()
    engagement = per_session("Mia Wong", "mia@example.org")
    invite = invites_of(engagement)["mia@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.WAITING, InvitePath.INVITE_LINK)
    [message] = [m for m in mail.outbox if m.to == ["mia@example.org"]]
    assert INVITE_LINK in message.body and "#coaching-mia-wong" in message.body
    state, reason = step(engagement, "slack_invite")
    assert state == PENDING
    assert reason.startswith("Waiting for Mia Wong to join the workspace (invite link e-mailed on")
    with scopes_disabled():
        assert IntegrationCall.objects.filter(
            provider=CallProvider.EMAIL, subject_id=invite.pk, outcome=CallOutcome.OK
        ).exists()
    assert not slack_standin.effects("conversations.inviteShared")

    # She joins the workspace; the events processor hands team_join over.
    mia = team.member_add("mia@example.org", "Mia Wong")
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        joined = slack_member_joined(
            connection=connection_of(home.practice), slack_user_id=mia.id, email="MIA@example.org"
        )
    assert joined == 1
    invite = invites_of(engagement)["mia@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.DONE, InvitePath.INVITE_LINK)
    assert invite.joined_at is not None
    assert mia.id in slack_standin.channel_members(channel_of(engagement).channel_id)
    assert step(engagement, "slack_invite") == (
        DONE,
        "Mia Wong joined the workspace and was added to #coaching-mia-wong.",
    )
    # A second team_join for the same person (Slack redelivers) completes nothing more.
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        assert (
            slack_member_joined(
                connection=connection_of(home.practice), slack_user_id=mia.id, email=mia.email
            )
            == 0
        )
    assert (
        len([e for e in slack_standin.effects("conversations.invite") if e["user"] == mia.id]) == 1
    )


def test_the_path_follows_the_plan_setting(world, slack_standin, per_session):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    first = per_session("Ann One", "ann@example.org")
    assert invites_of(first)["ann@example.org"].path == InvitePath.INVITE_LINK

    # The workspace moves to a paid plan and the owner says so: Slack Connect from now on.
    slack_standin.plan_set(team.id, "pro")
    with scopes_disabled():
        connection = connection_of(home.practice)
        connection.slack_connect_allowed = True
        connection.save(update_fields=["slack_connect_allowed"])
    second = per_session("Ben Two", "ben@example.org")
    assert invites_of(second)["ben@example.org"].path == InvitePath.SLACK_CONNECT

    # Back on the free plan while the setting still says Slack Connect: Slack refuses
    # (not_paid), and the invite link is the path that works.
    slack_standin.plan_set(team.id, "free")
    third = per_session("Cy Three", "cy@example.org")
    invite = invites_of(third)["cy@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.WAITING, InvitePath.INVITE_LINK)

    # Without an invite link either, the step says what to do.
    with scopes_disabled():
        connection.invite_link = ""
        connection.slack_connect_allowed = False
        connection.save(update_fields=["invite_link", "slack_connect_allowed"])
    fourth = per_session("Di Four", "di@example.org")
    invite = invites_of(fourth)["di@example.org"]
    assert invite.status == InviteStatus.FAILED and invite.path == ""
    state, reason = step(fourth, "slack_invite")
    assert state == FAILED
    assert "Add the workspace invite link on the Integrations page" in reason


def test_already_in_the_channel_counts_as_added(world, slack_standin, per_session):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    team.member_add("eve@example.org", "Eve Adams")
    slack_standin.fail_next("conversations.invite", error="already_in_channel", times=5)
    engagement = per_session("Eve Adams", "eve@example.org")
    invite = invites_of(engagement)["eve@example.org"]
    assert (invite.status, invite.path, invite.error) == (InviteStatus.DONE, "member", "")
    assert step(engagement, "slack_invite")[0] == DONE


def test_a_team_where_one_person_fails_for_good_invites_the_others(world, slack_standin, workshop):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)  # the coach is not in it
    people = [
        ("Ada Lane", "ada@acme.test"),
        ("Bo Chen", "bo@acme.test"),
        ("Cai Ruiz", "cai@acme.test"),
    ]
    for name, email in people:
        team.member_add(email, name)
    with scopes_disabled():
        acme = Organization.objects.create(practice=home.practice, name="Acme")
    # The first participant's invite is refused: Slack no longer knows the user.
    slack_standin.fail_next("conversations.invite", error="user_not_found")
    engagement = workshop("Leadership", people, organization=acme)
    channel = channel_of(engagement)
    assert channel.name == "team-acme-leadership"
    invites = invites_of(engagement)
    assert invites["ada@acme.test"].status == InviteStatus.FAILED
    assert "user_not_found" in invites["ada@acme.test"].error
    assert invites["bo@acme.test"].status == invites["cai@acme.test"].status == InviteStatus.DONE
    state, reason = step(engagement, "slack_invite")
    assert state == FAILED
    assert reason.startswith(
        "2 of 3 in the channel; 1 failed: Ada Lane: Slack refused: user_not_found"
    )
    # The coach not being in the workspace is said on the channel step, not as anyone's failure.
    state, reason = step(engagement, "slack_channel")
    assert state == PENDING
    assert f"is not in the Slack workspace as {home.coach.email}" in reason


def test_participants_added_later_get_their_invites(
    world, slack_standin, workshop, as_member, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    team.member_add("dan@acme.test", "Dan")
    team.member_add("fay@acme.test", "Fay")
    engagement = workshop("Offsite", [("Dan", "dan@acme.test")])
    with scopes_disabled():
        collection = engagement.collection
    owner = as_member("owner")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(
            f"/collections/{collection.pk}/participants/",
            {"participants_text": "Fay <fay@acme.test>"},
        )
    assert response.status_code == 302
    invites = invites_of(engagement)
    assert set(invites) == {"dan@acme.test", "fay@acme.test"}
    assert invites["fay@acme.test"].status == InviteStatus.DONE
    assert step(engagement, "slack_invite") == (DONE, "2 of 2 in the channel.")
    assert len(slack_standin.effects("conversations.create")) == 1


def test_a_name_taken_in_slack_gets_a_suffix(world, slack_standin, per_session):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    for name in ("coaching-lee-park", "coaching-lee-park-2"):
        slack.private_channel_create(
            token=team.bot_token, base_url=slack_standin.base_url, name=name
        )
    engagement = per_session("Lee Park", "lee@example.org")
    assert channel_of(engagement).name == "coaching-lee-park-3"
    assert "#coaching-lee-park-3" in step(engagement, "slack_channel")[1]


@pytest.mark.parametrize(
    ("name", "email", "expected"),
    [
        ("Zoë Ødegård-Łukasiewicz", "zoe@example.org", "coaching-zoe-odegard-lukasiewicz"),
        ("Юлия Петрова", "yulia.petrova@example.org", "coaching-yulia-petrova"),
        ("王芳", "8888@example.org", "coaching-8888"),
    ],
)
def test_a_name_in_any_script_makes_a_channel(
    world, slack_standin, per_session, name, email, expected
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    engagement = per_session(name, email)
    channel = channel_of(engagement)
    assert channel.status == ChannelStatus.CREATED and channel.name == expected


def test_a_very_long_name_is_cut_to_slacks_80_characters(world, slack_standin, per_session):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    engagement = per_session("Maximiliana " * 12, "max@example.org")
    channel = channel_of(engagement)
    assert channel.status == ChannelStatus.CREATED
    assert len(channel.name) <= 80 and channel.name.startswith("coaching-maximiliana-")
    assert not channel.name.endswith("-")


def test_a_permanent_error_fails_the_steps_with_what_to_do(world, slack_standin, per_session):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    slack_standin.fail_next("conversations.create", error="missing_scope")
    engagement = per_session("Kim Lo", "kim@example.org")
    assert channel_of(engagement).status == ChannelStatus.FAILED
    state, reason = step(engagement, "slack_channel")
    assert state == FAILED and "Reinstall it with “Add to Slack”" in reason
    state, reason = step(engagement, "slack_invite")
    assert state == FAILED and "The channel was not created" in reason
    assert invites_of(engagement)["kim@example.org"].status == InviteStatus.FAILED


def test_a_revoked_token_breaks_the_connection_and_stops_the_calls(
    world, slack_standin, per_session
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    slack_standin.token_revoke(team.bot_token)
    engagement = per_session("Rui Sá", "rui@example.org")
    state, reason = step(engagement, "slack_channel")
    assert state == FAILED and "Connect the workspace again on the Integrations page" in reason
    assert step(engagement, "slack_invite")[0] == FAILED
    assert connection_of(home.practice).status == "broken"
    before = len(slack_standin.calls())
    # The next set-up sees a broken connection: its Slack steps say what to do, and Slack
    # is not called (each request reads the practice afresh).
    home.practice._state.fields_cache.pop("slack_connection", None)
    later = per_session("Sol Vega", "sol@example.org")
    with scopes_disabled():
        assert not SlackInvite.objects.filter(client__email="sol@example.org").exists()
    state, reason = step(later, "slack_invite")
    assert state == FAILED and "Connect the workspace again on the Integrations page" in reason
    assert "Try again" in reason
    assert len(slack_standin.calls()) == before


def test_a_group_link_booker_is_invited_to_the_workshops_channel(
    world, slack_standin, workshop, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    gus = team.member_add("gus@example.net", "Gus")
    engagement = workshop("Open workshop", [("Dan", "dan@acme.test")])
    link = open_all_week(home.practice, home.coach, capacity=5, engagement=engagement, slug="g")
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        session_services.booking_create(
            link=link,
            name="Gus",
            email="gus@example.net",
            starts_at=now + dt.timedelta(days=12, hours=1),
            time_zone="UTC",
            now=now,
        )
    invite = invites_of(engagement)["gus@example.net"]
    assert (invite.status, invite.slack_user_id) == (InviteStatus.DONE, gus.id)
    assert len(slack_standin.effects("conversations.create")) == 1


def test_the_collection_page_shows_the_channel_and_each_persons_state(
    world, slack_standin, workshop, as_member
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    team.member_add("ivo@acme.test", "Ivo")
    team.member_add(home.coach.email, "Coach")
    engagement = workshop("Retro", [("Ivo", "ivo@acme.test"), ("Jo", "jo@acme.test")])
    channel = channel_of(engagement)
    with scopes_disabled():
        collection = engagement.collection
    page = as_member("coach").get(collection.get_absolute_url()).content.decode()
    assert f"{team.url}archives/{channel.channel_id}" in page and "#team-retro" in page
    assert "Ivo was already in the workspace and was added to #team-retro." in page
    assert "Waiting for Jo to join the workspace" in page
    # Jo's wait ends when she joins; if Slack's word of it is lost, Try again looks her up.
    assert "Try again" in page
    engagement_page = as_member("assistant").get(engagement.get_absolute_url()).content.decode()
    assert "#team-retro" in engagement_page
    assert "Try again" not in engagement_page  # an assistant does not change engagements


def test_a_monthly_package_and_a_seat_client_take_the_same_path(
    world, slack_standin, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    seat_client = home.objects["seat_client"]
    member = team.member_add(seat_client.email, seat_client.name)
    with django_capture_on_commit_callbacks(execute=True), scopes_disabled():
        package = session_services.engagement_create_monthly_package(
            practice=home.practice,
            actor=home.owner,
            client=NewClient(name="Pat Monthly", email="pat@example.org"),
            coach=home.coach,
            hours_per_month=Decimal("2"),
        )
        seat = session_services.engagement_create_per_session(
            practice=home.practice, actor=home.owner, client=seat_client, coach=home.coach
        )
    assert channel_of(package).name == "coaching-pat-monthly"
    assert invites_of(package)["pat@example.org"].path == InvitePath.INVITE_LINK
    assert step(package, "slack_channel")[0] == PENDING  # the coach is not in the workspace
    assert step(package, "slack_invite")[0] == PENDING  # waiting for Pat to join
    invite = invites_of(seat)[seat_client.email]
    assert (invite.status, invite.slack_user_id) == (InviteStatus.DONE, member.id)


def test_a_connection_removed_before_the_task_runs_fails_the_steps_without_calls(
    world, slack_standin, per_session
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    engagement = per_session("Uma Vo", "uma@example.org", run_tasks=False)
    with scopes_disabled():
        connection_of(home.practice).delete()
    before = len(slack_standin.calls())
    channel = channel_of(engagement)
    slack_channel_work.apply(kwargs={"practice_id": channel.practice_id, "channel_id": channel.pk})
    assert len(slack_standin.calls()) == before
    state, reason = step(engagement, "slack_channel")
    assert state == FAILED and "Slack was disconnected" in reason
    assert invites_of(engagement)["uma@example.org"].status == InviteStatus.FAILED
