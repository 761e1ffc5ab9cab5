"""The Web API methods CoachHub calls, answered with Slack's documented shapes and error
codes: `auth.test`, `auth.revoke`, `oauth.v2.access`, `users.lookupByEmail`,
`conversations.create`, `.invite`, `.inviteShared`, `.info`, `.list`, `.history` and
`chat.postMessage` (with message metadata).

Each method checks the token, then the scope it needs (`missing_scope` with `needed` and
`provided`, as Slack answers), then its arguments, and records what it changed as an
effect (`StandIn.effects(method)`), so a test can count what really happened.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from .state import Channel, Code, Invite, Team, Token, new_id, new_ts

if TYPE_CHECKING:
    from .api import StandIn

NAME_ALLOWED = re.compile(r"^[a-z0-9_\-]+$")
EMAIL_SHAPE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
RESERVED_NAMES = {"here", "channel", "everyone", "group", "slackbot"}
CODE_LIFETIME = 600  # seconds an OAuth code may wait to be exchanged


class SlackError(Exception):
    """An answer with `ok: false`: HTTP 200 for API errors, with any extra fields Slack adds."""

    def __init__(self, error: str, **extra: Any):
        super().__init__(error)
        self.error, self.extra = error, extra


def truthy(value: Any) -> bool:
    """Slack's booleans arrive as `1`/`0`, `true`/`false` or JSON booleans."""
    return str(value).strip().lower() in {"1", "true", "yes"}


def listed(value: Any) -> list[str]:
    """A comma-separated argument (or a JSON array) as a list of non-empty strings."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def _private_or_public(private: str, public: str):
    def needed(standin: StandIn, team: Team, params: dict) -> str:
        channel = team.channels.get(str(params.get("channel") or ""))
        return public if channel is not None and not channel.is_private else private

    return needed


class WebApi:
    """The methods, each `(standin, token, team, params) -> answer`, and their scopes."""

    # --- auth -------------------------------------------------------------------
    def _auth_test(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        bot = team.members[team.bot_user_id]
        return {
            "url": team.url,
            "team": team.name,
            "user": bot.name,
            "team_id": team.id,
            "user_id": bot.id,
            "bot_id": team.bot_id,
            "is_enterprise_install": False,
        }

    def _auth_revoke(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        if truthy(params.get("test")):
            return {"revoked": False}
        self._revoke(token)
        self.effect("auth.revoke", team_id=team.id, bot_user_id=token.bot_user_id)
        return {"revoked": True}

    def _oauth_v2_access(self: StandIn, params: dict, authorization: str) -> dict:
        client_id, client_secret = params.get("client_id"), params.get("client_secret")
        if authorization.startswith("Basic "):
            try:
                decoded = base64.b64decode(authorization[6:]).decode()
            except ValueError:
                raise SlackError("invalid_client_id") from None
            client_id, _, client_secret = decoded.partition(":")
        if not client_id or client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if client_secret != self.client_secret:
            raise SlackError("bad_client_secret")
        code = self.codes.get(str(params.get("code") or ""))
        if code is None or code.used or code.expires < time.time():
            raise SlackError("invalid_code")
        if code.redirect_uri and params.get("redirect_uri") != code.redirect_uri:
            raise SlackError("bad_redirect_uri")
        code.used = True
        team = self.teams[code.team_id]
        token = self._install(team, code.scopes)
        self.effect("oauth.v2.access", team_id=team.id, bot_user_id=team.bot_user_id)
        return {
            "access_token": token.value,
            "token_type": "bot",
            "scope": ",".join(token.scopes),
            "bot_user_id": team.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": team.id, "name": team.name},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": team.owner_id},
        }

    def oauth_code(
        self: StandIn,
        team_id: str,
        *,
        scopes: tuple[str, ...] | str | None = None,
        redirect_uri: str | None = None,
    ) -> str:
        """A one-time code as the authorize page's Allow gives it (for tests that skip the page)."""
        if isinstance(scopes, str):
            scopes = tuple(listed(scopes.replace(" ", ",")))
        with self.lock:
            code = Code(
                value=f"{int(time.time())}.{secrets.token_hex(16)}",
                team_id=self.teams[team_id].id,
                scopes=tuple(scopes) if scopes else self.default_scopes,
                redirect_uri=redirect_uri or None,
                client_id=self.client_id,
                expires=time.time() + CODE_LIFETIME,
            )
            self.codes[code.value] = code
            return code.value

    # --- users ------------------------------------------------------------------
    def _users_lookup_by_email(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        email = str(params.get("email") or "").strip()
        if not email:
            raise SlackError("invalid_arguments")
        member = team.member_by_email(email)
        if member is None or member.deleted:
            raise SlackError("users_not_found")
        return {"user": member.as_slack()}

    # --- conversations ----------------------------------------------------------
    def _channel(self: StandIn, team: Team, params: dict) -> Channel:
        channel_id = str(params.get("channel") or "").strip()
        channel = team.channels.get(channel_id)
        if channel is None and channel_id.startswith("#"):
            channel = team.channel_by_name(channel_id[1:])
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def _conversations_create(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        name = str(params.get("name") or "")
        if not name.strip():
            raise SlackError("invalid_name_required")
        if len(name) > 80:
            raise SlackError("invalid_name_maxlength")
        if not NAME_ALLOWED.match(name):
            raise SlackError("invalid_name_specials")
        if not name.strip("-_"):
            raise SlackError("invalid_name_punctuation")
        if name in RESERVED_NAMES:
            raise SlackError("invalid_name")
        if team.channel_by_name(name) is not None:
            raise SlackError("name_taken")
        channel = Channel(
            id=new_id("C"),
            team_id=team.id,
            name=name,
            is_private=truthy(params.get("is_private")),
            creator=token.bot_user_id,
            members=[token.bot_user_id],
        )
        team.channels[channel.id] = channel
        self.effect("conversations.create", team_id=team.id, channel=channel.id, name=name)
        return {"channel": channel.as_slack()}

    def _conversations_info(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        channel = self._channel(team, params)
        if channel.is_private and token.bot_user_id not in channel.members:
            raise SlackError("channel_not_found")  # a private channel the bot cannot see
        return {"channel": channel.as_slack(num_members=truthy(params.get("include_num_members")))}

    def _conversations_list(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        """Public channels, and the private ones the bot is in; one page (no cursor needed
        at the stand-in's sizes), archived ones left out when asked."""
        types = set(listed(params.get("types")) or ["public_channel"])
        found = []
        for channel in team.channels.values():
            kind = "private_channel" if channel.is_private else "public_channel"
            if kind not in types:
                continue
            if channel.is_private and token.bot_user_id not in channel.members:
                continue
            if channel.is_archived and truthy(params.get("exclude_archived")):
                continue
            found.append(channel.as_slack())
        return {"channels": found, "response_metadata": {"next_cursor": ""}}

    def _conversations_invite(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        channel = self._channel(team, params)
        if channel.is_archived:
            raise SlackError("is_archived")
        if token.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        users = listed(params.get("users"))
        if not users:
            raise SlackError("no_user")
        errors, valid = [], []
        for user_id in users:
            member = team.members.get(user_id)
            if user_id == token.bot_user_id:
                errors.append({"user": user_id, "ok": False, "error": "cant_invite_self"})
            elif member is None or member.deleted:
                errors.append({"user": user_id, "ok": False, "error": "user_not_found"})
            elif user_id in channel.members:
                errors.append({"user": user_id, "ok": False, "error": "already_in_channel"})
            elif user_id not in valid:
                valid.append(user_id)
        if errors and not (truthy(params.get("force")) and valid):
            raise SlackError(errors[0]["error"], errors=errors)
        for user_id in valid:
            channel.members.append(user_id)
            self.effect("conversations.invite", team_id=team.id, channel=channel.id, user=user_id)
        answer: dict[str, Any] = {"channel": channel.as_slack()}
        if errors:
            answer["errors"] = errors
        return answer

    def _conversations_invite_shared(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        channel = self._channel(team, params)
        if channel.is_archived:
            raise SlackError("channel_archived")
        if channel.is_general:
            raise SlackError("cannot_share_mandatory_channel")
        if not team.connect_allowed:
            raise SlackError("not_paid")
        emails, user_ids = listed(params.get("emails")), listed(params.get("user_ids"))
        if not emails and not user_ids:
            raise SlackError("recipients_not_specified")
        for email in emails:
            if not EMAIL_SHAPE.match(email):
                raise SlackError("invalid_email")
            member = team.member_by_email(email)
            if member is not None and member.id in channel.members:
                raise SlackError("already_in_channel")
        for user_id in user_ids:
            if user_id not in team.members and not self._external(user_id):
                raise SlackError("user_not_found")
            if user_id in channel.members:
                raise SlackError("already_in_channel")
        invite_id = new_id("I")
        for email in emails:
            team.invites.append(Invite(invite_id, team.id, channel.id, email, None))
            self.effect("conversations.inviteShared", channel=channel.id, email=email)
        for user_id in user_ids:
            team.invites.append(Invite(invite_id, team.id, channel.id, None, user_id))
            self.effect("conversations.inviteShared", channel=channel.id, user=user_id)
        answer: dict[str, Any] = {"invite_id": invite_id, "is_legacy_shared_channel": False}
        if emails and "external_limited" in params and not truthy(params["external_limited"]):
            answer["conf_code"] = secrets.token_hex(4).upper()
            answer["url"] = f"https://join.slack.com/share/{invite_id.lower()}"
        return answer

    # --- chat -------------------------------------------------------------------
    def _chat_post_message(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        channel = self._channel(team, params)
        if channel.is_archived:
            raise SlackError("is_archived")
        if token.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        text, blocks = params.get("text"), params.get("blocks")
        if isinstance(blocks, str) and blocks.strip():
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise SlackError("invalid_blocks_format") from None
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        if not (text and str(text).strip()) and not blocks:
            raise SlackError("no_text")
        if text and len(str(text)) > 40000:
            raise SlackError("msg_too_long")
        ts = new_ts()
        message: dict[str, Any] = {
            "user": token.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": team.bot_id,
            "app_id": self.app_id,
            "text": str(text or ""),
            "team": team.id,
            "bot_profile": {
                "id": team.bot_id,
                "app_id": self.app_id,
                "name": self.app_name,
                "deleted": False,
                "team_id": team.id,
            },
        }
        if blocks:
            message["blocks"] = blocks
        metadata = params.get("metadata")
        if isinstance(metadata, str) and metadata.strip():
            try:
                metadata = json.loads(metadata)
            except ValueError:
                raise SlackError("invalid_metadata_format") from None
        if metadata is not None:
            if not isinstance(metadata, dict) or not metadata.get("event_type"):
                raise SlackError("invalid_metadata_format")
            message["metadata"] = {
                "event_type": str(metadata["event_type"]),
                "event_payload": metadata.get("event_payload") or {},
            }
        channel.messages.append(message)
        self.effect("chat.postMessage", team_id=team.id, channel=channel.id, ts=ts)
        return {"channel": channel.id, "ts": ts, "message": message}

    def _conversations_history(self: StandIn, token: Token, team: Team, params: dict) -> dict:
        """Newest first, as Slack answers; metadata only with `include_all_metadata`."""
        channel = self._channel(team, params)
        if token.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        try:
            oldest = float(params.get("oldest") or 0)
            limit = min(max(int(params.get("limit") or 100), 1), 999)
        except ValueError:
            raise SlackError("invalid_arguments") from None
        with_metadata = truthy(params.get("include_all_metadata"))
        messages = []
        for message in reversed(channel.messages):
            if float(message["ts"]) < oldest:
                continue
            shown = dict(message)
            if not with_metadata:
                shown.pop("metadata", None)
            messages.append(shown)
        return {"messages": messages[:limit], "has_more": len(messages) > limit}

    # --- dispatch ---------------------------------------------------------------
    METHODS = {
        "auth.test": (_auth_test, None),
        "auth.revoke": (_auth_revoke, None),
        "users.lookupByEmail": (_users_lookup_by_email, "users:read.email"),
        "conversations.create": (
            _conversations_create,
            lambda standin, team, params: (
                "groups:write" if truthy(params.get("is_private")) else "channels:manage"
            ),
        ),
        "conversations.info": (
            _conversations_info,
            _private_or_public("groups:read", "channels:read"),
        ),
        "conversations.list": (_conversations_list, "groups:read"),
        "conversations.invite": (
            _conversations_invite,
            _private_or_public("groups:write", "channels:manage"),
        ),
        "conversations.inviteShared": (_conversations_invite_shared, "conversations.connect:write"),
        "conversations.history": (
            _conversations_history,
            _private_or_public("groups:history", "channels:history"),
        ),
        "chat.postMessage": (_chat_post_message, "chat:write"),
    }
    KNOWN = ("oauth.v2.access", *METHODS)

    def _token(self: StandIn, params: dict, authorization: str) -> Token:
        value = authorization[7:].strip() if authorization.startswith("Bearer ") else ""
        value = value or str(params.get("token") or "").strip()
        if not value:
            raise SlackError("not_authed")
        token = self.tokens.get(value)
        if token is None:
            raise SlackError("invalid_auth")
        if token.revoked:
            raise SlackError("token_revoked")
        return token

    def _run(
        self: StandIn, method: str, params: dict, authorization: str
    ) -> tuple[dict, Token | None]:
        """The method's answer (without `ok`), or SlackError; and the token it ran with."""
        if method == "oauth.v2.access":
            return self._oauth_v2_access(params, authorization), None
        handler, scope = self.METHODS[method]
        token = self._token(params, authorization)
        team = self.teams[token.team_id]
        needed = scope(self, team, params) if callable(scope) else scope
        if needed and needed not in token.scopes:
            raise SlackError("missing_scope", needed=needed, provided=",".join(token.scopes))
        return handler(self, token, team, params), token

    def _external(self: StandIn, user_id: str) -> bool:
        """A user of another workspace the stand-in knows (Slack Connect by user id)."""
        return any(user_id in team.members for team in self.teams.values())

    @staticmethod
    def scope_needed(method: str) -> str:
        """The scope a method needs for a private channel, for `fail_next(…, "missing_scope")`."""
        scope = WebApi.METHODS.get(method, (None, None))[1]
        if callable(scope):
            return {"conversations.info": "groups:read"}.get(method, "groups:write")
        return scope or "chat:write"
