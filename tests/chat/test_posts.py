"""Posts in a collection's Slack channel: once per key, once per task however often it
runs, rate limits waited out as Slack asks, refusals left failed with what to do — all
through the real slack_sdk against the local Slack stand-in."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import OperationalError
from django.test import TestCase
from django.utils import timezone
from django_scopes import scopes_disabled

from chat import services
from chat.models import (
    ChannelStatus,
    ConnectionMethod,
    PostStatus,
    SlackChannel,
    SlackConnection,
    SlackPost,
)
from chat.services import posts as posts_module
from chat.services.posts import slack_post_send
from coachhub.models import CallOutcome, CallProvider, IntegrationCall
from coachhub.tenancy import practice_scope
from devtools.slack_standin import StandIn
from integrations.slack import client as slack_api
from sessions_app.models import Session
from sessions_app.tasks import reminders_send_for_practice

from ..kit.slack import retry_after_lapse

pytestmark = pytest.mark.django_db


@pytest.fixture
def standin(settings):
    fake = StandIn()
    server = fake.serve()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SLACK_API_BASE = fake.base_url
    yield fake
    server.shutdown()


@pytest.fixture
def slack(world, standin):
    """The home practice connected to a stand-in workspace, its workshop given a channel."""
    team = standin.team_add(name="Home coaching")
    home = world.home
    made = slack_api.private_channel_create(
        token=team.bot_token, base_url=standin.base_url, name="workshop"
    )
    with scopes_disabled():
        connection = SlackConnection.objects.create(
            practice=home.practice,
            method=ConnectionMethod.PASTED,
            team_id=team.id,
            team_name=team.name,
            bot_token=team.bot_token,
        )
        collection = home.objects["workshop"].collection
        channel = SlackChannel.objects.create(
            practice=home.practice,
            collection=collection,
            status=ChannelStatus.CREATED,
            channel_id=made.id,
            name=made.name,
        )
    return connection, channel, collection


def queue(world, collection, key="recap:1", text="Hello from CoachHub"):
    """Queue as a service would; the post task runs once the (test's) commit is simulated."""
    with practice_scope(world.home.practice), TestCase.captureOnCommitCallbacks(execute=True):
        return services.slack_post_queue(
            practice=world.home.practice, collection=collection, key=key, kind="recap", text=text
        )


def posted(standin, channel):
    return [e for e in standin.effects("chat.postMessage") if e["channel"] == channel.channel_id]


def reread(post):
    with scopes_disabled():
        return SlackPost.objects.get(pk=post.pk)


def test_a_post_queued_twice_with_one_key_is_posted_once(world, standin, slack):
    _, channel, collection = slack
    first = queue(world, collection)
    again = queue(world, collection, text="Hello again")
    assert again.pk == first.pk
    assert len(posted(standin, channel)) == 1
    post = reread(first)
    assert post.status == PostStatus.POSTED and post.ts and post.posted_at
    with scopes_disabled():
        (call,) = IntegrationCall.objects.filter(provider=CallProvider.SLACK)
    assert call.operation == "chat.postMessage" and call.outcome == CallOutcome.OK
    assert call.engagement_id == collection.engagement_id
    assert call.subject_type == "chat.slackpost" and call.subject_id == post.pk


def test_the_task_run_twice_posts_once(world, standin, slack):
    _, channel, collection = slack
    post = queue(world, collection)
    for _ in range(2):  # a duplicated message, a redelivery after a lost ack
        assert (
            slack_post_send(practice_id=world.home.practice.pk, post_id=post.pk)
            == PostStatus.POSTED
        )
    assert len(posted(standin, channel)) == 1
    assert reread(post).attempts == 1


def test_a_post_claimed_by_a_running_task_is_left_to_it(world, standin, slack):
    _, channel, collection = slack
    with scopes_disabled():
        post = SlackPost.objects.create(
            practice=world.home.practice,
            channel=channel,
            key="k",
            kind="recap",
            text="x",
            status=PostStatus.POSTING,
            claimed_at=timezone.now(),
        )
    assert slack_post_send(practice_id=world.home.practice.pk, post_id=post.pk) == "posting"
    assert posted(standin, channel) == []


def test_a_rate_limit_is_retried_no_sooner_than_slack_asked(world, standin, slack, monkeypatch):
    _, channel, collection = slack
    standin.rate_limit_next("chat.postMessage", retry_after=120)
    countdowns, retried_with = [], []

    class Retrying(Exception):
        pass

    def requeue(kwargs=None, countdown=None, **_):
        countdowns.append(countdown)
        retried_with.append(kwargs)

    task = slack_post_send._get_current_object()
    monkeypatch.setattr(task, "apply_async", requeue)  # a fresh message: no retry spent
    monkeypatch.setattr(type(task), "is_eager", property(lambda task: False))
    with scopes_disabled():
        post = SlackPost.objects.create(
            practice=world.home.practice, channel=channel, key="k", kind="recap", text="x"
        )
    assert task(practice_id=world.home.practice.pk, post_id=post.pk) == PostStatus.PENDING
    assert countdowns == [120]  # the first backoff would be 30 s
    waiting = reread(post)
    assert waiting.status == PostStatus.PENDING and "try again" in waiting.error
    # A copy of the task that comes before the 120 s are up posts nothing.
    assert task(practice_id=world.home.practice.pk, post_id=post.pk) == PostStatus.PENDING
    assert not posted(standin, channel)
    with scopes_disabled():  # the retry, 120 s later
        SlackPost.objects.filter(pk=post.pk).update(retry_at=timezone.now())
    retry_after_lapse()  # Slack's 120 s are over for every task too
    # A rate limit took nothing, so the retry does not look for a lost post first.
    assert retried_with[0]["answer_lost"] is False
    assert task(**retried_with[0]) == PostStatus.POSTED
    assert len(posted(standin, channel)) == 1
    with scopes_disabled():
        outcomes = list(
            IntegrationCall.objects.order_by("pk").values_list("outcome", "error_code", "attempt")
        )
    assert outcomes == [(CallOutcome.RETRYING, "ratelimited", 1), (CallOutcome.OK, "", 2)]


def test_a_server_fault_backs_off_and_the_last_attempt_gives_up_visibly(
    world, standin, slack, monkeypatch
):
    _, channel, _ = slack
    standin.server_error_next("chat.postMessage", status=503, times=2)
    countdowns = []

    class Retrying(Exception):
        pass

    def retry(exc=None, countdown=None, kwargs=None, **_):
        countdowns.append(countdown)
        return Retrying()

    task = slack_post_send._get_current_object()
    monkeypatch.setattr(task, "retry", retry)
    monkeypatch.setattr(type(task), "is_eager", property(lambda task: False))
    with scopes_disabled():
        post = SlackPost.objects.create(
            practice=world.home.practice, channel=channel, key="k", kind="recap", text="x"
        )
    with pytest.raises(Retrying):
        task(practice_id=world.home.practice.pk, post_id=post.pk)
    assert countdowns == [30]  # the task base's first backoff
    with scopes_disabled():  # 30 s later
        SlackPost.objects.filter(pk=post.pk).update(retry_at=timezone.now())
    monkeypatch.setattr(type(task), "last_attempt", property(lambda task: True))
    assert task(practice_id=world.home.practice.pk, post_id=post.pk) == PostStatus.FAILED
    failed = reread(post)
    assert "503" in failed.error and "not posted" in failed.error and failed.attempts == 2
    assert posted(standin, channel) == []
    with scopes_disabled():
        outcomes = list(IntegrationCall.objects.order_by("pk").values_list("operation", "outcome"))
    assert outcomes == [
        ("chat.postMessage", CallOutcome.RETRYING),
        ("conversations.history", CallOutcome.OK),  # did the first attempt post? no
        ("chat.postMessage", CallOutcome.FAILED),  # the last one gave up
    ]


def test_a_post_whose_answer_was_lost_is_found_not_posted_again(world, standin, slack, monkeypatch):
    """Slack took the message and the 503 lost its answer: the retry finds the post's key
    in the channel's history and adopts that message instead of posting a second copy."""
    _, channel, _ = slack
    standin.server_error_next("chat.postMessage", status=503, after_effect=True)

    class Retrying(Exception):
        pass

    task = slack_post_send._get_current_object()
    monkeypatch.setattr(task, "retry", lambda **_: Retrying())
    monkeypatch.setattr(type(task), "is_eager", property(lambda task: False))
    with scopes_disabled():
        post = SlackPost.objects.create(
            practice=world.home.practice, channel=channel, key="recap:9", kind="recap", text="x"
        )
    with pytest.raises(Retrying):
        task(practice_id=world.home.practice.pk, post_id=post.pk)
    (first,) = posted(standin, channel)  # the lost answer: the message is there
    with scopes_disabled():
        SlackPost.objects.filter(pk=post.pk).update(retry_at=timezone.now())
    assert task(practice_id=world.home.practice.pk, post_id=post.pk) == PostStatus.POSTED
    assert posted(standin, channel) == [first]  # no second copy
    assert reread(post).ts == first["ts"]


def test_without_the_history_scope_the_retry_posts_again(world, standin, slack, monkeypatch):
    """A workspace installed before CoachHub asked for `groups:history` cannot look: the
    retry posts (a possible second copy, rather than a post never made)."""
    _, channel, _ = slack
    standin.server_error_next("chat.postMessage", status=503)
    standin.fail_next("conversations.history", error="missing_scope")

    class Retrying(Exception):
        pass

    task = slack_post_send._get_current_object()
    monkeypatch.setattr(task, "retry", lambda **_: Retrying())
    monkeypatch.setattr(type(task), "is_eager", property(lambda task: False))
    with scopes_disabled():
        post = SlackPost.objects.create(
            practice=world.home.practice, channel=channel, key="recap:10", kind="recap", text="x"
        )
    with pytest.raises(Retrying):
        task(practice_id=world.home.practice.pk, post_id=post.pk)
    with scopes_disabled():
        SlackPost.objects.filter(pk=post.pk).update(retry_at=timezone.now())
    assert task(practice_id=world.home.practice.pk, post_id=post.pk) == PostStatus.POSTED
    assert len(posted(standin, channel)) == 1


def test_a_permanent_refusal_leaves_the_post_failed_with_what_to_do(world, standin, slack):
    _, channel, collection = slack
    standin.fail_next("chat.postMessage", error="channel_not_found")
    post = queue(world, collection)
    failed = reread(post)
    assert failed.status == PostStatus.FAILED
    assert "channel_not_found" in failed.error
    assert posted(standin, channel) == []
    # Queued again with the same key: it stays failed, nothing is posted behind the page's back.
    queue(world, collection)
    assert posted(standin, channel) == []
    with scopes_disabled():
        (call,) = IntegrationCall.objects.all()
    assert call.outcome == CallOutcome.FAILED and call.error_code == "channel_not_found"


def test_a_revoked_token_fails_the_post_and_breaks_the_connection(world, standin, slack):
    connection, channel, collection = slack
    standin.token_revoke(connection.bot_token)
    post = queue(world, collection)
    failed = reread(post)
    assert failed.status == PostStatus.FAILED and "Integrations page" in failed.error
    with scopes_disabled():
        connection.refresh_from_db()
        (call,) = IntegrationCall.objects.all()
    assert connection.status == "broken"
    assert connection.bot_token[-4:] not in call.error  # never the token in the log
    # Nothing is queued while the connection is broken.
    assert queue(world, collection, key="recap:2") is None


def test_without_slack_nothing_is_queued(world, standin):
    collection = world.home.objects["workshop"].collection
    assert queue(world, collection) is None
    with scopes_disabled():
        assert not SlackPost.objects.filter(practice=world.home.practice).exists()
    assert standin.calls() == []


def test_a_channel_not_created_yet_has_nothing_posted(world, standin, slack):
    _, channel, collection = slack
    with scopes_disabled():
        SlackChannel.objects.filter(pk=channel.pk).update(status=ChannelStatus.PENDING)
    assert queue(world, collection) is None


def _remind_soon(world, *, lead=60):
    """The workshop's session an hour away, and the practice reminding an hour before."""
    practice = world.home.practice
    practice.reminder_lead_minutes = [lead]
    practice.save(update_fields=["reminder_lead_minutes"])
    now = timezone.now()
    with scopes_disabled():
        session = Session.objects.get(engagement=world.home.objects["workshop"])
        Session.objects.filter(pk=session.pk).update(
            starts_at=now + dt.timedelta(minutes=lead - 1),
            ends_at=now + dt.timedelta(minutes=lead + 59),
            location="https://meet.example.org/workshop",
            scheduled_at=now - dt.timedelta(days=3),
        )
    return session, now


def test_a_reminder_is_posted_in_the_sessions_channel_once(world, standin, slack):
    _, channel, _ = slack
    session, now = _remind_soon(world)
    for _ in range(2):  # beat runs every five minutes within the reminder's window
        with TestCase.captureOnCommitCallbacks(execute=True):
            reminders_send_for_practice(practice_id=world.home.practice.pk, now_iso=now.isoformat())
    (post,) = posted(standin, channel)
    with scopes_disabled():
        stored = SlackPost.objects.get(practice=world.home.practice, kind="reminder")
    assert stored.key.startswith(f"reminder:{session.pk}:60:")
    assert "Reminder" in stored.text and "https://meet.example.org/workshop" in stored.text
    with scopes_disabled():
        session.refresh_from_db()
    assert f"<!date^{int(session.starts_at.timestamp())}^" in stored.text
    assert stored.status == PostStatus.POSTED and stored.ts == post["ts"]


def test_the_practice_can_turn_channel_reminders_off(world, standin, slack):
    connection, channel, _ = slack
    with practice_scope(world.home.practice):
        services.slack_post_settings_update(
            practice=world.home.practice,
            actor=world.home.owner,
            post_reminders=False,
            post_session_links=True,
        )
    _, now = _remind_soon(world)
    with TestCase.captureOnCommitCallbacks(execute=True):
        reminders_send_for_practice(practice_id=world.home.practice.pk, now_iso=now.isoformat())
    assert posted(standin, channel) == []


def test_only_an_owner_changes_what_is_posted(world, slack):
    from django.core.exceptions import PermissionDenied

    with practice_scope(world.home.practice), pytest.raises(PermissionDenied):
        services.slack_post_settings_update(
            practice=world.home.practice,
            actor=world.home.coach,
            post_reminders=False,
            post_session_links=False,
        )


def test_no_reminder_is_posted_without_slack(world, standin):
    _, now = _remind_soon(world)
    with TestCase.captureOnCommitCallbacks(execute=True):
        reminders_send_for_practice(practice_id=world.home.practice.pk, now_iso=now.isoformat())
    with scopes_disabled():
        assert not SlackPost.objects.filter(practice=world.home.practice).exists()
    assert standin.calls() == []


def test_a_rescheduled_session_posts_its_new_time_once(world, standin, slack):
    from sessions_app import services as session_services

    _, channel, _ = slack
    with scopes_disabled():
        session = Session.objects.get(engagement=world.home.objects["workshop"])
    new_start = timezone.now() + dt.timedelta(days=8)
    with practice_scope(world.home.practice), TestCase.captureOnCommitCallbacks(execute=True):
        session_services.session_reschedule(
            session=session, actor=world.home.coach, starts_at=new_start
        )
    (post,) = posted(standin, channel)
    with scopes_disabled():
        stored = SlackPost.objects.get(practice=world.home.practice, kind="session_link")
        session.refresh_from_db()
    assert stored.key == f"session:{session.pk}:scheduled:{session.sequence}"
    assert "has moved to" in stored.text
    assert f"<!date^{int(new_start.timestamp())}^" in stored.text


def test_the_owner_turns_posts_off_on_the_integrations_page(world, slack, as_member):
    connection, _, _ = slack
    owner = as_member("owner")
    page = owner.get("/dashboard/integrations/").content.decode()
    assert "Slack posts between sessions" in page and 'name="post_reminders"' in page
    assert (
        'name="post_reminders"'
        not in as_member("coach").get("/dashboard/integrations/").content.decode()
    )
    response = owner.post(
        "/practice/slack/posts/",
        {"post_session_links": "on", "next": "/dashboard/integrations/"},
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/integrations/"
    with scopes_disabled():
        connection.refresh_from_db()
    assert not connection.post_reminders and connection.post_session_links
    refused = as_member("coach").post("/practice/slack/posts/", {})
    assert refused.status_code == 403


def test_without_a_connection_the_integrations_page_has_no_posts_section(world, as_member):
    owner = as_member("owner")
    page = owner.get("/dashboard/integrations/").content.decode()
    assert "Slack posts between sessions" not in page
    response = owner.post("/practice/slack/posts/", {"post_reminders": "on"}, follow=True)
    assert "Connect a Slack workspace on the Integrations page first" in response.content.decode()


def test_a_reminder_not_sent_before_its_session_started_is_not_posted_late(world, standin, slack):
    _, channel, _ = slack
    session, now = _remind_soon(world)
    with TestCase.captureOnCommitCallbacks(execute=False) as queued:
        reminders_send_for_practice(practice_id=world.home.practice.pk, now_iso=now.isoformat())
    assert queued  # the post task, held up (a busy queue, a rate limit) …
    with time_machine.travel(now + dt.timedelta(hours=1), tick=False):
        for send in queued:
            send()  # … runs once the session has started
    assert posted(standin, channel) == []
    with scopes_disabled():
        stale = SlackPost.objects.get(practice=world.home.practice, kind="reminder")
    assert stale.status == PostStatus.FAILED
    assert stale.error == "Too late: the session had started, so the reminder was not posted."


def test_a_post_stopped_by_an_error_on_coachhubs_side_says_so(world, standin, slack, monkeypatch):
    _, channel, collection = slack

    def database_gone(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(posts_module, "slack_call", database_gone)
    with pytest.raises(OperationalError):
        queue(world, collection)
    with scopes_disabled():
        stopped = SlackPost.objects.get(practice=world.home.practice, key="recap:1")
    assert stopped.status == PostStatus.FAILED  # not left "being posted"
    assert stopped.error == "Not posted: stopped by an error on CoachHub's side (OperationalError)."
