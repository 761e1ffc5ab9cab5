"""The recovery sweep of Slack work: a channel or post whose worker died, or whose message
was lost, is queued again minutes later — never before the Retry-After Slack asked for,
once however many sweeps run, and done once."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from chat import tasks
from chat.models import ChannelStatus, InviteStatus, PostStatus, SlackChannel, SlackPost
from chat.services import slack_channel_work, slack_post_queue, slack_work_recover
from chat.services.posts import slack_post_send
from chat.services.recovery import recover_after
from coachhub.tenancy import practice_scope

from ..kit.slack import DONE, channel_of, invites_of, retry_after_lapse, slack_connect, step

pytestmark = pytest.mark.django_db


class Retrying(Exception):
    """What Celery's retry raises; here it carries the countdown the task asked for."""

    def __init__(self, countdown):
        super().__init__(countdown)
        self.countdown = countdown


def as_worker(monkeypatch, task):
    """The task as a worker runs it (not in-process): a retry is asked for, not run."""
    task = task._get_current_object()
    monkeypatch.setattr(task, "retry", lambda exc=None, countdown=None, **_: Retrying(countdown))
    monkeypatch.setattr(type(task), "is_eager", property(lambda task: False))
    return task


def sweep(practice, capture, *, at: dt.datetime) -> list:
    """One sweep at `at`; returns the tasks it queued, each run at `at` when called."""
    with capture(execute=False) as queued, practice_scope(practice):
        slack_work_recover(practice_id=practice.pk, now=at)
    return [at_time(at, task) for task in queued]


def at_time(at: dt.datetime, task):
    def run():
        with mock.patch("django.utils.timezone.now", return_value=at):
            return task()

    return run


def reread(channel) -> SlackChannel:
    with scopes_disabled():
        return SlackChannel.objects.get(pk=channel.pk)


def test_a_rate_limited_channel_is_swept_only_after_its_retry_after(
    world, slack_standin, per_session, monkeypatch, django_capture_on_commit_callbacks
):
    """The worker holding the retry dies: the sweep queues the work again once it is
    overdue, not before Slack's Retry-After, and once for two sweeps; Jane is added once."""
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    jane = team.member_add("jane@example.org", "Jane Doe")
    engagement = per_session("Jane Doe", "jane@example.org", run_tasks=False)
    worker = as_worker(monkeypatch, slack_channel_work)
    channel = channel_of(engagement)
    slack_standin.rate_limit_next("conversations.invite", retry_after=600)
    before = timezone.now()
    with pytest.raises(Retrying) as retried:
        worker(practice_id=channel.practice_id, channel_id=channel.pk)
    assert retried.value.countdown >= 600
    waiting = reread(channel)
    assert waiting.claimed_until is None
    assert waiting.retry_at >= before + dt.timedelta(seconds=600)

    # Ten minutes on the retry is due, but a late retry is not presumed lost yet.
    assert not sweep(home.practice, django_capture_on_commit_callbacks, at=waiting.retry_at)
    late = waiting.retry_at + recover_after() + dt.timedelta(seconds=1)
    [requeued] = sweep(home.practice, django_capture_on_commit_callbacks, at=late)
    assert not sweep(home.practice, django_capture_on_commit_callbacks, at=late)  # taken once
    retry_after_lapse()  # that late, Slack's Retry-After is over
    requeued()
    requeued()  # the original retry turns up after all: nothing more happens
    added = [e for e in slack_standin.effects("conversations.invite") if e["user"] == jane.id]
    assert len(added) == 1
    assert invites_of(engagement)["jane@example.org"].status == InviteStatus.DONE
    assert step(engagement, "slack_invite")[0] == DONE
    done = reread(channel)
    assert done.retry_at is None and done.claimed_until is None
    assert not sweep(home.practice, django_capture_on_commit_callbacks, at=late + recover_after())


def test_a_dead_workers_channel_is_taken_over_once_its_claim_lapses(
    world, slack_standin, per_session, django_capture_on_commit_callbacks
):
    """SIGKILL mid-task leaves the channel claimed and its work open: nothing is queued while
    the claim could still be a live worker's; after it lapses the work is done once."""
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    team.member_add("noor@example.org", "Noor Ali")
    engagement = per_session("Noor Ali", "noor@example.org", run_tasks=False)
    channel = channel_of(engagement)
    now = timezone.now()
    claimed_until = now + dt.timedelta(minutes=6)
    with scopes_disabled():
        SlackChannel.objects.filter(pk=channel.pk).update(
            claimed_until=claimed_until, retry_at=now - dt.timedelta(hours=1)
        )
    assert not sweep(home.practice, django_capture_on_commit_callbacks, at=now)
    assert not sweep(home.practice, django_capture_on_commit_callbacks, at=claimed_until)
    after = claimed_until + dt.timedelta(seconds=1)
    [requeued] = sweep(home.practice, django_capture_on_commit_callbacks, at=after)
    requeued()
    assert channel_of(engagement).status == ChannelStatus.CREATED
    assert len(slack_standin.effects("conversations.create")) == 1
    assert invites_of(engagement)["noor@example.org"].status == InviteStatus.DONE


def test_work_whose_message_was_lost_is_queued_a_few_minutes_later(
    world, slack_standin, per_session, django_capture_on_commit_callbacks
):
    """Set up while the broker was away (the task never queued): due since the set-up."""
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    engagement = per_session("Ola Berg", "ola@example.org", run_tasks=False)
    due = channel_of(engagement).retry_at
    assert due is not None
    assert not sweep(home.practice, django_capture_on_commit_callbacks, at=due + recover_after())
    later = due + recover_after() + dt.timedelta(seconds=1)
    [requeued] = sweep(home.practice, django_capture_on_commit_callbacks, at=later)
    requeued()
    assert channel_of(engagement).status == ChannelStatus.CREATED


def test_finished_work_is_never_swept(
    world, slack_standin, per_session, django_capture_on_commit_callbacks
):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    team.member_add("pia@example.org", "Pia Holm")
    team.member_add(home.coach.email, "Coach")
    engagement = per_session("Pia Holm", "pia@example.org")
    assert invites_of(engagement)["pia@example.org"].status == InviteStatus.DONE
    assert channel_of(engagement).retry_at is None
    far = timezone.now() + dt.timedelta(days=1)
    assert not sweep(home.practice, django_capture_on_commit_callbacks, at=far)


@pytest.fixture
def channel_ready(world, slack_standin, per_session):
    home = world.home
    team = slack_connect(home.practice, home.owner, slack_standin)
    team.member_add("quinn@example.org", "Quinn Roe")
    team.member_add(home.coach.email, "Coach")
    engagement = per_session("Quinn Roe", "quinn@example.org")
    return engagement, channel_of(engagement)


def queue_post(world, engagement, capture) -> SlackPost:
    with capture(execute=False), practice_scope(world.home.practice):
        return slack_post_queue(
            practice=world.home.practice,
            collection=engagement.collection,
            key="session:1:scheduled:0",
            kind="session_link",
            text="Your session is on Monday",
        )


def posted(standin, channel) -> list:
    return [e for e in standin.effects("chat.postMessage") if e["channel"] == channel.channel_id]


def test_a_rate_limited_post_is_swept_after_its_retry_after_and_posted_once(
    world, slack_standin, channel_ready, monkeypatch, django_capture_on_commit_callbacks
):
    engagement, channel = channel_ready
    post = queue_post(world, engagement, django_capture_on_commit_callbacks)
    worker = as_worker(monkeypatch, slack_post_send)
    slack_standin.rate_limit_next("chat.postMessage", retry_after=300)
    queued = []
    with monkeypatch.context() as patched:
        patched.setattr(
            slack_post_send._get_current_object(),
            "apply_async",
            lambda kwargs=None, countdown=None, **_: queued.append(countdown),
        )
        # A rate limit is Slack saying when, not a fault: a fresh message (lost with a
        # dead worker here, so the sweep's to take back), no retry spent.
        assert worker(practice_id=post.practice_id, post_id=post.pk) == PostStatus.PENDING
    assert queued == [300]
    with scopes_disabled():
        waiting = SlackPost.objects.get(pk=post.pk)
    assert waiting.status == PostStatus.PENDING
    assert waiting.retry_at >= timezone.now() + dt.timedelta(seconds=295)
    practice = world.home.practice
    assert not sweep(practice, django_capture_on_commit_callbacks, at=waiting.retry_at)
    late = waiting.retry_at + recover_after() + dt.timedelta(seconds=1)
    [requeued] = sweep(practice, django_capture_on_commit_callbacks, at=late)
    assert not sweep(practice, django_capture_on_commit_callbacks, at=late)
    retry_after_lapse()
    requeued()
    requeued()
    assert len(posted(slack_standin, channel)) == 1
    with scopes_disabled():
        assert SlackPost.objects.get(pk=post.pk).status == PostStatus.POSTED


def test_a_post_claimed_by_a_dead_worker_is_posted_after_the_claim_lapses(
    world, slack_standin, channel_ready, django_capture_on_commit_callbacks
):
    engagement, channel = channel_ready
    post = queue_post(world, engagement, django_capture_on_commit_callbacks)
    now = timezone.now()
    with scopes_disabled():
        SlackPost.objects.filter(pk=post.pk).update(
            status=PostStatus.POSTING, claimed_at=now, attempts=1
        )
    practice = world.home.practice
    assert not sweep(practice, django_capture_on_commit_callbacks, at=now + dt.timedelta(minutes=5))
    [requeued] = sweep(practice, django_capture_on_commit_callbacks, at=now + dt.timedelta(hours=1))
    requeued()
    assert len(posted(slack_standin, channel)) == 1
    with scopes_disabled():
        assert SlackPost.objects.get(pk=post.pk).status == PostStatus.POSTED


def test_beat_fans_out_one_sweep_per_practice_with_stuck_work(
    world, slack_standin, per_session, monkeypatch
):
    home = world.home
    slack_connect(home.practice, home.owner, slack_standin)
    per_session("Rui Costa", "rui@example.org", run_tasks=False)
    assert tasks.slack_work_recover_all() == 0  # just queued: not presumed lost
    later = timezone.now() + recover_after() + dt.timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    swept = []
    monkeypatch.setattr(
        tasks.slack_work_recover_practice, "delay", lambda **kwargs: swept.append(kwargs)
    )
    # The home practice's channel, and the other practice's sample post, one sweep each.
    assert tasks.slack_work_recover_all() == 2
    assert sorted(kwargs["practice_id"] for kwargs in swept) == sorted(
        [home.practice.pk, world.other.practice.pk]
    )
