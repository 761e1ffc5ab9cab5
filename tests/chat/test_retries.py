"""Slack's rate limits, faults and refusals: a retry never comes before Retry-After, work
is done once however often the task runs, and a task that gives up leaves a record."""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError
from django.utils import timezone
from django_scopes import scopes_disabled

from chat.models import ChannelStatus, InvitePath, InviteStatus, SlackChannel
from chat.services import invites as invites_module
from chat.services import slack_channel_work
from chat.services.invites import _channel_claim
from coachhub.models import CallOutcome, IntegrationCall

from ..kit.slack import (
    DONE,
    FAILED,
    PENDING,
    channel_of,
    invites_of,
    retry_after_lapse,
    slack_connect,
    step,
)

pytestmark = pytest.mark.django_db


class Retrying(Exception):
    """What Celery's retry raises; here it carries what the task asked for."""

    def __init__(self, countdown):
        super().__init__(countdown)
        self.countdown = countdown


@pytest.fixture
def worker_task(monkeypatch):
    """The Slack task as a worker runs it (not in-process), its retries recorded."""
    task = slack_channel_work._get_current_object()
    asked: list[int] = []

    def retry(exc=None, countdown=None, kwargs=None, **_):
        asked.append(countdown)
        return Retrying(countdown)

    monkeypatch.setattr(task, "retry", retry)
    monkeypatch.setattr(type(task), "is_eager", property(lambda task: False))
    task.asked = asked
    return task


def retry_due(engagement):
    """The time the retry was scheduled for has come ."""
    with scopes_disabled():
        SlackChannel.objects.filter(pk=channel_of(engagement).pk).update(retry_at=timezone.now())


def run(task, engagement):
    channel = channel_of(engagement)
    return task(practice_id=channel.practice_id, channel_id=channel.pk)


def test_a_rate_limit_is_retried_no_sooner_than_retry_after_and_invites_once(
    world, slack_standin, per_session, worker_task
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    jane = team.member_add("jane@example.org", "Jane Doe")
    engagement = per_session("Jane Doe", "jane@example.org", run_tasks=False)
    slack_standin.rate_limit_next("conversations.invite", retry_after=7)
    with pytest.raises(Retrying) as retried:
        run(worker_task, engagement)
    assert retried.value.countdown >= 7
    invite = invites_of(engagement)["jane@example.org"]
    assert invite.status == InviteStatus.PENDING and "will try again" in invite.error
    state, reason = step(engagement, "slack_invite")
    assert state == PENDING and "rate limit" in reason
    with scopes_disabled():
        limited = IntegrationCall.objects.get(error_code="ratelimited")
    assert limited.outcome == CallOutcome.RETRYING and limited.operation == "conversations.invite"

    assert run(worker_task, engagement) == "retry scheduled"  # a copy, sooner: no call
    assert len(slack_standin.calls("conversations.invite")) == 1
    retry_due(engagement)
    retry_after_lapse()
    assert run(worker_task, engagement) == ChannelStatus.CREATED  # the retry, 7 s or more later
    invited = [e for e in slack_standin.effects("conversations.invite") if e["user"] == jane.id]
    assert len(invited) == 1
    assert len(slack_standin.effects("conversations.create")) == 1
    assert invites_of(engagement)["jane@example.org"].status == InviteStatus.DONE
    assert step(engagement, "slack_invite")[0] == DONE
    [rate_limited] = slack_standin.retries_after_rate_limit()
    assert rate_limited["retry_after"] == 7


def test_a_server_error_then_success_creates_one_channel(
    world, slack_standin, per_session, worker_task
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin, plan="pro", slack_connect_allowed=True)
    engagement = per_session("Noor Ali", "noor@example.org", run_tasks=False)
    slack_standin.server_error_next("conversations.create", status=503)
    with pytest.raises(Retrying) as retried:
        run(worker_task, engagement)
    assert retried.value.countdown >= 30  # the backoff
    state, reason = step(engagement, "slack_channel")
    assert state == PENDING and "503" in reason
    retry_due(engagement)
    run(worker_task, engagement)
    run(worker_task, engagement)  # a duplicate delivery of the task: nothing more happens
    assert len(slack_standin.effects("conversations.create")) == 1
    assert len(slack_standin.effects("conversations.inviteShared")) == 1
    invite = invites_of(engagement)["noor@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.DONE, InvitePath.SLACK_CONNECT)


def test_a_task_that_gives_up_leaves_the_failure_on_the_checklist(
    world, slack_standin, per_session, worker_task
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    engagement = per_session("Ola Berg", "ola@example.org", run_tasks=False)
    slack_standin.server_error_next("conversations.create", status=500, times=20)
    channel = channel_of(engagement)
    last = worker_task.apply(  # its last allowed attempt
        kwargs={"practice_id": channel.practice_id, "channel_id": channel.pk},
        retries=worker_task.max_retries,
    )
    assert last.get() == ChannelStatus.FAILED and not worker_task.asked
    state, reason = step(engagement, "slack_channel")
    assert state == FAILED and "Press Try again" in reason
    assert step(engagement, "slack_invite")[0] == FAILED
    with scopes_disabled():
        assert IntegrationCall.objects.filter(attempt=worker_task.max_retries + 1).exists()


def test_a_channel_claimed_by_another_run_is_left_to_it(
    world, slack_standin, per_session, worker_task, monkeypatch
):
    """A second run while the first still works on the channel looks again later instead of
    calling Slack a second time."""
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    engagement = per_session("Pia Holm", "pia@example.org", run_tasks=False)
    with scopes_disabled():
        assert _channel_claim(channel_of(engagement))
    looks_again = []
    monkeypatch.setattr(
        worker_task, "apply_async", lambda kwargs, countdown: looks_again.append(countdown)
    )
    for _ in range(12):  # more than the retries a fault gets: a busy wait is not one
        assert run(worker_task, engagement) == "busy"
    assert looks_again == [30] * 12
    assert not slack_standin.calls("conversations.create")


def test_in_process_a_passing_failure_is_recorded_and_try_again_finishes_it(
    world, slack_standin, per_session, as_member, django_capture_on_commit_callbacks
):
    """Without a worker (the embedded default) nothing retries by itself: the page says so,
    and the coach's Try again queues the work again."""
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    team.member_add(home.coach.email, "Coach")
    slack_standin.rate_limit_next("users.lookupByEmail", retry_after=3)
    engagement = per_session("Quinn Roe", "quinn@example.org")
    state, reason = step(engagement, "slack_channel")
    assert state == PENDING and "(the coach) is not in it yet" in reason
    assert "Press Try again" in reason
    state, reason = step(engagement, "slack_invite")
    assert state == FAILED and "Press Try again" in reason
    coach = as_member("coach")
    page = coach.get(engagement.get_absolute_url()).content.decode()
    assert "Try again" in page
    retry_after_lapse()  # the coach presses it after Slack's three seconds
    with django_capture_on_commit_callbacks(execute=True):
        response = coach.post(f"/engagements/{engagement.pk}/slack/retry/")
    assert response.status_code == 302
    assert step(engagement, "slack_channel")[0] == DONE
    invite = invites_of(engagement)["quinn@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.WAITING, InvitePath.INVITE_LINK)
    assert len(slack_standin.effects("conversations.create")) == 1
    page = coach.get(engagement.get_absolute_url()).content.decode()
    assert "#coaching-quinn-roe" in page and "Waiting for Quinn Roe to join" in page


def test_try_again_is_for_members_who_change_engagements(world, slack_standin, as_member):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    engagement = world.home.objects["engagement"]
    assert (
        as_member("assistant").post(f"/engagements/{engagement.pk}/slack/retry/").status_code == 403
    )
    other = world.other.objects["engagement"]
    assert as_member("owner").post(f"/engagements/{other.pk}/slack/retry/").status_code == 404


def test_try_again_gives_an_engagement_set_up_before_slack_its_channel(
    world, slack_standin, as_member, django_capture_on_commit_callbacks
):
    home = world.home
    engagement = home.objects["engagement"]  # set up before the workspace was connected
    team = slack_connect(home.practice, home.owner, slack_standin)
    team.member_add(home.objects["client"].email, "Client")
    with django_capture_on_commit_callbacks(execute=True):
        response = as_member("owner").post(f"/engagements/{engagement.pk}/slack/retry/")
    assert response.status_code == 302
    assert channel_of(engagement).status == ChannelStatus.CREATED
    invite = invites_of(engagement)[home.objects["client"].email]
    assert invite.status == InviteStatus.DONE
    assert step(engagement, "slack_invite")[0] == DONE


def test_one_tasks_rate_limit_holds_back_the_next_task_for_the_same_workspace(
    world, slack_standin, per_session, worker_task, monkeypatch
):
    """Slack limits each method per workspace: the second channel's task does not call
    conversations.create while the first was told to wait, and waits as long itself."""
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    first = per_session("Jane Doe", "jane@example.org", run_tasks=False)
    second = per_session("Kim Lo", "kim@example.org", run_tasks=False)
    slack_standin.rate_limit_next("conversations.create", retry_after=30)
    with pytest.raises(Retrying) as retried:
        run(worker_task, first)
    assert retried.value.countdown >= 30
    asked = len(slack_standin.calls("conversations.create"))
    queued = []
    monkeypatch.setattr(
        worker_task,
        "apply_async",
        lambda kwargs=None, countdown=None, **_: queued.append(countdown),
    )
    # Waiting out another task's limit is not an attempt: a fresh message, no retry spent.
    assert run(worker_task, second) == "waiting for Slack's rate limit"
    assert queued and queued[0] >= 29
    assert len(slack_standin.calls("conversations.create")) == asked  # Slack not called
    with scopes_disabled():
        waited = IntegrationCall.objects.filter(
            engagement_id=second.pk, operation="conversations.create"
        ).get()
    assert waited.outcome == CallOutcome.RETRYING and waited.error_code == "ratelimited"
    assert "Waiting for Slack's rate limit" in waited.error
    state, reason = step(second, "slack_channel")
    assert state == PENDING and "rate limit" in reason


def test_a_slack_connect_invitation_whose_answer_was_lost_is_not_sent_twice(
    world, slack_standin, per_session, worker_task, as_member, django_capture_on_commit_callbacks
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin, plan="pro", slack_connect_allowed=True)
    engagement = per_session("Noor Ali", "noor@example.org", run_tasks=False)
    slack_standin.server_error_next("conversations.inviteShared", status=503)
    run(worker_task, engagement)  # Slack's answer is a 503: it may have sent it or not
    invite = invites_of(engagement)["noor@example.org"]
    assert invite.status == InviteStatus.FAILED
    assert "does not send it again by itself" in invite.error
    state, reason = step(engagement, "slack_invite")
    assert state == FAILED and "press Try again to send it" in reason
    run(worker_task, engagement)  # a duplicate of the task: still no second invitation
    assert len(slack_standin.calls("conversations.inviteShared")) == 1
    # The coach checked in Slack and found none: Try again sends it, once.
    with django_capture_on_commit_callbacks(execute=True):
        as_member("coach").post(f"/engagements/{engagement.pk}/slack/retry/")
    invite = invites_of(engagement)["noor@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.DONE, InvitePath.SLACK_CONNECT)
    assert len(slack_standin.effects("conversations.inviteShared")) == 1


def test_a_rate_limited_slack_connect_invitation_is_sent_on_the_retry(
    world, slack_standin, per_session, worker_task
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin, plan="pro", slack_connect_allowed=True)
    engagement = per_session("Noor Ali", "noor@example.org", run_tasks=False)
    slack_standin.rate_limit_next("conversations.inviteShared", retry_after=5)
    with pytest.raises(Retrying):
        run(worker_task, engagement)  # a 429: Slack certainly did not send it
    retry_after_lapse()
    retry_due(engagement)
    run(worker_task, engagement)
    invite = invites_of(engagement)["noor@example.org"]
    assert (invite.status, invite.path) == (InviteStatus.DONE, InvitePath.SLACK_CONNECT)
    assert len(slack_standin.effects("conversations.inviteShared")) == 1


def test_an_error_on_coachhubs_side_leaves_the_steps_saying_so_not_pending(
    world, slack_standin, per_session, monkeypatch
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    engagement = per_session("Kim Lo", "kim@example.org", run_tasks=False)

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(invites_module, "channel_create", database_gone)
    with pytest.raises(OperationalError):
        run(slack_channel_work, engagement)
    state, reason = step(engagement, "slack_channel")
    assert state == FAILED
    assert "Stopped by an error on CoachHub's side (OperationalError)" in reason
    assert "Press Try again" in reason
    assert invites_of(engagement)["kim@example.org"].status == InviteStatus.FAILED


def test_a_run_stopped_by_the_soft_time_limit_is_queued_again(
    world, slack_standin, per_session, worker_task, monkeypatch
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    engagement = per_session("Kim Lo", "kim@example.org", run_tasks=False)

    def too_slow(**kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(invites_module, "channel_create", too_slow)
    with pytest.raises(Retrying) as retried:
        run(worker_task, engagement)
    assert retried.value.countdown == 30
    channel = channel_of(engagement)
    assert channel.status == ChannelStatus.PENDING and channel.claimed_until is None
    assert channel.retry_at is not None  # the sweep knows it is due
