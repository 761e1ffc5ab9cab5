"""A local stand-in for the Slack endpoints CoachHub calls — the Web API, the OAuth v2
install and the Events API — plus a workspace page to play the workspace from.
Development and tests only: never shipped.

Slack is out of reach on these machines, so development, the tests and the benchmarks
run the real `slack_sdk.WebClient(token=…, base_url=SLACK_API_BASE)` against this server
(`SLACK_API_BASE=http://127.0.0.1:12112/api/`):

    .venv/bin/python -m devtools.slack_standin        (or: make slack-standin)

It answers with Slack's documented shapes and error codes: API errors as HTTP 200 with
`{"ok": false, "error": …}`, rate limits as HTTP 429 with `Retry-After`, server faults as
5xx, so `slack_sdk` raises `SlackApiError` exactly as it would against Slack. Workspaces
have a plan (Slack Connect, `conversations.inviteShared`, only on paid plans), members,
channels and the app's bot token; "someone joins", "remove the app" and "revoke its
tokens" deliver `team_join`, `app_uninstalled` and `tokens_revoked` to the app's Request
URL, signed as Slack signs (`X-Slack-Signature: v0=…`). Switches make the next call of a
method fail, answer 429 or 5xx, or add seeded random faults to every call; the request
log and the effects say what was asked and what really changed. State is in memory.

It is a test double, not Slack: one app, bot tokens only, no messages history API, no
real rate-limit tiers. It imports nothing from the product, so what it believes about
Slack is never shared by accident with the code under test.

    state.py      workspaces, members, channels, invites, tokens, codes, the request log
    methods.py    the Web API methods, their scopes and error codes
    events.py     event envelopes, Slack's request signing, delivery and redelivery
    faults.py     the fault switches and the seeded chaos
    api.py        `StandIn`: the Python API for tests and the HTTP server
    pages.py      the OAuth authorize page and the workspace page
"""

from .api import StandIn, request_params, serve_forever
from .events import Delivery, signed_headers
from .methods import SlackError
from .state import DEFAULT_BOT_SCOPES, PLANS, Call, Channel, Member, Team, Token

__all__ = [
    "DEFAULT_BOT_SCOPES",
    "PLANS",
    "Call",
    "Channel",
    "Delivery",
    "Member",
    "SlackError",
    "StandIn",
    "Team",
    "Token",
    "request_params",
    "serve_forever",
    "signed_headers",
]
