"""Reads for Slack: a collection's channel with each person's invite, for the pages."""

from __future__ import annotations

from engagements.models import Collection, Engagement

from .models import ChannelStatus, InviteStatus, SlackChannel, SlackConnection
from .services.progress import invite_sentence


def channel_link(channel: SlackChannel, connection: SlackConnection | None) -> str:
    """Where the channel opens in Slack: the workspace's own address, or Slack's web client."""
    if connection is None or not channel.channel_id:
        return ""
    if connection.team_url:
        return f"{connection.team_url.rstrip('/')}/archives/{channel.channel_id}"
    return f"https://app.slack.com/client/{connection.team_id}/{channel.channel_id}"


def slack_channel_for(collection: Collection | None) -> SlackChannel | None:
    """The collection's channel, its people (`.people`, each with its `.sentence`), its
    link (`.link`) and whether anything is left to retry (`.open_work`); None without one."""
    if collection is None:
        return None
    channel = (
        SlackChannel.objects.filter(practice_id=collection.practice_id, collection=collection)
        .select_related("practice__slack_connection")
        .first()
    )
    if channel is None:
        return None
    connection = getattr(channel.practice, "slack_connection", None)
    channel.people = list(channel.invites.select_related("client").order_by("client__name", "pk"))
    for invite in channel.people:
        invite.sentence = invite_sentence(invite, channel)
    channel.link = channel_link(channel, connection)
    channel.open_work = (
        channel.status != ChannelStatus.CREATED
        or bool(channel.coach_note)
        or any(
            # Waiting: a lost team_join would leave them so; Try again looks them up.
            invite.status in (InviteStatus.FAILED, InviteStatus.PENDING, InviteStatus.WAITING)
            for invite in channel.people
        )
    )
    return channel


def slack_page_context(engagement: Engagement, collection: Collection | None) -> dict:
    """What `chat/_channel.html` shows on the engagement and collection pages."""
    channel = slack_channel_for(collection)
    connected = engagement.practice.slack_connected
    return {
        "slack_channel": channel,
        "slack_connected": connected,
        "slack_engagement": engagement,
        "slack_retry_offered": (
            channel.open_work if channel is not None else connected and collection is not None
        ),
    }
