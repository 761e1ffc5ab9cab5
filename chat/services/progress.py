"""What the Slack steps of an engagement's checklist say: done with the path each person
took, waiting for someone to join, or failed with what to do — never silent."""

from __future__ import annotations

from django.utils import formats

from engagements.models import StepState
from engagements.services import checklist_step_record

from ..models import ChannelStatus, InvitePath, InviteStatus, SlackChannel, SlackInvite


def invite_sentence(invite: SlackInvite, channel: SlackChannel) -> str:
    """One person's state, in the coach's words."""
    name, place = invite.client.name, f"#{channel.name}" if channel.name else "the channel"
    if invite.status == InviteStatus.DONE:
        if invite.path == InvitePath.MEMBER:
            return f"{name} was already in the workspace and was added to {place}."
        if invite.path == InvitePath.SLACK_CONNECT:
            return (
                f"Slack e-mailed {name} a Slack Connect invitation to {place}; "
                "they are in once they accept it."
            )
        return f"{name} joined the workspace and was added to {place}."
    if invite.status == InviteStatus.WAITING:
        sent = formats.date_format(invite.emailed_at, "j M Y") if invite.emailed_at else "…"
        return (
            f"Waiting for {name} to join the workspace (invite link e-mailed on {sent}); "
            f"CoachHub adds them to {place} when they do."
        )
    if invite.status == InviteStatus.FAILED:
        return f"{name}: {invite.error}"
    if invite.error:
        return f"{name}: not invited yet. {invite.error}"
    return f"Inviting {name} to Slack…"


def invites_summary(channel: SlackChannel, invites: list[SlackInvite]) -> tuple[str, str]:
    """The invite step's state and reason: one person said in full, a team summarised."""
    if not invites:
        return StepState.PENDING, "Nobody to invite yet: add participants to the collection."
    states = [invite.status for invite in invites]
    if InviteStatus.FAILED in states:
        state = StepState.FAILED
    elif all(status == InviteStatus.DONE for status in states):
        state = StepState.DONE
    else:
        state = StepState.PENDING
    if len(invites) == 1:
        return state, invite_sentence(invites[0], channel)
    done = states.count(InviteStatus.DONE)
    parts = [f"{done} of {len(invites)} in the channel"]
    waiting = [invite for invite in invites if invite.status == InviteStatus.WAITING]
    if waiting:
        parts.append(f"{len(waiting)} waiting to join the workspace")
    pending = states.count(InviteStatus.PENDING)
    if pending:
        parts.append(f"{pending} being invited")
    failed = [invite for invite in invites if invite.status == InviteStatus.FAILED]
    text = "; ".join(parts)
    if failed:
        text += f"; {len(failed)} failed: " + " ".join(
            invite_sentence(invite, channel) for invite in failed
        )
    return state, text + ("" if text.endswith(".") else ".")


def channel_summary(channel: SlackChannel) -> tuple[str, str]:
    """The channel step's state and reason (the coach's own place in it included)."""
    if channel.status == ChannelStatus.FAILED:
        return StepState.FAILED, f"The channel was not created: {channel.error}"
    if channel.status == ChannelStatus.PENDING:
        if channel.error:
            return StepState.PENDING, f"Not created yet. {channel.error}"
        return StepState.PENDING, "Creating the private channel in Slack…"
    if channel.coach_note:
        return StepState.PENDING, f"#{channel.name} is ready. {channel.coach_note}"
    coach = channel.collection.engagement.coach.display_name
    if not channel.coach_added:
        return StepState.PENDING, f"#{channel.name} is ready; adding {coach} (the coach)…"
    return StepState.DONE, f"#{channel.name} created, with {coach} (the coach) in it."


def slack_steps_record(*, channel: SlackChannel) -> None:
    """Write the channel and invite steps from the rows as they are now."""
    invites = list(
        SlackInvite.objects.filter(practice_id=channel.practice_id, channel=channel)
        .select_related("client")
        .order_by("client__name", "pk")
    )
    engagement_id = channel.collection.engagement_id
    for key, (state, reason) in (
        ("slack_channel", channel_summary(channel)),
        ("slack_invite", invites_summary(channel, invites)),
    ):
        checklist_step_record(engagement_id=engagement_id, key=key, state=state, reason=reason)
