"""A collection's private channel: its name by Slack's rules, made once, with the coach in it."""

from __future__ import annotations

import re
import unicodedata

from django.db.models import F
from django.utils import timezone

from engagements.models import Collection
from integrations.errors import IntegrationError
from integrations.slack import client as slack

from ..calls import slack_call, what_to_do
from ..models import ChannelStatus, InviteStatus, SlackChannel, SlackConnection, SlackInvite
from .progress import slack_steps_record

NAME_LENGTH = 80  # Slack's limit
NAME_TRIES = 10  # #coaching-jane, #coaching-jane-2 … #coaching-jane-10
# Latin letters that Unicode does not decompose into a base letter and an accent.
LATIN_EXTRA = str.maketrans(
    {"ł": "l", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


def name_slug(text: str) -> str:
    """Lowercase ASCII letters, digits and hyphens ("Zoë Ødegård" → "zoe-odegard"); empty
    when nothing of the text is Latin (a name in Cyrillic or Han), so the caller falls back."""
    text = unicodedata.normalize("NFKD", text.lower().translate(LATIN_EXTRA))
    text = text.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def channel_base_name(collection: Collection) -> str:
    """ "coaching-jane-doe" for a client's collection, "team-acme-leadership" for a team's."""
    engagement = collection.engagement
    if engagement.is_team:
        company = engagement.organization.name if engagement.organization_id else ""
        if company.lower() in engagement.title.lower():
            company = ""  # "Acme leadership" is not "acme-acme-leadership"
        slug = name_slug(f"{company} {engagement.title}") or f"workshop-{engagement.pk}"
        prefix = "team"
    else:
        client = engagement.client
        slug = name_slug(client.name) or name_slug(client.email.split("@")[0])
        slug = slug or f"client-{client.pk}"
        prefix = "coaching"
    return f"{prefix}-{slug}"[:NAME_LENGTH].rstrip("-")


def channel_name_candidates(base: str) -> list[str]:
    """The base name, then with -2, -3 … (each within Slack's 80 characters)."""
    names = [base]
    for number in range(2, NAME_TRIES + 1):
        suffix = f"-{number}"
        names.append(base[: NAME_LENGTH - len(suffix)].rstrip("-") + suffix)
    return names


def channel_failed(*, channel: SlackChannel, reason: str) -> None:
    SlackChannel.objects.filter(pk=channel.pk).update(
        status=ChannelStatus.FAILED, error=reason, updated_at=timezone.now()
    )
    channel.status, channel.error = ChannelStatus.FAILED, reason


def channel_error_note(*, channel: SlackChannel, reason: str) -> None:
    """A passing failure: the channel is still to be made; the page says what happened."""
    SlackChannel.objects.filter(pk=channel.pk).update(error=reason, updated_at=timezone.now())
    channel.error = reason


def _made_before(*, connection: SlackConnection, channel: SlackChannel, name: str):
    """After an attempt whose answer was lost (a 5xx, a timeout: Slack may have made it),
    the name being taken may be our own doing: the private channel of that name the bot is
    in, and no other collection's, is this one's."""
    if channel.attempts < 1 or not channel.error:
        return None
    try:
        found = slack_call(
            slack.private_channel_find,
            connection=connection,
            operation="conversations.list",
            subject=channel,
            engagement_id=channel.collection.engagement_id,
            name=name,
        )
    except IntegrationError as error:
        if not error.permanent:
            raise
        return None  # cannot look: the next name, as before
    if found is None or not found.id:
        return None
    taken = SlackChannel.objects.filter(practice_id=channel.practice_id, channel_id=found.id)
    return None if taken.exists() else found


def channel_create(*, connection: SlackConnection, channel: SlackChannel, attempt: int) -> bool:
    """Create the private channel unless it exists; its id is written the moment Slack
    answers, so a retry never makes a second one. False when Slack refused for good (the
    row says why); a passing failure is raised for the task to retry."""
    if channel.channel_id:
        return True
    engagement_id = channel.collection.engagement_id
    base = channel_base_name(channel.collection)
    SlackChannel.objects.filter(pk=channel.pk).update(attempts=F("attempts") + 1)
    for name in channel_name_candidates(base):
        try:
            made = slack_call(
                slack.private_channel_create,
                connection=connection,
                operation="conversations.create",
                subject=channel,
                engagement_id=engagement_id,
                attempt=attempt,
                name=name,
            )
        except IntegrationError as error:
            if error.code == "name_taken":
                made = _made_before(connection=connection, channel=channel, name=name)
                if made is None:
                    continue
            elif error.permanent:
                channel_failed(channel=channel, reason=f"#{name}: {what_to_do(error)}")
                return False
            else:
                channel_error_note(channel=channel, reason=what_to_do(error))
                raise
        SlackChannel.objects.filter(pk=channel.pk).update(
            channel_id=made.id,
            team_id=connection.team_id,
            name=made.name,
            status=ChannelStatus.CREATED,
            error="",
            updated_at=timezone.now(),
        )
        channel.channel_id, channel.name, channel.team_id = made.id, made.name, connection.team_id
        channel.status, channel.error = ChannelStatus.CREATED, ""
        return True
    channel_failed(
        channel=channel,
        reason=(
            f"Slack already has channels named #{base} up to #{base}-{NAME_TRIES}. Rename or "
            "archive one of them in Slack, then press Try again."
        ),
    )
    return False


def coach_add(*, connection: SlackConnection, channel: SlackChannel, attempt: int) -> None:
    """The coach's Slack account (found by their e-mail) into the channel; a coach who is
    not in the workspace is noted on the channel, not a failure of anyone's invite."""
    if channel.coach_added or not channel.channel_id:
        return
    coach = channel.collection.engagement.coach
    engagement_id = channel.collection.engagement_id
    note = ""
    try:
        user_id = slack_call(
            slack.user_find_by_email,
            connection=connection,
            operation="users.lookupByEmail",
            subject=channel,
            engagement_id=engagement_id,
            attempt=attempt,
            email=coach.email,
        )
        if user_id is None:
            note = (
                f"{coach.display_name} (the coach) is not in the Slack workspace as "
                f"{coach.email}: invite them to the workspace, then press Try again."
            )
        else:
            slack_call(
                slack.channel_invite,
                connection=connection,
                operation="conversations.invite",
                subject=channel,
                engagement_id=engagement_id,
                attempt=attempt,
                channel_id=channel.channel_id,
                user_ids=[user_id],
            )
    except IntegrationError as error:
        if not error.permanent:
            raise
        note = f"{coach.display_name} (the coach) was not added: {what_to_do(error)}"
    SlackChannel.objects.filter(pk=channel.pk).update(
        coach_added=not note, coach_note=note, updated_at=timezone.now()
    )
    channel.coach_added, channel.coach_note = not note, note


def channels_left_behind(*, practice_id: int, team_id: str, former_name: str) -> int:
    """After a reconnect to another workspace, the channels made in the former one say so
    (and so do their invites) until Try again makes them anew here; returns how many."""
    behind = (
        SlackChannel.objects.filter(practice_id=practice_id)
        .exclude(channel_id="")
        .exclude(team_id=team_id)
        .select_related("collection__engagement__coach")
    )
    count = 0
    for channel in behind:
        reason = (
            f"#{channel.name} is in the former workspace {former_name}; press Try again to "
            "make a new channel here."
        )
        channel_failed(channel=channel, reason=reason)
        SlackInvite.objects.filter(channel=channel).exclude(status=InviteStatus.FAILED).update(
            status=InviteStatus.FAILED, error=reason, updated_at=timezone.now()
        )
        slack_steps_record(channel=channel)
        count += 1
    return count


def channel_start_over(*, channel: SlackChannel) -> None:
    """Forget a channel of a former workspace, so the next run makes it in this one and
    invites everyone again from the start."""
    SlackChannel.objects.filter(pk=channel.pk).update(
        status=ChannelStatus.PENDING,
        channel_id="",
        team_id="",
        name="",
        error="",
        attempts=0,
        coach_added=False,
        coach_note="",
        updated_at=timezone.now(),
    )
    SlackInvite.objects.filter(channel=channel).update(
        status=InviteStatus.PENDING,
        path="",
        slack_user_id="",
        shared_invite_id="",
        error="",
        attempts=0,
        emailed_at=None,
        joined_at=None,
        updated_at=timezone.now(),
    )
