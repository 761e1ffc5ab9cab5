"""Every call CoachHub makes to Slack's Web API, through the real `slack_sdk.WebClient`.

The client points at `base_url` — Slack itself in production, the local stand-in in
development and tests. It never retries on its own: each attempt is one Celery attempt, so
the call log shows every try and a rate limit's `Retry-After` decides the next one.
Failures become `IntegrationError`: `code` is Slack's error string, `retry_after` the
seconds Slack asked for, `permanent` whether trying again can help.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from integrations.errors import FailureKind, IntegrationError

SLACK_API_BASE = "https://slack.com/api/"
TIMEOUT_SECONDS = 10

# The bot scopes the CoachHub Slack app asks for, and why (README lists them too).
BOT_SCOPES = (
    "groups:write",  # create private channels and invite people to them
    "groups:read",  # conversations.info / .list on a private channel
    "chat:write",  # post reminders, session links and recaps
    "groups:history",  # find our own post after a lost answer, so a retry never posts twice
    "users:read",  # see members, and the team_join event
    "users:read.email",  # users.lookupByEmail
    "conversations.connect:write",  # conversations.inviteShared (Slack Connect)
)

# Slack's codes that no retry can fix: the token, the app's scopes, or the request itself.
TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "org_login_required",
        "ekm_access_denied",
        "team_access_not_granted",
        "not_allowed_token_type",
        "missing_scope",
        "team_not_found",
        "app_uninstalled",
    }
)
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


def _client(token: str, base_url: str) -> WebClient:
    return WebClient(
        token=token or None, base_url=base_url, timeout=TIMEOUT_SECONDS, retry_handlers=[]
    )


def _retry_after(headers: Any) -> float | None:
    value = None
    for name, header in (headers or {}).items():
        if name.lower() == "retry-after":
            value = header[0] if isinstance(header, list) else header
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def translate(error: SlackClientError | OSError) -> IntegrationError:
    """Slack's answer as our one error type: rate limits and faults may pass, the rest not."""
    if not isinstance(error, SlackApiError):
        return IntegrationError(
            str(error) or error.__class__.__name__,
            permanent=False,
            provider="slack",
            kind=FailureKind.UNREACHABLE,
        )
    response = error.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or "")
    if status == 429:
        return IntegrationError(
            f"Slack rate limit (HTTP 429){': ' + code if code else ''}",
            permanent=False,
            provider="slack",
            kind=FailureKind.PROVIDER_FAULT,
            code=code or "ratelimited",
            retry_after=_retry_after(response.headers) or 1.0,
        )
    if status >= 500 or code in TRANSIENT_ERRORS:
        return IntegrationError(
            f"Slack answered HTTP {status}{': ' + code if code else ''}",
            permanent=False,
            provider="slack",
            kind=FailureKind.PROVIDER_FAULT,
            code=code,
            retry_after=_retry_after(response.headers),
        )
    kind = FailureKind.KEY_REFUSED if code in TOKEN_ERRORS else FailureKind.REQUEST_REFUSED
    needed = data.get("needed")
    message = f"Slack refused: {code or f'HTTP {status}'}"
    if needed:
        message += f" (needs the {needed} scope)"
    return IntegrationError(message, permanent=True, provider="slack", kind=kind, code=code)


def _respond(method, **params):
    try:
        return method(**params)
    # slack_sdk lets urllib's own errors through: refused connections, DNS, timeouts.
    except (SlackClientError, OSError) as error:
        raise translate(error) from error


def _call(method, **params):
    response = _respond(method, **params)
    return response.data if isinstance(response.data, dict) else {}


def _header(headers: Any, name: str) -> str:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return ""


@dataclass(frozen=True)
class Identity:
    """Who a token speaks for (`auth.test`)."""

    team_id: str
    team_name: str
    team_url: str
    bot_user_id: str
    bot_id: str
    scopes: str = ""  # what the token may do, from Slack's `X-OAuth-Scopes` header


def auth_test(*, token: str, base_url: str) -> Identity:
    response = _respond(_client(token, base_url).auth_test)
    data = response.data if isinstance(response.data, dict) else {}
    return Identity(
        team_id=data.get("team_id", ""),
        team_name=data.get("team", ""),
        team_url=data.get("url", ""),
        bot_user_id=data.get("user_id", ""),
        bot_id=data.get("bot_id", ""),
        scopes=_header(response.headers, "x-oauth-scopes"),
    )


@dataclass(frozen=True)
class Installation:
    """What `oauth.v2.access` gives for a bot install."""

    bot_token: str
    bot_user_id: str
    app_id: str
    team_id: str
    team_name: str
    scopes: str
    authed_user_id: str


def oauth_access(
    *, client_id: str, client_secret: str, code: str, redirect_uri: str, base_url: str
) -> Installation:
    data = _call(
        _client("", base_url).oauth_v2_access,
        client_id=client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=redirect_uri,
    )
    team = data.get("team") or {}
    return Installation(
        bot_token=data.get("access_token", ""),
        bot_user_id=data.get("bot_user_id", ""),
        app_id=data.get("app_id", ""),
        team_id=team.get("id", ""),
        team_name=team.get("name", ""),
        scopes=data.get("scope", ""),
        authed_user_id=(data.get("authed_user") or {}).get("id", ""),
    )


def auth_revoke(*, token: str, base_url: str) -> None:
    _call(_client(token, base_url).auth_revoke)


def user_find_by_email(*, token: str, base_url: str, email: str) -> str | None:
    """The member's id, or None when nobody in the workspace has that address."""
    try:
        data = _call(_client(token, base_url).users_lookupByEmail, email=email)
    except IntegrationError as error:
        if error.code == "users_not_found":
            return None
        raise
    return (data.get("user") or {}).get("id") or None


@dataclass(frozen=True)
class Channel:
    id: str
    name: str


def private_channel_create(*, token: str, base_url: str, name: str) -> Channel:
    data = _call(_client(token, base_url).conversations_create, name=name, is_private=True)
    channel = data.get("channel") or {}
    return Channel(id=channel.get("id", ""), name=channel.get("name", name))


def private_channel_find(*, token: str, base_url: str, name: str) -> Channel | None:
    """The private channel called `name` that the bot is in (None if there is none): how a
    create whose answer was lost finds the channel it made."""
    client, cursor = _client(token, base_url), ""
    for _page in range(50):
        data = _call(
            client.conversations_list,
            types="private_channel",
            exclude_archived=True,
            limit=200,
            cursor=cursor or None,
        )
        for channel in data.get("channels") or []:
            if channel.get("name") == name:
                return Channel(id=channel.get("id", ""), name=name)
        cursor = (data.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return None
    return None


def channel_invite(*, token: str, base_url: str, channel_id: str, user_ids: list[str]) -> None:
    """Add members; one already there counts as added (Slack says `already_in_channel`)."""
    try:
        _call(
            _client(token, base_url).conversations_invite,
            channel=channel_id,
            users=",".join(user_ids),
        )
    except IntegrationError as error:
        if error.code != "already_in_channel":
            raise


def channel_invite_shared(*, token: str, base_url: str, channel_id: str, email: str) -> str:
    """A Slack Connect invitation by e-mail; returns Slack's invite id."""
    data = _call(
        _client(token, base_url).conversations_inviteShared, channel=channel_id, emails=[email]
    )
    return str(data.get("invite_id") or "")


# The metadata type CoachHub's posts carry; its payload holds the post's key.
POST_METADATA_TYPE = "coachhub_post"


def message_post(*, token: str, base_url: str, channel_id: str, text: str, key: str = "") -> str:
    """Post as the bot; returns the message's `ts` (its id within the channel). The key
    rides in the message's metadata, so `message_find` can tell whether it was posted."""
    params: dict[str, Any] = {"channel": channel_id, "text": text, "unfurl_links": False}
    if key:
        params["metadata"] = {"event_type": POST_METADATA_TYPE, "event_payload": {"key": key}}
    data = _call(_client(token, base_url).chat_postMessage, **params)
    return str(data.get("ts") or "")


def message_find(
    *, token: str, base_url: str, channel_id: str, key: str, oldest: float
) -> str | None:
    """The `ts` of the bot's post carrying `key`, posted since `oldest` (a Unix time), or
    None: after a lost answer, whether the first attempt did post."""
    data = _call(
        _client(token, base_url).conversations_history,
        channel=channel_id,
        oldest=f"{oldest:.6f}",
        include_all_metadata=True,
        limit=200,
    )
    for message in data.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == POST_METADATA_TYPE and payload.get("key") == key:
            return str(message.get("ts") or "") or None
    return None
