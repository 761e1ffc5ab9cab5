"""Getting each client or participant into their collection's channel by the best path the
workspace allows, and the task that makes the Slack calls after the set-up commits.

Paths, best first: already a member (`users.lookupByEmail`) → `conversations.invite`;
else Slack Connect, when the practice says its plan has it → `conversations.inviteShared`
by e-mail; else the workspace's invite link e-mailed to them, and the `team_join` event
(`slack_member_joined`) adds them once they join. The rows written in the set-up's
transaction are the record: the task claims a channel with a conditional UPDATE, so two
runs never work on it at once, and each person's row says what was done.
"""

from __future__ import annotations

import datetime as dt
import logging
import math

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from coachhub.audit import audit_record
from coachhub.models import Practice, User
from coachhub.permissions import require
from coachhub.tasks import PracticeTask, retry_countdown
from coachhub.tenancy import membership_of
from engagements.models import Client, Collection, Engagement
from integrations.errors import IntegrationError
from integrations.slack import client as slack

from ..calls import RateLimitHeld, slack_call, what_to_do
from ..models import (
    ChannelStatus,
    InvitePath,
    InviteStatus,
    SlackChannel,
    SlackConnection,
    SlackInvite,
)
from .channels import channel_create, channel_start_over, coach_add
from .invite_link import invite_link_send, invite_update
from .progress import slack_steps_record

log = logging.getLogger(__name__)

MAX_RETRIES = 8  # faults (5xx, timeouts); a rate limit is Slack saying when, not a fault
MAX_RUNS = 30  # all runs, rate-limited ones included
CLAIM_WAIT_SECONDS = 30  # another run holds the channel: look again this much later
# Slack's answers to inviteShared that mean "not on this workspace's plan or settings".
CONNECT_UNAVAILABLE = frozenset(
    {"not_paid", "not_allowed", "restricted_action", "not_supported", "feature_not_enabled"}
)
SHARED_UNKNOWN = (
    "Slack did not answer whether it sent the Slack Connect invitation (its answer was "
    "lost), so CoachHub does not send it again by itself. Check the workspace's Slack "
    "Connect invitations in Slack; if there is none, press Try again to send it."
)
STOPPED = (
    "Stopped by an error on CoachHub's side ({error}), not by Slack. Press Try again on the "
    "engagement page."
)
NO_PATH = (
    "{name} is not in the Slack workspace, Slack Connect is off and there is no workspace "
    "invite link to e-mail. Add the workspace invite link on the Integrations page (or "
    "invite {email} in Slack yourself), then press Try again."
)


# --- Planned in the set-up's transaction ------------------------------------------------
def slack_channel_plan(
    *,
    practice: Practice,
    collection: Collection,
    clients: list[Client] | None = None,
    collection_is_new: bool = False,
) -> int:
    """When the practice's Slack is connected: the collection's channel row and one invite
    row per person (`clients`, or everyone in the collection), written in the caller's
    transaction, and the Slack task queued after it commits. Returns how many people it
    was asked to invite (someone with an invite already keeps theirs).
    `collection_is_new`: the caller has just created it, so it has no channel yet."""
    if not practice.slack_connected:
        return 0
    channel = (
        None
        if collection_is_new
        else SlackChannel.objects.filter(practice=practice, collection=collection).first()
    )
    if channel is None:
        channel = SlackChannel.objects.create(
            practice_id=practice.pk, collection=collection, retry_at=timezone.now()
        )
        if not collection_is_new:  # a collection from before Slack: everyone in it, now
            clients = None
    if clients is None:
        clients = list(collection.participants.all())
    invites = SlackInvite.objects.bulk_create(
        [
            SlackInvite(practice_id=practice.pk, channel=channel, client=client, email=client.email)
            for client in clients
        ],
        ignore_conflicts=True,  # already invited to this channel: one row per person
    )
    if channel.retry_at is None:  # due now: the recovery sweep looks for it if it is lost
        SlackChannel.objects.filter(pk=channel.pk, retry_at=None).update(retry_at=timezone.now())
    slack_channel_work.delay_on_commit(practice_id=practice.pk, channel_id=channel.pk)
    return len(invites)


def slack_invites_add(*, practice: Practice, collection: Collection, clients: list[Client]) -> int:
    """People added to a collection later (a workshop's participants) get their invites."""
    if not clients:
        return 0
    with transaction.atomic():
        return slack_channel_plan(practice=practice, collection=collection, clients=clients)


def slack_member_joined(*, connection: SlackConnection, slack_user_id: str, email: str) -> int:
    """`team_join`: everyone waiting to join the workspace with this e-mail is added to
    their channels by the Slack task; returns how many invites that completes."""
    email = email.strip().lower()
    if not email or not slack_user_id:
        return 0
    with transaction.atomic():
        waiting = SlackInvite.objects.filter(
            practice_id=connection.practice_id, email=email, status=InviteStatus.WAITING
        )
        channel_ids = sorted(set(waiting.values_list("channel_id", flat=True)))
        joined = waiting.update(
            slack_user_id=slack_user_id, joined_at=timezone.now(), updated_at=timezone.now()
        )
        SlackChannel.objects.filter(pk__in=channel_ids, retry_at=None).update(
            retry_at=timezone.now()
        )
        for channel_id in channel_ids:
            slack_channel_work.delay_on_commit(
                practice_id=connection.practice_id, channel_id=channel_id
            )
    return joined


@transaction.atomic(durable=True)
def slack_work_retry(*, engagement: Engagement, actor: User) -> int:
    """ "Try again": failed (and still pending) Slack work of the engagement queued again,
    and a collection without a channel (set up before Slack was connected) given one.
    Returns how many rows will be worked on."""
    practice = engagement.practice
    require(membership_of(practice, actor), "engagements.change")
    connection = SlackConnection.objects.filter(practice=practice).first()
    if connection is None or not connection.ready:
        raise ValidationError(
            connection.broken_reason
            if connection is not None and connection.broken_reason
            else "Slack is not connected: an owner connects the workspace on the Integrations "
            "page first."
        )
    collection = Collection.objects.filter(practice=practice, engagement=engagement).first()
    if collection is None:
        raise ValidationError("This engagement has no collection, so no Slack channel.")
    channel = SlackChannel.objects.filter(practice=practice, collection=collection).first()
    if (
        channel is not None
        and channel.channel_id
        and channel.team_id not in ("", connection.team_id)
    ):
        channel_start_over(channel=channel)  # made in a former workspace: anew in this one
    if channel is not None:
        SlackChannel.objects.filter(pk=channel.pk, status=ChannelStatus.FAILED).update(
            status=ChannelStatus.PENDING, error="", updated_at=timezone.now()
        )
        SlackChannel.objects.filter(pk=channel.pk, coach_added=False).update(coach_note="")
        SlackInvite.objects.filter(channel=channel, status=InviteStatus.FAILED).update(
            status=InviteStatus.PENDING, path="", error="", updated_at=timezone.now()
        )
    # Anyone in the collection without an invite row gets one.
    slack_channel_plan(practice=practice, collection=collection)
    channel = SlackChannel.objects.get(practice=practice, collection=collection)
    slack_steps_record(channel=channel)
    queued = SlackInvite.objects.filter(channel=channel).exclude(status=InviteStatus.DONE).count()
    audit_record(practice=practice, actor=actor, action="slack.retry", obj=engagement)
    return queued + (channel.status != ChannelStatus.CREATED)


# --- One person's path into the channel ---------------------------------------------------
def _shared_claim(invite: SlackInvite) -> bool:
    """Claim the Slack Connect invitation before asking for it (its path set while still
    pending); False when an earlier attempt holds the claim and its outcome is unknown."""
    claimed = SlackInvite.objects.filter(pk=invite.pk, status=InviteStatus.PENDING, path="").update(
        path=InvitePath.SLACK_CONNECT, updated_at=timezone.now()
    )
    if claimed:
        invite.path = InvitePath.SLACK_CONNECT
    return bool(claimed)


def _invite_one(
    *, connection: SlackConnection, channel: SlackChannel, invite: SlackInvite, attempt: int
) -> None:
    """One person by the best path; a refusal for good is written on their row, a passing
    failure raised for the task to retry."""
    engagement_id = channel.collection.engagement_id

    def call(function, operation, **params):
        return slack_call(
            function,
            connection=connection,
            operation=operation,
            subject=invite,
            engagement_id=engagement_id,
            attempt=attempt,
            **params,
        )

    SlackInvite.objects.filter(pk=invite.pk).update(attempts=F("attempts") + 1)
    try:
        if invite.status == InviteStatus.WAITING and not invite.slack_user_id:
            # No team_join heard: joined meanwhile (the event lost), or not yet?
            user_id = call(slack.user_find_by_email, "users.lookupByEmail", email=invite.email)
            if user_id is None:
                return  # still waiting: the e-mail already went, nothing more to send
            invite_update(invite, slack_user_id=user_id, joined_at=timezone.now())
        if invite.status == InviteStatus.WAITING:  # they joined the workspace (team_join)
            call(
                slack.channel_invite,
                "conversations.invite",
                channel_id=channel.channel_id,
                user_ids=[invite.slack_user_id],
            )
            invite_update(invite, status=InviteStatus.DONE, error="")
            return
        user_id = invite.slack_user_id or call(
            slack.user_find_by_email, "users.lookupByEmail", email=invite.email
        )
        if user_id:
            if user_id != invite.slack_user_id:
                invite_update(invite, slack_user_id=user_id)
            call(
                slack.channel_invite,
                "conversations.invite",
                channel_id=channel.channel_id,
                user_ids=[user_id],
            )
            invite_update(invite, status=InviteStatus.DONE, path=InvitePath.MEMBER, error="")
            return
        note = ""
        if connection.slack_connect_allowed:
            if not _shared_claim(invite):  # an earlier attempt's answer was lost
                invite_update(invite, status=InviteStatus.FAILED, error=SHARED_UNKNOWN)
                return
            try:
                shared = call(
                    slack.channel_invite_shared,
                    "conversations.inviteShared",
                    channel_id=channel.channel_id,
                    email=invite.email,
                )
            except IntegrationError as error:
                if not (error.permanent or error.retry_after is not None):
                    # A fault or no answer: Slack may have sent it; never a second one.
                    invite_update(invite, status=InviteStatus.FAILED, error=SHARED_UNKNOWN)
                    return
                invite_update(invite, path="")  # refused or rate-limited: nothing was sent
                if not (error.permanent and error.code in CONNECT_UNAVAILABLE):
                    raise
                note = (
                    f"Slack Connect is not available on this workspace ({error.code}): turn it "
                    "off on the Integrations page. "
                )
            else:
                invite_update(
                    invite,
                    status=InviteStatus.DONE,
                    path=InvitePath.SLACK_CONNECT,
                    shared_invite_id=shared,
                    error="",
                )
                return
        if connection.invite_link:
            invite_link_send(connection=connection, channel=channel, invite=invite, attempt=attempt)
            return
        reason = note + NO_PATH.format(name=invite.client.name, email=invite.email)
        invite_update(invite, status=InviteStatus.FAILED, error=reason)
    except IntegrationError as error:
        if not error.permanent:
            invite_update(invite, error=what_to_do(error))
            raise
        invite_update(invite, status=InviteStatus.FAILED, error=what_to_do(error))


# --- The task ---------------------------------------------------------------------------
def _channel_claim(channel: SlackChannel) -> bool:
    """This run, and no other, works on the channel until the claim lapses (a dead worker's
    claim lapses after the task time limit, and the next run takes over)."""
    now = timezone.now()
    until = now + dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    return bool(
        SlackChannel.objects.filter(pk=channel.pk)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .update(claimed_until=until)
    )


def _retry_pending(channel: SlackChannel) -> bool:
    """A retry is scheduled for later (after Slack's Retry-After): a run that comes sooner
    — a copy, a Try again, a join — leaves the work to it and calls Slack not at all."""
    return SlackChannel.objects.filter(
        pk=channel.pk, claimed_until__isnull=True, retry_at__gt=timezone.now()
    ).exists()


def channel_work_open() -> Q:
    """Channels with Slack work still to do: the channel itself, the coach's place in it,
    or someone to invite (or to add now that they joined the workspace)."""
    to_invite = SlackInvite.objects.filter(channel=OuterRef("pk")).filter(
        Q(status=InviteStatus.PENDING) | Q(status=InviteStatus.WAITING, joined_at__isnull=False)
    )
    return (
        Q(status=ChannelStatus.PENDING)
        | Q(status=ChannelStatus.CREATED, coach_added=False, coach_note="")
        | Exists(to_invite)
    )


def _channel_release(channel: SlackChannel, *, retry_at: dt.datetime | None = None) -> None:
    """Give the channel up; its `retry_at` says when it is due again: the retry this run
    scheduled, now when work arrived meanwhile (a join, a participant), else never."""
    mine = SlackChannel.objects.filter(pk=channel.pk)
    if retry_at is None and mine.filter(channel_work_open()).exists():
        retry_at = timezone.now()
    mine.update(claimed_until=None, retry_at=retry_at)


def _invites_to_do(channel: SlackChannel) -> list[SlackInvite]:
    """Everyone not in yet; those still waiting to join are looked up again, in case
    Slack's team_join never reached CoachHub (they are not work that keeps a run due)."""
    return list(
        SlackInvite.objects.filter(practice_id=channel.practice_id, channel=channel)
        .filter(Q(status=InviteStatus.PENDING) | Q(status=InviteStatus.WAITING))
        .select_related("client")
        .order_by("pk")
    )


def _everything_open_failed(channel: SlackChannel, reason: str) -> None:
    """Nothing more will be tried by itself: every row still open says why, visibly."""
    if channel.status == ChannelStatus.PENDING:
        SlackChannel.objects.filter(pk=channel.pk).update(
            status=ChannelStatus.FAILED, error=reason, updated_at=timezone.now()
        )
        channel.status, channel.error = ChannelStatus.FAILED, reason
    elif not channel.coach_added and not channel.coach_note:
        coach = channel.collection.engagement.coach.display_name
        note = f"{coach} (the coach) is not in it yet: {reason}"
        SlackChannel.objects.filter(pk=channel.pk).update(coach_note=note)
        channel.coach_note = note
    SlackInvite.objects.filter(channel=channel).filter(
        Q(status=InviteStatus.PENDING) | Q(status=InviteStatus.WAITING, joined_at__isnull=False)
    ).update(status=InviteStatus.FAILED, error=reason, updated_at=timezone.now())


def slack_channel_run(*, channel: SlackChannel, connection: SlackConnection, attempt: int) -> None:
    """The channel (made once), the coach in it, then each person still to invite."""
    if not channel_create(connection=connection, channel=channel, attempt=attempt):
        _everything_open_failed(channel, f"The channel was not created: {channel.error}")
        return
    coach_add(connection=connection, channel=channel, attempt=attempt)
    for invite in _invites_to_do(channel):
        if not connection.ready:  # the token died on an earlier call: no more calls
            _everything_open_failed(channel, connection.broken_reason)
            return
        _invite_one(connection=connection, channel=channel, invite=invite, attempt=attempt)


def _not_connected_reason(connection: SlackConnection | None) -> str:
    if connection is not None and connection.broken_reason:
        return connection.broken_reason
    if connection is not None:
        return (
            "The Slack connection is broken: connect the workspace again on the Integrations "
            "page, then press Try again."
        )
    return (
        "Slack was disconnected before this could be done: an owner connects the workspace "
        "on the Integrations page, then press Try again."
    )


@shared_task(base=PracticeTask, bind=True, max_retries=MAX_RUNS)
def slack_channel_work(self, *, practice_id: int, channel_id: int, faults: int = 0) -> str:
    """Every Slack call for one collection's channel, after the set-up commits; retried
    after a rate limit (never sooner than Slack's Retry-After) or a fault, up to a bound
    (`faults`: the faults so far, MAX_RETRIES of them at most)."""
    channel = (
        SlackChannel.objects.filter(practice_id=practice_id, pk=channel_id)
        .select_related("collection__engagement__coach", "collection__engagement__organization")
        .select_related("collection__engagement__client", "practice")
        .first()
    )
    if channel is None:
        return "gone"
    connection = SlackConnection.objects.filter(practice_id=practice_id).first()
    if connection is None or not connection.ready:
        _everything_open_failed(channel, _not_connected_reason(connection))
        slack_steps_record(channel=channel)
        return "not connected"
    if not _channel_claim(channel):
        if _retry_pending(channel):
            return "retry scheduled"
        if self.is_eager:
            return "busy"
        # Waiting for another run is not an attempt: a fresh message looks again, for as
        # long as the claim holds (it lapses after the time limit), and never gives up.
        slack_channel_work.apply_async(
            kwargs={"practice_id": practice_id, "channel_id": channel_id, "faults": faults},
            countdown=CLAIM_WAIT_SECONDS,
        )
        return "busy"
    retry_at = None
    try:
        slack_channel_run(channel=channel, connection=connection, attempt=self.request.retries + 1)
    except RateLimitHeld as error:
        if self.is_eager:
            raise
        # Another task's 429 holds this workspace's method: wait it out on a fresh message,
        # which spends none of this channel's attempts.
        countdown = max(1, math.ceil(error.retry_after or 1))
        retry_at = timezone.now() + dt.timedelta(seconds=countdown)
        slack_steps_record(channel=channel)
        slack_channel_work.apply_async(
            kwargs={"practice_id": practice_id, "channel_id": channel_id, "faults": faults},
            countdown=countdown,
        )
        return "waiting for Slack's rate limit"
    except IntegrationError as error:
        if self.is_eager:  # no worker to retry: the rows say so, "Try again" queues it again
            _everything_open_failed(
                channel,
                f"{error} — CoachHub could not finish this just now. Press Try again on the "
                "engagement page.",
            )
        elif self.request.retries >= self.max_retries or (
            error.code != "ratelimited" and faults >= MAX_RETRIES
        ):
            _everything_open_failed(
                channel,
                f"{error} — Slack still failed after {self.request.retries + 1} attempts. "
                "Press Try again on the engagement page.",
            )
        else:
            slack_steps_record(channel=channel)
            countdown = self.retry_countdown_for(
                error, countdown=None if error.code == "ratelimited" else retry_countdown(faults)
            )
            retry_at = timezone.now() + dt.timedelta(seconds=countdown)
            faults += error.code != "ratelimited"
            raise self.retry_later(error, countdown=countdown, faults=faults) from error
    except SoftTimeLimitExceeded as error:  # a slow Slack: the rows stay open, queued again
        retry_at = timezone.now() + dt.timedelta(seconds=CLAIM_WAIT_SECONDS)
        raise self.retry(exc=error, countdown=CLAIM_WAIT_SECONDS) from error
    except Exception as error:  # not Slack's doing (the database, a bug): never silent
        _everything_open_failed(channel, STOPPED.format(error=error.__class__.__name__))
        slack_steps_record(channel=channel)
        raise
    finally:
        _channel_release(channel, retry_at=retry_at)
    slack_steps_record(channel=channel)
    return channel.status
