"""What each Slack event does for the practice it was stored for: an uninstalled app or a
revoked token breaks the connection (saying what to do), a new member joins their channel."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

from django.utils import timezone

from . import services
from .calls import connection_broken
from .models import ConnectionStatus, EventStatus, SlackConnection, SlackEvent


class MalformedEvent(ValueError):
    """A signed event whose content is not what its handler reads; retrying cannot help."""


def _event_date(event: SlackEvent) -> str:
    """The day Slack says it happened, in the practice's time zone ("1 December 2026")."""
    moment = event.payload.get("event_time")
    at = dt.datetime.fromtimestamp(moment, tz=dt.UTC) if isinstance(moment, int) else None
    local = (at or event.received_at).astimezone(event.practice.zone)
    return f"{local.day} {local:%B %Y}"


def _workspace(connection: SlackConnection) -> str:
    return connection.team_name or connection.team_id


def _about_another_install(event: SlackEvent, connection: SlackConnection) -> bool:
    """Whether the event is about another app (both ids known and different) or about an
    install before the connection's last one, which a reconnect has replaced."""
    app_id = event.payload.get("api_app_id")
    if isinstance(app_id, str) and app_id and connection.app_id and app_id != connection.app_id:
        return True
    moment = event.payload.get("event_time")
    if isinstance(moment, int) and connection.connected_at is not None:
        return moment < math.floor(connection.connected_at.timestamp())  # whole seconds
    return False


def on_app_uninstalled(event: SlackEvent, connection: SlackConnection) -> str:
    """The uninstall says more than the `tokens_revoked` Slack sends with it: its reason wins."""
    if _about_another_install(event, connection):
        return EventStatus.IGNORED
    reason = (
        f"Slack says the app was uninstalled from {_workspace(connection)} on "
        f"{_event_date(event)}. Add it again on the Integrations page."
    )
    if not connection_broken(connection=connection, reason=reason):
        SlackConnection.objects.filter(pk=connection.pk, status=ConnectionStatus.BROKEN).update(
            broken_reason=reason, updated_at=timezone.now()
        )
    return EventStatus.PROCESSED


def on_tokens_revoked(event: SlackEvent, connection: SlackConnection) -> str:
    """Only the bot token matters: CoachHub holds no user tokens."""
    tokens = (event.payload.get("event") or {}).get("tokens")
    if not isinstance(tokens, dict) or not isinstance(tokens.get("bot", []), list):
        raise MalformedEvent("tokens_revoked without a `tokens.bot` list")
    bots = tokens.get("bot") or []
    if not bots or (connection.bot_user_id and connection.bot_user_id not in bots):
        return EventStatus.IGNORED
    if _about_another_install(event, connection):
        return EventStatus.IGNORED
    connection_broken(
        connection=connection,
        reason=(
            f"Slack says CoachHub's bot token for {_workspace(connection)} was revoked on "
            f"{_event_date(event)}. Connect the workspace again on the Integrations page."
        ),
    )
    return EventStatus.PROCESSED


def on_team_join(event: SlackEvent, connection: SlackConnection) -> str:
    """Someone joined the workspace: the invites waiting for their e-mail are completed."""
    user = (event.payload.get("event") or {}).get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise MalformedEvent("team_join without a `user.id`")
    profile = user.get("profile")
    email = profile.get("email") if isinstance(profile, dict) else None
    if not isinstance(email, str) or not email:
        return EventStatus.IGNORED  # an e-mail Slack does not show us cannot be matched
    services.slack_member_joined(connection=connection, slack_user_id=user["id"], email=email)
    return EventStatus.PROCESSED


# Event type → handler(event, connection) returning the event's new status. Types not
# listed are stored and marked ignored.
HANDLERS: dict[str, Callable[[SlackEvent, SlackConnection], str]] = {
    "app_uninstalled": on_app_uninstalled,
    "tokens_revoked": on_tokens_revoked,
    "team_join": on_team_join,
}
