"""The stand-in's memory: workspaces (teams) with their members, channels, pending Slack
Connect invites and bot tokens, the one-time OAuth codes, and the request log.

Everything is in memory and lives as long as the process; `StandIn` (`api.py`) adds the
Web API (`methods.py`), the events (`events.py`) and the pages (`pages.py`) on top.
"""

from __future__ import annotations

import itertools
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any

# What a token gets when a test adds a team directly (an OAuth install gets what it asks).
DEFAULT_BOT_SCOPES = (
    "channels:manage",
    "channels:read",
    "chat:write",
    "conversations.connect:write",
    "groups:history",
    "groups:read",
    "groups:write",
    "users:read",
    "users:read.email",
)
# Plans with Slack Connect (conversations.inviteShared); a free workspace gets `not_paid`.
PAID_PLANS = ("pro", "business+", "enterprise")
PLANS = ("free", *PAID_PLANS)

_ALPHABET = string.ascii_uppercase + string.digits
_counter = itertools.count(1)


def new_id(prefix: str, length: int = 10) -> str:
    """An id shaped like Slack's (`T…`, `U…`, `C…`, `Ev…`): prefix and upper-case alphanumerics."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_ts() -> str:
    """A message timestamp as Slack writes it (`1700000000.000100`), unique in the process."""
    return f"{int(time.time())}.{next(_counter):06d}"


def slug(name: str) -> str:
    """A workspace domain made from its name (`Acme coaching` → `acme-coaching`)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workspace"


@dataclass
class Member:
    """A person (or the app's bot user) in a workspace."""

    id: str
    team_id: str
    email: str
    name: str
    real_name: str
    is_bot: bool = False
    is_owner: bool = False
    deleted: bool = False
    updated: int = field(default_factory=lambda: int(time.time()))

    def as_slack(self) -> dict[str, Any]:
        """The user object as `users.lookupByEmail` and `team_join` show it."""
        first, _, last = self.real_name.partition(" ")
        profile = {
            "title": "",
            "phone": "",
            "skype": "",
            "real_name": self.real_name,
            "real_name_normalized": self.real_name,
            "display_name": self.name,
            "display_name_normalized": self.name,
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": "g" + secrets.token_hex(6)[:11],
            "first_name": first,
            "last_name": last,
            "image_24": "",
            "image_48": "",
            "image_72": "",
            "team": self.team_id,
        }
        if not self.is_bot:
            profile["email"] = self.email
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": self.is_owner,
            "is_owner": self.is_owner,
            "is_primary_owner": self.is_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": self.updated,
            "is_email_confirmed": not self.is_bot,
        }


@dataclass
class Channel:
    """A channel; `members` holds user ids (external Slack Connect guests included)."""

    id: str
    team_id: str
    name: str
    is_private: bool
    creator: str
    created: int = field(default_factory=lambda: int(time.time()))
    is_general: bool = False
    is_archived: bool = False
    members: list[str] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    is_ext_shared: bool = False

    def as_slack(self, *, num_members: bool = False) -> dict[str, Any]:
        """The conversation object as `conversations.create` / `.info` / `.invite` answer it."""
        shown = {
            "id": self.id,
            "name": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "created": self.created,
            "is_archived": self.is_archived,
            "is_general": self.is_general,
            "unlinked": 0,
            "name_normalized": self.name,
            "is_shared": self.is_ext_shared,
            "is_org_shared": False,
            "is_ext_shared": self.is_ext_shared,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team_id,
            "updated": self.created * 1000,
            "parent_conversation": None,
            "creator": self.creator,
            "shared_team_ids": [self.team_id],
            "pending_connected_team_ids": [],
            "is_member": True,
            "last_read": "0000000000.000000",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
            "priority": 0,
        }
        if num_members:
            shown["num_members"] = len(self.members)
        return shown


@dataclass
class Token:
    """A bot token of one install; revoked tokens answer `token_revoked`."""

    value: str
    team_id: str
    bot_user_id: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class Invite:
    """A Slack Connect invite sent by `conversations.inviteShared`, pending until accepted."""

    id: str
    team_id: str
    channel_id: str
    email: str | None
    user_id: str | None
    created: int = field(default_factory=lambda: int(time.time()))
    status: str = "pending"  # or "accepted"


@dataclass
class Code:
    """A one-time OAuth code from the authorize page, exchanged at `oauth.v2.access`."""

    value: str
    team_id: str
    scopes: tuple[str, ...]
    redirect_uri: str | None
    client_id: str
    expires: float
    used: bool = False


@dataclass
class Team:
    """A workspace: its plan, people, channels, invites and the app's bot there."""

    id: str
    name: str
    domain: str
    plan: str
    bot_user_id: str
    bot_id: str
    owner_id: str
    members: dict[str, Member] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    invites: list[Invite] = field(default_factory=list)
    bot_token: str | None = None  # the current install's token (None when not installed)

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"

    @property
    def connect_allowed(self) -> bool:
        return self.plan in PAID_PLANS

    def member_add(self, email: str, name: str) -> Member:
        """Someone joins the workspace quietly (no event; `StandIn.member_join` sends one)."""
        existing = self.member_by_email(email)
        if existing is not None:
            return existing
        handle = slug(email.split("@")[0]).replace("-", ".")
        member = Member(
            id=new_id("U"), team_id=self.id, email=email.strip(), name=handle, real_name=name
        )
        self.members[member.id] = member
        return member

    def member_by_email(self, email: str) -> Member | None:
        wanted = email.strip().lower()
        for member in self.members.values():
            if not member.is_bot and member.email.lower() == wanted:
                return member
        return None

    def channel_by_name(self, name: str) -> Channel | None:
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        return None


@dataclass
class Call:
    """One Web API request as answered: what a benchmark or a test reads back."""

    monotonic: float
    wall: float
    method: str
    params: dict[str, str]  # the key ones: channel, users, emails, user_ids, email, name
    team_id: str | None
    status: int
    error: str | None
    retry_after: int | None
    fault: str | None  # "fail_next", "rate_limit_next", "server_error_next", "chaos" or None

    @property
    def key(self) -> tuple:
        """The call's identity for "the same call again": method and key parameters."""
        return (self.method, tuple(sorted(self.params.items())))
