"""slack_sdk's OAuth stores over CoachHub's tables, each bound to one practice: the
"Add to Slack" `state` (single use, ten minutes, the owner who started it) and the
installed bot (`SlackConnection`), so the standard slack_sdk flow pieces are used."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets

from django.core.exceptions import ValidationError
from django.utils import timezone
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from slack_sdk.oauth.state_store import OAuthStateStore

from coachhub.models import Practice, User

from .models import ConnectionMethod, ConnectionStatus, SlackConnection, SlackOAuthState

logger = logging.getLogger(__name__)

STATE_LIFETIME = dt.timedelta(minutes=10)
# What `issue` makes (token_urlsafe(32) is 43 characters); anything else is not ours.
STATE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

START_AGAIN = "Start again with “Add to Slack” on the Integrations page."
STATE_UNKNOWN = (
    "This Slack install was not started from this practice (or the link is incomplete), "
    "so nothing was connected. If you switched practice since, switch back first. " + START_AGAIN
)
STATE_OTHER_USER = (
    "This Slack install was started by another member of the practice, so nothing was "
    "connected. " + START_AGAIN
)
STATE_USED = (
    "This Slack install was already finished (each one works once), so nothing more was "
    "connected. " + START_AGAIN
)
STATE_EXPIRED = (
    "This Slack install took more than 10 minutes and expired, so nothing was connected. "
    + START_AGAIN
)


class PracticeOAuthStateStore(OAuthStateStore):
    """The `state` of one practice's "Add to Slack": issued to one user, consumed once."""

    def __init__(self, *, practice: Practice, user: User):
        self.practice = practice
        self.user = user
        self.issued: SlackOAuthState | None = None

    @property
    def logger(self) -> logging.Logger:
        return logger

    def issue(self, *args, **kwargs) -> str:
        self.issued = SlackOAuthState.objects.create(
            practice=self.practice, user=self.user, state=secrets.token_urlsafe(32)
        )
        return self.issued.state

    def consume(self, state: str) -> bool:
        try:
            self.consume_or_refuse(state)
        except ValidationError:
            return False
        return True

    def consume_or_refuse(self, state: str) -> SlackOAuthState:
        """Spend the state, or say in words why it cannot be (a `ValidationError`)."""
        now = timezone.now()
        if not isinstance(state, str) or not STATE_PATTERN.match(state):
            raise ValidationError(STATE_UNKNOWN, code="state_unknown")
        found = SlackOAuthState.objects.filter(practice=self.practice, state=state).first()
        if found is None:
            raise ValidationError(STATE_UNKNOWN, code="state_unknown")
        if found.user_id != self.user.pk:
            raise ValidationError(STATE_OTHER_USER, code="state_other_user")
        if found.consumed_at is not None:
            raise ValidationError(STATE_USED, code="state_used")
        if found.created_at < now - STATE_LIFETIME:
            raise ValidationError(STATE_EXPIRED, code="state_expired")
        # The conditional update is the claim: of two callbacks racing, one wins.
        claimed = SlackOAuthState.objects.filter(pk=found.pk, consumed_at__isnull=True).update(
            consumed_at=now
        )
        if not claimed:
            raise ValidationError(STATE_USED, code="state_used")
        found.consumed_at = now
        return found


class PracticeInstallationStore(InstallationStore):
    """The practice's one installed bot. Saving replaces the token and clears "broken";
    deleting wipes the tokens and keeps the row, broken with `reason`, so the practice's
    channels and invites stay linked to the workspace they were made in."""

    def __init__(
        self,
        *,
        practice: Practice,
        actor: User | None = None,
        method: str = ConnectionMethod.OAUTH,
        signing_secret: str = "",
        team_url: str = "",
        reason: str = "",
    ):
        self.practice = practice
        self.actor = actor
        self.method = method
        self.signing_secret = signing_secret
        self.team_url = team_url
        self.reason = reason or "Slack no longer accepts CoachHub's token."
        self.saved: SlackConnection | None = None

    @property
    def logger(self) -> logging.Logger:
        return logger

    def save(self, installation: Installation) -> None:
        self.save_bot(installation.to_bot())

    def save_bot(self, bot: Bot) -> None:
        connection = SlackConnection.objects.filter(practice=self.practice).first()
        connection = connection or SlackConnection(practice=self.practice)
        connection.method = self.method
        connection.status = ConnectionStatus.CONNECTED
        connection.broken_reason, connection.broken_at = "", None
        connection.team_id = bot.team_id or ""
        connection.team_name = bot.team_name or ""
        connection.team_url = self.team_url
        connection.app_id = bot.app_id or ""
        connection.bot_user_id = bot.bot_user_id or ""
        connection.bot_id = bot.bot_id or ""
        connection.scopes = ",".join(bot.bot_scopes or [])
        connection.bot_token = bot.bot_token
        # The operator's app signs with SLACK_SIGNING_SECRET; a practice's own app with its own.
        connection.signing_secret = self.signing_secret
        connection.connected_at = timezone.now()
        connection.events_last_received_at = None  # events of this install are still to come
        if self.actor is not None:
            connection.installed_by = self.actor
        connection.full_clean()
        connection.save()
        self.saved = connection

    def _connection(self, team_id: str | None) -> SlackConnection | None:
        connection = SlackConnection.objects.filter(practice=self.practice).first()
        if connection is None or not connection.ready:
            return None
        if team_id and connection.team_id != team_id:
            return None
        return connection

    def find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        connection = self._connection(team_id)
        if connection is None:
            return None
        return Bot(
            app_id=connection.app_id or None,
            team_id=connection.team_id,
            team_name=connection.team_name,
            bot_token=connection.bot_token,
            bot_id=connection.bot_id,
            bot_user_id=connection.bot_user_id,
            bot_scopes=connection.scopes,
            installed_at=connection.updated_at.timestamp(),
        )

    def find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        connection = self._connection(team_id)
        if connection is None:
            return None
        return Installation(
            app_id=connection.app_id or None,
            team_id=connection.team_id,
            team_name=connection.team_name,
            bot_token=connection.bot_token,
            bot_id=connection.bot_id,
            bot_user_id=connection.bot_user_id,
            bot_scopes=connection.scopes,
            user_id=user_id or "",
            installed_at=connection.updated_at.timestamp(),
        )

    def delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        self._forget(team_id)

    def delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        self._forget(team_id)

    def _forget(self, team_id: str | None) -> None:
        now = timezone.now()
        connections = SlackConnection.objects.filter(practice=self.practice)
        if team_id:
            connections = connections.filter(team_id=team_id)
        # The tokens are wiped through save() so the encrypted columns are written as empty.
        for connection in connections:
            connection.status = ConnectionStatus.BROKEN
            connection.broken_reason = self.reason
            connection.broken_at = now
            connection.bot_token = ""
            connection.signing_secret = ""
            connection.save(
                update_fields=[
                    "status",
                    "broken_reason",
                    "broken_at",
                    "bot_token",
                    "signing_secret",
                    "updated_at",
                ]
            )
            self.saved = connection
