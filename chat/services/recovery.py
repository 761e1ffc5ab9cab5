"""Recovery of Slack work a dead worker or a lost message left behind: a channel's calls
(the channel, the coach, the invites) and the posts.

A worker killed mid-task (SIGKILL, out of memory, a host gone) holds its messages — the
running one and the retries it had taken with their countdowns — until Redis's visibility
timeout hands them back, hours later. The rows say what is owed instead: a channel with
work open and its `retry_at` (when the next run is due) or a lapsed claim, a post pending
past its `retry_at` or claimed by a worker past its time limit. Beat's sweep, every
minute, queues those again a few minutes after they were due — never before `retry_at`,
so Slack's Retry-After still holds. Each is taken with a conditional UPDATE that makes it
due now, so two sweeps at once queue it once; the tasks' own claims make a copy that
meets the original harmless.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from coachhub.tasks import PracticeTask

from ..models import PostStatus, SlackChannel, SlackPost
from .invites import channel_work_open, slack_channel_work
from .posts import POST_RETRIES, post_claims_lapsed_before, slack_post_send

logger = logging.getLogger(__name__)

RECOVER_BATCH = 500  # per practice, kind and sweep


def recover_after() -> dt.timedelta:
    """Due this long ago and not taken: the message is presumed lost (a retry merely late
    in a busy queue is not queued twice for nothing). SLACK_WORK_RECOVER_SECONDS, 3 min."""
    return dt.timedelta(seconds=settings.SLACK_WORK_RECOVER_SECONDS)


def channels_stuck(now: dt.datetime) -> Q:
    """Channels with work open that nobody works on: no live claim, and due (queued or a
    retry's countdown) over SLACK_WORK_RECOVER_SECONDS ago — or a dead worker's claim."""
    overdue = now - recover_after()
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    due = Q(retry_at__lt=overdue) | Q(retry_at__isnull=True, claimed_until__lt=now)
    return unclaimed & due & channel_work_open()


def posts_stuck(now: dt.datetime) -> Q:
    """Posts pending over SLACK_WORK_RECOVER_SECONDS past their due time (or their queueing), or
    claimed by a worker past its time limit."""
    overdue = now - recover_after()
    waiting = Q(status=PostStatus.PENDING) & (
        Q(retry_at__lt=overdue) | Q(retry_at__isnull=True, created_at__lt=overdue)
    )
    return waiting | Q(status=PostStatus.POSTING, claimed_at__lt=post_claims_lapsed_before(now))


def slack_work_recover(*, practice_id: int, now: dt.datetime | None = None) -> tuple[int, int]:
    """Queue again the practice's stuck channel work and posts; returns how many of each."""
    now = now or timezone.now()
    channels = SlackChannel.objects.filter(channels_stuck(now), practice_id=practice_id)
    requeued_channels = 0
    for channel_pk in channels.order_by("retry_at", "pk").values_list("pk", flat=True)[
        :RECOVER_BATCH
    ]:
        with transaction.atomic():
            taken = channels.filter(pk=channel_pk).update(claimed_until=None, retry_at=now)
            if taken:
                slack_channel_work.delay_on_commit(practice_id=practice_id, channel_id=channel_pk)
                requeued_channels += 1
    posts = SlackPost.objects.filter(posts_stuck(now), practice_id=practice_id)
    # A post whose worker died at every attempt is not tried for ever; it says why.
    posts.filter(status=PostStatus.POSTING, attempts__gt=POST_RETRIES).update(
        status=PostStatus.FAILED,
        claimed_at=None,
        error="The worker posting it stopped at each attempt; it may or may not be in the "
        "channel. Look in Slack before posting it yourself.",
    )
    requeued_posts = 0
    for post_pk in posts.order_by("created_at").values_list("pk", flat=True)[:RECOVER_BATCH]:
        with transaction.atomic():
            taken = posts.filter(pk=post_pk).update(
                status=PostStatus.PENDING, claimed_at=None, retry_at=now
            )
            if taken:
                slack_post_send.delay_on_commit(practice_id=practice_id, post_id=post_pk)
                requeued_posts += 1
    if requeued_channels or requeued_posts:
        logger.warning(
            "Re-enqueued Slack work of practice %s: %s channel(s), %s post(s)",
            practice_id,
            requeued_channels,
            requeued_posts,
        )
    return requeued_channels, requeued_posts


def practices_with_stuck_slack_work(now: dt.datetime) -> list[int]:
    """The practices the sweep fans out to (called with tenant scopes off)."""
    found = set(
        SlackChannel.objects.filter(channels_stuck(now))
        .order_by()
        .values_list("practice_id", flat=True)
        .distinct()
    )
    found |= set(
        SlackPost.objects.filter(posts_stuck(now))
        .order_by()
        .values_list("practice_id", flat=True)
        .distinct()
    )
    return sorted(found)


@shared_task(base=PracticeTask)
def slack_work_recover_practice(*, practice_id: int) -> int:
    """Beat's recovery sweep of Slack work, for one practice (`slack_work_recover`)."""
    return sum(slack_work_recover(practice_id=practice_id))
