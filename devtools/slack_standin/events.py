"""Events API deliveries as Slack makes them: the `event_callback` envelope, signed with
the app's signing secret (`X-Slack-Signature: v0=…`), POSTed to the app's Request URL,
and redelivered with `X-Slack-Retry-Num` / `X-Slack-Retry-Reason` on demand.

Deliveries are synchronous, in the caller's thread (a test, or the page's handler), and
never while the stand-in is locked, so the app may call the Web API while handling one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .state import Member, new_id

if TYPE_CHECKING:
    from .api import StandIn


def signed_headers(secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack signs a request with: HMAC-SHA256 of `v0:<timestamp>:<raw body>`."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    raw = body.encode() if isinstance(body, str) else body
    base = f"v0:{timestamp}:".encode() + raw
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/json",
    }


@dataclass
class Delivery:
    """One POST of an event to the Request URL and what the app answered (0: no answer)."""

    event_id: str
    event_type: str
    url: str
    status: int
    retry_num: int = 0
    retry_reason: str | None = None
    answer: str = ""
    at: float = field(default_factory=time.time)


class Events:
    """The envelopes, their signed delivery and redelivery; the events the page can send."""

    def _envelope(self: StandIn, team_id: str, event: dict[str, Any]) -> dict[str, Any]:
        team = self.teams[team_id]
        now = int(time.time())
        return {
            "token": self.verification_token,
            "team_id": team.id,
            "context_team_id": team.id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": new_id("Ev"),
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team.id,
                    "user_id": team.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(24),
        }

    def _post(self: StandIn, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
        if not self.events_url:
            return 0, "no Request URL set"
        request = urllib.request.Request(self.events_url, data=body, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.delivery_timeout) as response:
                return response.status, response.read(2000).decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read(2000).decode(errors="replace")
        except OSError as error:
            return 0, f"unreachable: {error}"

    def deliver(
        self: StandIn, envelope: dict[str, Any], *, retry: int = 0, reason: str = ""
    ) -> int:
        """Sign and POST an envelope now; the HTTP status the app answered (0: none)."""
        with self.lock:  # a redelivery sends the first delivery's bytes again
            body = self._bodies.setdefault(envelope["event_id"], json.dumps(envelope).encode())
        headers = signed_headers(self.signing_secret, body)
        headers["User-Agent"] = "Slackbot 1.0 (+https://api.slack.com/robots)"
        if retry:
            headers["X-Slack-Retry-Num"] = str(retry)
            headers["X-Slack-Retry-Reason"] = reason
        status, answer = self._post(body, headers)
        with self.lock:
            self.events.setdefault(envelope["event_id"], envelope)
            self.deliveries.append(
                Delivery(
                    event_id=envelope["event_id"],
                    event_type=envelope["event"]["type"],
                    url=self.events_url or "",
                    status=status,
                    retry_num=retry,
                    retry_reason=reason or None,
                    answer=answer,
                )
            )
        return status

    def event_redeliver(self: StandIn, event_id: str, reason: str = "http_timeout") -> int:
        """Send an event again, byte for byte, as Slack's retry (`X-Slack-Retry-Num` counts up)."""
        with self.lock:
            envelope = self.events[event_id]
            retry = sum(1 for d in self.deliveries if d.event_id == event_id and d.retry_num) + 1
        return self.deliver(envelope, retry=retry, reason=reason)

    # --- the events the app subscribes to ---------------------------------------
    def member_join(self: StandIn, team_id: str, email: str, name: str) -> int:
        """Someone joins the workspace: the member is added and `team_join` delivered."""
        with self.lock:
            team = self.teams[team_id]
            member: Member = team.member_add(email, name)
            event = {
                "type": "team_join",
                "user": member.as_slack(),
                "cache_ts": int(time.time()),
                "event_ts": f"{time.time():.6f}",
            }
            envelope = self._envelope(team_id, event)
        return self.deliver(envelope)

    def team_tokens_revoke(self: StandIn, team_id: str) -> int:
        """The workspace revokes the app's tokens: they stop working and `tokens_revoked` goes."""
        with self.lock:
            team = self.teams[team_id]
            for token in self.tokens.values():
                if token.team_id == team_id and not token.revoked:
                    self._revoke(token)
            event = {"type": "tokens_revoked", "tokens": {"bot": [team.bot_user_id]}}
            envelope = self._envelope(team_id, event)
        return self.deliver(envelope)

    def app_uninstall(self: StandIn, team_id: str) -> int:
        """The workspace removes the app: `tokens_revoked`, then `app_uninstalled` (its status)."""
        self.team_tokens_revoke(team_id)
        with self.lock:
            envelope = self._envelope(team_id, {"type": "app_uninstalled"})
        return self.deliver(envelope)

    def events_url_verify(self: StandIn) -> bool:
        """Slack's `url_verification` handshake: does the Request URL echo the challenge?"""
        challenge = secrets.token_urlsafe(24)
        body = json.dumps(
            {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        ).encode()
        status, answer = self._post(body, signed_headers(self.signing_secret, body))
        try:
            echoed = json.loads(answer).get("challenge") if answer.startswith("{") else answer
        except ValueError:
            echoed = None
        return status == 200 and echoed == challenge
