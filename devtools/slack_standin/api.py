"""`StandIn`: the stand-in's state and switches as a Python API for tests, and its HTTP
face — the Web API at `/api/<method>` (any verb; the token as `Authorization: Bearer`,
form, JSON or query arguments), the OAuth authorize page and the workspace page."""

from __future__ import annotations

import email.parser
import email.policy
import http.server
import json
import secrets
import threading
import time
import urllib.parse
from typing import Any

from .events import Delivery, Events
from .faults import Fault, Faults
from .methods import SlackError, WebApi
from .pages import pages
from .state import DEFAULT_BOT_SCOPES, PLANS, Call, Channel, Code, Member, Team, Token, new_id, slug

KEY_PARAMS = ("channel", "users", "emails", "user_ids", "email", "name")


class StandIn(WebApi, Events):
    """Workspaces, the app's installs and its switches; `serve()` puts it on HTTP."""

    def __init__(
        self,
        *,
        signing_secret: str = "standin-signing-secret",
        client_id: str = "1111111111.2222222222",
        client_secret: str = "standin-client-secret",
        events_url: str | None = None,
        app_name: str = "CoachHub",
        default_scopes: tuple[str, ...] = DEFAULT_BOT_SCOPES,
        delivery_timeout: float = 10.0,
    ):
        self.signing_secret, self.client_id, self.client_secret = (
            signing_secret,
            client_id,
            client_secret,
        )
        self.events_url = events_url
        self.app_name = app_name
        self.app_id = new_id("A")
        self.verification_token = secrets.token_urlsafe(18)
        self.default_scopes = tuple(default_scopes)
        self.delivery_timeout = delivery_timeout
        self.lock = threading.RLock()
        self.base_url = ""
        self.teams: dict[str, Team] = {}
        self.tokens: dict[str, Token] = {}
        self.codes: dict[str, Code] = {}
        self.log: list[Call] = []
        self.events: dict[str, dict] = {}
        self.deliveries: list[Delivery] = []
        self.faults = Faults()
        self._effects: list[tuple[str, dict]] = []
        self._bodies: dict[str, bytes] = {}

    # --- workspaces -------------------------------------------------------------
    def team_add(
        self,
        *,
        name: str,
        plan: str = "free",
        domain: str | None = None,
        installed: bool = True,
        scopes: tuple[str, ...] | None = None,
    ) -> Team:
        """A workspace with its owner, `#general` and (unless `installed=False`) the app's bot."""
        if plan not in PLANS:
            raise ValueError(f"plan is one of {', '.join(PLANS)}")
        with self.lock:
            domain = domain or slug(name)
            taken = {team.domain for team in self.teams.values()}
            base, n = domain, 1
            while domain in taken:
                n += 1
                domain = f"{base}-{n}"
            team = Team(
                id=new_id("T"),
                name=name,
                domain=domain,
                plan=plan,
                bot_user_id=new_id("U"),
                bot_id=new_id("B"),
                owner_id="",
            )
            owner = team.member_add(f"owner@{domain}.example", "Workspace Owner")
            owner.is_owner = True
            team.owner_id = owner.id
            bot_name = slug(self.app_name).replace("-", "_")
            team.members[team.bot_user_id] = Member(
                id=team.bot_user_id,
                team_id=team.id,
                email="",
                name=bot_name,
                real_name=self.app_name,
                is_bot=True,
            )
            general = Channel(
                id=new_id("C"),
                team_id=team.id,
                name="general",
                is_private=False,
                creator=owner.id,
                is_general=True,
                members=[owner.id],
            )
            team.channels[general.id] = general
            self.teams[team.id] = team
            if installed:
                self._install(team, tuple(scopes) if scopes else self.default_scopes)
            return team

    def _install(self, team: Team, scopes: tuple[str, ...]) -> Token:
        """The app's bot token for the workspace: kept across reinstalls until revoked."""
        current = self.tokens.get(team.bot_token or "")
        if current is not None and not current.revoked:
            current.scopes = tuple(dict.fromkeys((*current.scopes, *scopes)))
            return current
        number = sum(1 for t in self.tokens.values() if t.team_id == team.id) + 1
        value = f"xoxb-{team.id[1:]}-{number}{team.bot_user_id[1:]}-{secrets.token_hex(12)}"
        token = Token(value=value, team_id=team.id, bot_user_id=team.bot_user_id, scopes=scopes)
        self.tokens[value] = token
        team.bot_token = value
        return token

    def _revoke(self, token: Token) -> None:
        """A revoked bot token stops working, and the bot leaves its channels (as Slack does)."""
        token.revoked = True
        team = self.teams[token.team_id]
        if team.bot_token == token.value:
            team.bot_token = None
        for channel in team.channels.values():
            if token.bot_user_id in channel.members:
                channel.members.remove(token.bot_user_id)

    def token_revoke(self, token: str) -> None:
        """Revoke one token quietly (no event): the next call with it answers `token_revoked`."""
        with self.lock:
            self._revoke(self.tokens[token])

    def plan_set(self, team_id: str, plan: str) -> None:
        """Change a workspace's plan (Slack Connect needs a paid one)."""
        if plan not in PLANS:
            raise ValueError(f"plan is one of {', '.join(PLANS)}")
        with self.lock:
            self.teams[team_id].plan = plan

    def channel_members(self, channel_id: str) -> list[str]:
        """The user ids in a channel (the bot included while it is there)."""
        with self.lock:
            for team in self.teams.values():
                if channel_id in team.channels:
                    return list(team.channels[channel_id].members)
        raise KeyError(channel_id)

    def channel(self, channel_id: str) -> Channel:
        with self.lock:
            for team in self.teams.values():
                if channel_id in team.channels:
                    return team.channels[channel_id]
        raise KeyError(channel_id)

    def invite_accept(self, invite_id: str) -> list[str]:
        """The invitee accepts a Slack Connect invite: an outside user joins the channel."""
        with self.lock:
            joined = []
            for team in self.teams.values():
                for invite in team.invites:
                    if invite.id != invite_id or invite.status != "pending":
                        continue
                    channel = team.channels[invite.channel_id]
                    user_id = invite.user_id or new_id("U")
                    if user_id not in channel.members:
                        channel.members.append(user_id)
                    channel.is_ext_shared = True
                    invite.status = "accepted"
                    joined.append(user_id)
            return joined

    # --- switches ---------------------------------------------------------------
    def fail_next(
        self, method: str, error: str = "already_in_channel", times: int = 1, **extra
    ) -> None:
        """The next call(s) of `method` ("*": any) answer HTTP 200 `{"ok": false, "error": …}`."""
        if error == "missing_scope":
            extra.setdefault("needed", self.scope_needed(method))
            extra.setdefault("provided", ",".join(self.default_scopes))
        with self.lock:
            self.faults.push(method, Fault("error", "fail_next", error=error, extra=extra), times)

    def rate_limit_next(self, method: str, retry_after: int = 7, times: int = 1) -> None:
        """The next call(s) of `method` answer HTTP 429 with `Retry-After: <seconds>`."""
        fault = Fault("ratelimited", "rate_limit_next", "ratelimited", 429, int(retry_after))
        with self.lock:
            self.faults.push(method, fault, times)

    def server_error_next(
        self, method: str, status: int = 503, times: int = 1, after_effect: bool = False
    ) -> None:
        """The next call(s) answer a 5xx; `after_effect=True`: the work is done, the answer lost."""
        if not 500 <= status <= 599:
            raise ValueError("a server error is a 5xx status")
        error = "service_unavailable" if status == 503 else "internal_error"
        fault = Fault("server", "server_error_next", error, status, after_effect=after_effect)
        with self.lock:
            self.faults.push(method, fault, times)

    def chaos(
        self,
        rate_limited: float = 0.0,
        retry_after: tuple[int, int] = (1, 3),
        server_errors: float = 0.0,
        seed: int | None = None,
        effect_applied: float = 0.0,
        methods: tuple[str, ...] | None = None,
    ) -> None:
        """Random faults on every call (all zero: off); the same seed, the same faults in order."""
        with self.lock:
            self.faults.chaos(
                rate_limited=rate_limited,
                retry_after=retry_after,
                server_errors=server_errors,
                seed=seed,
                effect_applied=effect_applied,
                methods=methods,
            )

    # --- what happened ----------------------------------------------------------
    def effect(self, method: str, **what: Any) -> None:
        self._effects.append((method, what))

    def effects(self, method: str | None = None) -> list[dict]:
        """What calls really changed (one entry per user added, channel made, message posted…)."""
        with self.lock:
            return [dict(what) for name, what in self._effects if method in (None, name)]

    def calls(self, method: str | None = None) -> list[Call]:
        """The request log (every Web API call, in arrival order)."""
        with self.lock:
            return [call for call in self.log if method in (None, call.method)]

    def retries_after_rate_limit(self) -> list[dict]:
        """For each 429: how long the same call waited before coming again, and what it was told."""
        with self.lock:
            log = list(self.log)
        found = []
        for index, call in enumerate(log):
            if call.status != 429:
                continue
            again = next((c for c in log[index + 1 :] if c.key == call.key), None)
            found.append(
                {
                    "method": call.method,
                    "params": call.params,
                    "retry_after": call.retry_after,
                    "waited": None if again is None else again.monotonic - call.monotonic,
                }
            )
        return found

    # --- one call -----------------------------------------------------------------
    def call(
        self, method: str, params: dict[str, Any], authorization: str = ""
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """Answer one Web API call: (HTTP status, headers, body), logged."""
        arrived, wall = time.monotonic(), time.time()
        headers: dict[str, str] = {}
        token: Token | None = None
        with self.lock:
            fault = self.faults.take(method) if method in self.KNOWN else None
            try:
                if method not in self.KNOWN:
                    raise SlackError("unknown_method", req_method=method)
                if fault is not None and not fault.after_effect:
                    raise SlackError(fault.error, **(fault.extra or {}))
                answer, token = self._run(method, params, authorization)
                if fault is not None:  # the work is done; the answer is lost
                    raise SlackError(fault.error)
                status, body = 200, {"ok": True, **answer}
            except SlackError as error:
                status = fault.status if fault is not None else 200
                body = {"ok": False, "error": error.error, **error.extra}
                if fault is not None and fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
            if token is None:
                token = self.tokens.get(authorization.removeprefix("Bearer ").strip())
            if token is not None:
                headers["X-OAuth-Scopes"] = ",".join(token.scopes)
            self.log.append(
                Call(
                    monotonic=arrived,
                    wall=wall,
                    method=method,
                    params={k: str(params[k]) for k in KEY_PARAMS if params.get(k) is not None},
                    team_id=token.team_id if token else None,
                    status=status,
                    error=None if body["ok"] else body["error"],
                    retry_after=fault.retry_after if fault else None,
                    fault=fault.source if fault else None,
                )
            )
        return status, headers, body

    # --- HTTP -------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> http.server.ThreadingHTTPServer:
        """A threading HTTP server for this stand-in (port 0: any free port); not started."""
        standin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: bytes, content_type: str, **headers):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, verb: str):
                url = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if url.path.startswith("/api/"):
                    method = url.path[len("/api/") :].strip("/")
                    try:
                        params = request_params(url.query, raw, self.headers.get("Content-Type"))
                    except SlackError as error:
                        body = json.dumps({"ok": False, "error": error.error}).encode()
                        return self._answer(200, body, "application/json; charset=utf-8")
                    status, headers, body = standin.call(
                        method, params, self.headers.get("Authorization") or ""
                    )
                    return self._answer(
                        status,
                        json.dumps(body).encode(),
                        "application/json; charset=utf-8",
                        **headers,
                    )
                form = dict(
                    urllib.parse.parse_qsl(raw.decode(errors="replace"), keep_blank_values=True)
                )
                return pages(standin, self, verb, url, form)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        server = http.server.ThreadingHTTPServer((host, port), Handler)
        self.base_url = f"http://{host}:{server.server_port}/api/"
        self.site_url = f"http://{host}:{server.server_port}"
        return server


def request_params(query: str, raw: bytes, content_type: str | None) -> dict[str, Any]:
    """A call's arguments from the query string and a form, multipart or JSON body."""
    params: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if not raw:
        return params
    kind = (content_type or "").split(";")[0].strip().lower()
    if not kind:
        raise SlackError("missing_post_type")
    if kind == "application/json":
        try:
            body = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(body, dict):
            raise SlackError("invalid_json")
        params.update(body)
    elif kind == "application/x-www-form-urlencoded":
        params.update(urllib.parse.parse_qsl(raw.decode(errors="replace"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                params[name] = (
                    part.get_content().strip() if part.get_content_maintype() == "text" else ""
                )
    else:
        raise SlackError("invalid_post_type")
    return params


def serve_forever(
    host: str = "127.0.0.1",
    port: int = 12112,
    *,
    signing_secret: str,
    client_id: str,
    client_secret: str,
    events_url: str | None,
) -> None:
    """Run a fresh stand-in with one demo workspace on host:port until interrupted."""
    standin = StandIn(
        signing_secret=signing_secret,
        client_id=client_id,
        client_secret=client_secret,
        events_url=events_url,
    )
    demo = standin.team_add(name="Demo coaching", plan="free")
    server = standin.serve(host, port)
    print(
        f"Slack stand-in on {standin.site_url} — SLACK_API_BASE={standin.base_url}\n"
        f"  workspace page   {standin.site_url}/\n"
        f"  OAuth authorize  {standin.site_url}/oauth/v2/authorize\n"
        f"  client id        {client_id}\n"
        f"  client secret    {client_secret}\n"
        f"  signing secret   {signing_secret}\n"
        f"  events URL       {events_url or '(none; set it on the workspace page)'}\n"
        f"  demo workspace   {demo.name} ({demo.id}, plan {demo.plan})\n"
        f"  demo bot token   {demo.bot_token}",
        flush=True,
    )
    server.serve_forever()
