"""The free-plan path into a channel: the workspace's invite link, e-mailed once to the
client, who is added to their channel when Slack says they joined (`team_join`)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from coachhub.calls import call_recorded
from coachhub.models import CallProvider
from integrations.errors import FailureKind, IntegrationError

from ..models import InvitePath, InviteStatus, SlackChannel, SlackConnection, SlackInvite


def invite_update(invite: SlackInvite, **fields) -> None:
    fields.setdefault("updated_at", timezone.now())
    SlackInvite.objects.filter(pk=invite.pk).update(**fields)
    for name, value in fields.items():
        setattr(invite, name, value)


def invite_link_message(
    invite: SlackInvite, channel: SlackChannel, connection: SlackConnection
) -> EmailMessage:
    """What the client reads: whose workspace, the link, and that the channel follows."""
    engagement = channel.collection.engagement
    coach = engagement.coach
    workspace = connection.team_name or "the practice's Slack workspace"
    body = "\n".join(
        [
            f"Hello {invite.client.name},",
            "",
            f"{coach.display_name} invites you to {workspace} on Slack, where you have a "
            f"private channel (#{channel.name}) for support between sessions.",
            "",
            f"Join the workspace here, with this e-mail address ({invite.email}):",
            connection.invite_link,
            "",
            "Once you have joined, you are added to the channel by yourself.",
            "",
            channel.practice.name,
        ]
    )
    return EmailMessage(
        subject=f"Join {workspace} on Slack — {channel.collection.title}",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invite.email],
        reply_to=[coach.email],
    )


def invite_link_send(
    *, connection: SlackConnection, channel: SlackChannel, invite: SlackInvite, attempt: int
) -> None:
    """E-mail the workspace invite link. The row is claimed first (pending → waiting), so a
    rerun never e-mails twice; a mail server that fails puts it back for the retry."""
    claimed = SlackInvite.objects.filter(pk=invite.pk, status=InviteStatus.PENDING).update(
        status=InviteStatus.WAITING,
        path=InvitePath.INVITE_LINK,
        emailed_at=timezone.now(),
        updated_at=timezone.now(),
    )
    if not claimed:
        return
    try:
        with call_recorded(
            practice_id=channel.practice_id,
            provider=CallProvider.EMAIL,
            operation="slack invite link",
            subject=invite,
            engagement_id=channel.collection.engagement_id,
            attempt=attempt,
            recipient=invite.email,
        ):
            get_connection().send_messages([invite_link_message(invite, channel, connection)])
    except OSError as error:  # the mail server: try again later, nothing was sent
        invite_update(
            invite, status=InviteStatus.PENDING, path="", emailed_at=None, error=str(error)
        )
        raise IntegrationError(
            f"The e-mail with the invite link was not sent: {error}",
            permanent=False,
            provider="email",
            kind=FailureKind.UNREACHABLE,
        ) from error
    invite.refresh_from_db()
