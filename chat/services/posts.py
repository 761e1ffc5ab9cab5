"""Posts in a collection's Slack channel (a reminder before a session, the session's time
and link once it has one; later the recap), each one keyed so it is posted once.

`slack_post_queue` is the one way to post: it writes a `SlackPost` under a key that is
unique per practice (a second queue with the same key changes nothing) and, once the
caller's transaction commits, `slack_post_send` posts it. The task claims the post with a
conditional update (pending → posting), so a retried or duplicated task never posts it a
second time; a rate limit waits as long as Slack asked, a server fault backs off, and a
permanent refusal — or the last attempt — leaves the post failed with what to do.
"""

from __future__ import annotations

import datetime as dt
import math

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from coachhub.audit import audit_record
from coachhub.models import Practice, User
from coachhub.permissions import require
from coachhub.tasks import PracticeTask
from coachhub.tenancy import membership_of
from engagements.models import Collection
from integrations.errors import IntegrationError
from integrations.slack import client as slack_api

from ..calls import slack_call, what_to_do
from ..models import ChannelStatus, PostStatus, SlackChannel, SlackConnection, SlackPost

POST_RETRIES = 5  # faults: 30 s … 8 min of backoff
MAX_POST_RUNS = 30  # every attempt, rate-limited ones included
CLAIM_MARGIN = dt.timedelta(minutes=1)
POST_SETTINGS = ("post_reminders", "post_session_links")
TOO_LATE = {
    "reminder": "Too late: the session had started, so the reminder was not posted.",
    "": "Too late: what it was about had passed, so it was not posted.",
}


def slack_posts_wanted(practice: Practice, setting: str) -> bool:
    """Whether the practice has a working Slack connection and posts of this kind on
    (`post_reminders`, `post_session_links`); one query, for callers that must build
    the text first."""
    connection = SlackConnection.objects.filter(practice=practice).first()
    return connection is not None and connection.ready and getattr(connection, setting)


def slack_post_queue(
    *,
    practice: Practice,
    collection: Collection,
    key: str,
    kind: str,
    text: str,
    not_after: dt.datetime | None = None,
) -> SlackPost | None:
    """Queue one post in the collection's channel, posted after commit.

    Returns the post — the one already there when the key was used before, which is then
    left as it is — or None when there is nowhere to post: no ready Slack connection, or
    no channel created for the collection yet. May run inside the caller's transaction.
    `not_after`: when the post stops making sense (a reminder, once its session starts).
    """
    connection = SlackConnection.objects.filter(practice=practice).first()
    if connection is None or not connection.ready:
        return None
    channel = SlackChannel.objects.filter(
        practice=practice, collection=collection, status=ChannelStatus.CREATED
    ).first()
    if channel is None or not channel.channel_id:
        return None
    with transaction.atomic():  # a savepoint when nested: a lost race leaves the caller's
        post, created = SlackPost.objects.get_or_create(
            practice=practice,
            key=key[:120],
            defaults={"channel": channel, "kind": kind[:40], "text": text, "not_after": not_after},
        )
    if created:
        slack_post_send.delay_on_commit(practice_id=practice.pk, post_id=post.pk)
    return post


def slack_post_settings_update(
    *, practice: Practice, actor: User, post_reminders: bool, post_session_links: bool
) -> SlackConnection:
    """Turn the reminder and session-link posts on or off for the practice's workspace."""
    require(membership_of(practice, actor), "integrations.manage")
    with transaction.atomic(durable=True):
        connection = (
            SlackConnection.objects.select_for_update(of=("self",))
            .filter(practice=practice)
            .first()
        )
        if connection is None:
            raise ValidationError(
                "Connect a Slack workspace on the Integrations page first; "
                "then choose what CoachHub posts in its channels."
            )
        connection.post_reminders = post_reminders
        connection.post_session_links = post_session_links
        connection.save(update_fields=[*POST_SETTINGS, "updated_at"])
        audit_record(
            practice=practice,
            actor=actor,
            action="slack.posts",
            obj=connection,
            post_reminders=post_reminders,
            post_session_links=post_session_links,
        )
    return connection


def post_claims_lapsed_before(now: dt.datetime) -> dt.datetime:
    """A claim older than a task may run belongs to a worker that was killed."""
    return now - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) - CLAIM_MARGIN


def _claim(post_id: int, *, now: dt.datetime) -> bool:
    """Take the post for one attempt; a claim older than a task may run has lapsed (its
    worker was killed), so a redelivered message can take it again."""
    lapsed = post_claims_lapsed_before(now)
    return bool(
        SlackPost.objects.filter(
            Q(status=PostStatus.PENDING, retry_at__isnull=True)
            | Q(status=PostStatus.PENDING, retry_at__lte=now)  # a retry only once it is due
            | Q(status=PostStatus.POSTING, claimed_at__lt=lapsed),
            pk=post_id,
        ).update(
            status=PostStatus.POSTING, claimed_at=now, retry_at=None, attempts=F("attempts") + 1
        )
    )


def _post_failed(post: SlackPost, reason: str) -> str:
    SlackPost.objects.filter(pk=post.pk, status=PostStatus.POSTING).update(
        status=PostStatus.FAILED, error=reason, claimed_at=None
    )
    return PostStatus.FAILED


RATE_LIMITED = ("ratelimited", "rate_limited")


def _posted_before(connection: SlackConnection, post: SlackPost) -> str | None:
    """On a second attempt, the first may have posted and lost its answer (a 5xx or a
    timeout after Slack took it): look for the post's key in the channel first. A workspace
    installed before CoachHub asked for `groups:history` cannot look, and posts again."""
    if post.attempts <= 1:
        return None
    try:
        return slack_call(
            slack_api.message_find,
            connection=connection,
            operation="conversations.history",
            subject=post,
            engagement_id=post.channel.collection.engagement_id,
            attempt=post.attempts,
            channel_id=post.channel.channel_id,
            key=post.key,
            oldest=post.created_at.timestamp() - 60,
        )
    except IntegrationError as error:
        if error.code == "missing_scope":
            return None
        raise


@shared_task(base=PracticeTask, bind=True, max_retries=POST_RETRIES)
def slack_post_send(self, *, practice_id: int, post_id: int, answer_lost: bool = True) -> str:
    """Post one queued message; returns the post's status. A post that is posted, failed
    or taken by another run is left alone, so running this twice posts once; `answer_lost`
    (the default, as after a dead worker) makes a later attempt look for it first."""
    if not _claim(post_id, now=timezone.now()):
        status = SlackPost.objects.filter(pk=post_id).values_list("status", flat=True).first()
        return status or "gone"
    post = SlackPost.objects.select_related("channel__collection").get(pk=post_id)
    connection = SlackConnection.objects.filter(practice_id=practice_id).first()
    if connection is None or not connection.ready:
        reason = (
            connection.broken_reason
            if connection is not None and connection.broken_reason
            else "Slack is not connected. Connect the workspace on the Integrations page."
        )
        return _post_failed(post, f"Not posted: {reason}")
    if post.not_after is not None and timezone.now() >= post.not_after:
        return _post_failed(post, TOO_LATE.get(post.kind, TOO_LATE[""]))
    looked = False
    try:
        found = _posted_before(connection, post) if answer_lost else None
        looked = True
        post.ts = found or slack_call(
            slack_api.message_post,
            connection=connection,
            operation="chat.postMessage",
            subject=post,
            engagement_id=post.channel.collection.engagement_id,
            attempt=post.attempts,
            will_retry=False if self.last_attempt else None,
            channel_id=post.channel.channel_id,
            text=post.text,
            key=post.key,
        )
    except SoftTimeLimitExceeded as error:  # a slow Slack: pending again, queued again
        SlackPost.objects.filter(pk=post.pk, status=PostStatus.POSTING).update(
            status=PostStatus.PENDING, claimed_at=None, retry_at=timezone.now()
        )
        raise self.retry(exc=error, countdown=30) from error
    except IntegrationError as error:
        if error.permanent:
            return _post_failed(post, what_to_do(error))
        if error.code in RATE_LIMITED and not self.is_eager and post.attempts < MAX_POST_RUNS:
            # Slack said when (or another task's 429 holds the workspace): not a fault, so
            # a fresh message waits it out; Slack took nothing from a call it refused.
            countdown = max(1, math.ceil(error.retry_after or 1))
            SlackPost.objects.filter(pk=post.pk, status=PostStatus.POSTING).update(
                status=PostStatus.PENDING,
                error=what_to_do(error),
                claimed_at=None,
                retry_at=timezone.now() + dt.timedelta(seconds=countdown),
            )
            slack_post_send.apply_async(
                kwargs={
                    "practice_id": practice_id,
                    "post_id": post_id,
                    "answer_lost": answer_lost and not looked,
                },
                countdown=countdown,
            )
            return PostStatus.PENDING
        if self.last_attempt:
            return _post_failed(
                post,
                f"{error} — Slack did not take the post after {post.attempts} attempt(s); "
                "it was not posted.",
            )
        # Back to pending, so the next attempt can claim it; the page says it will retry,
        # and the recovery sweep knows when it is due.
        countdown = self.retry_countdown_for(error)
        SlackPost.objects.filter(pk=post.pk, status=PostStatus.POSTING).update(
            status=PostStatus.PENDING,
            error=what_to_do(error),
            claimed_at=None,
            retry_at=timezone.now() + dt.timedelta(seconds=countdown),
        )
        # A rate limit means Slack took nothing; any other fault may have lost the answer
        # to a post that was made, so the next attempt looks for it first.
        raise self.retry_later(
            error, countdown=countdown, answer_lost=error.code not in RATE_LIMITED
        ) from error
    except Exception as error:  # not Slack's doing (the database, a bug): never silent
        _post_failed(
            post, f"Not posted: stopped by an error on CoachHub's side ({type(error).__name__})."
        )
        raise
    SlackPost.objects.filter(pk=post.pk).update(
        status=PostStatus.POSTED, ts=post.ts, error="", claimed_at=None, posted_at=timezone.now()
    )
    return PostStatus.POSTED
