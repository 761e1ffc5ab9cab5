"""The stand-in's web pages: Slack's OAuth authorize page ("CoachHub wants to join …",
Allow / Cancel) and the workspace page, where a developer plays the workspace — plans,
members, channels, pending Slack Connect invites, someone joining, the app removed, the
fault switches and the recent requests. Plain HTML, everything escaped."""

from __future__ import annotations

import html
import urllib.parse
from typing import TYPE_CHECKING

from .methods import listed
from .state import PLANS

if TYPE_CHECKING:
    from .api import StandIn

esc = html.escape
CHAOS_OFF = (
    '<form method="post" action="/workspace" class="inline">'
    '<button class="secondary" name="action" value="chaos_off">Turn off</button></form>'
)


def page(title: str, body: str) -> bytes:
    """A page in the stand-in's look, always labelled as a local test double."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{esc(title)}</title>
<style>
body{{font:15px system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1c1d}}
.card{{border:1px solid #ddd;border-radius:8px;padding:1rem 1.25rem;margin:1rem 0}}
button{{background:#4a154b;color:#fff;border:0;border-radius:6px;padding:.45rem 1rem;
  cursor:pointer}}
button.secondary{{background:#fff;color:#4a154b;border:1px solid #4a154b}}
.note{{color:#616061;font-size:.9rem}} code{{background:#f4f4f4;padding:.1rem .3rem}}
table{{border-collapse:collapse;width:100%}}
td,th{{text-align:left;padding:.25rem;border-bottom:1px solid #eee}}
form.inline{{display:inline}}
</style></head><body><p class="note">Slack stand-in (local test double; not Slack)</p>
{body}</body></html>""".encode()


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query string."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def authorize(standin: StandIn, handler, verb: str, query: dict, form: dict) -> None:
    """`/oauth/v2/authorize`: the install page; Allow redirects with a code, Cancel an error."""
    send = lambda status, body: handler._answer(status, body, "text/html; charset=utf-8")  # noqa: E731
    asked = form if verb == "POST" else query
    client_id = asked.get("client_id", "")
    redirect_uri = asked.get("redirect_uri", "")
    state = asked.get("state", "")
    scope = asked.get("scope", "")
    if client_id != standin.client_id:
        return send(400, page("Slack", "<h1>Invalid client_id parameter</h1>"))
    if not redirect_uri.startswith(("http://", "https://")):
        return send(400, page("Slack", "<h1>Missing or bad redirect_uri parameter</h1>"))
    if verb == "POST":
        if form.get("decision") != "allow":
            return handler._answer(
                302,
                b"",
                "text/plain",
                Location=with_query(redirect_uri, error="access_denied", state=state),
            )
        team_id = form.get("team", "")
        if team_id == "new" or team_id not in standin.teams:
            name = (form.get("new_name") or "").strip() or "New workspace"
            team_id = standin.team_add(name=name, installed=False).id
        code = standin.oauth_code(team_id, scopes=scope or None, redirect_uri=redirect_uri)
        return handler._answer(
            302, b"", "text/plain", Location=with_query(redirect_uri, code=code, state=state)
        )
    teams = "".join(
        f'<option value="{esc(t.id)}">{esc(t.name)} '
        f"({esc(t.domain)}.slack.com, {esc(t.plan)})</option>"
        for t in standin.teams.values()
    )
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in query.items()
    )
    scopes = "".join(f"<li><code>{esc(s)}</code></li>" for s in listed(scope.replace(" ", ",")))
    first = next(iter(standin.teams.values()), None)
    title = f"{standin.app_name} wants to join {first.name if first else 'your workspace'}"
    body = f"""<h1>{esc(title)}</h1><div class="card">
<form method="post">{hidden}
<p><label>Workspace <select name="team">{teams}
<option value="new">New workspace…</option></select></label>
<input name="new_name" placeholder="New workspace name"></p>
<p>It will be able to:</p><ul>{scopes or "<li>(no scopes asked)</li>"}</ul>
<button name="decision" value="allow">Allow</button>
<button class="secondary" name="decision" value="cancel">Cancel</button></form></div>"""
    return send(200, page(title, body))


def act(standin: StandIn, form: dict) -> None:
    """One action from the workspace page's forms."""
    action, team_id = form.get("action"), form.get("team", "")
    if action == "events_url":
        standin.events_url = form.get("url", "").strip() or None
    elif action == "team_add":
        standin.team_add(
            name=form.get("name", "").strip() or "New workspace", plan=form.get("plan", "free")
        )
    elif action == "plan":
        standin.plan_set(team_id, form.get("plan", "free"))
    elif action == "member_add":
        with standin.lock:
            standin.teams[team_id].member_add(form["email"].strip(), form.get("name", "").strip())
    elif action == "member_join":
        standin.member_join(team_id, form["email"].strip(), form.get("name", "").strip())
    elif action == "tokens_revoked":
        standin.team_tokens_revoke(team_id)
    elif action == "app_uninstalled":
        standin.app_uninstall(team_id)
    elif action == "invite_accept":
        standin.invite_accept(form.get("invite", ""))
    elif action == "redeliver":
        standin.event_redeliver(form.get("event", ""))
    elif action == "fault":
        method, kind = form.get("method", "").strip(), form.get("kind", "")
        seconds = int(form.get("seconds") or 7)
        if kind == "429":
            standin.rate_limit_next(method, retry_after=seconds)
        elif kind in ("500", "503"):
            standin.server_error_next(method, status=int(kind))
        elif kind:
            standin.fail_next(method, error=kind)
    elif action == "chaos_off":
        standin.chaos()


def workspace(standin: StandIn) -> bytes:
    """The workspace page: everything the stand-in holds, and the forms that change it."""
    cards = []
    for team in standin.teams.values():
        hidden = f'<input type="hidden" name="team" value="{esc(team.id)}">'
        plans = "".join(
            f"<option{' selected' if p == team.plan else ''}>{esc(p)}</option>" for p in PLANS
        )
        people = "".join(
            f"<tr><td>{esc(m.id)}</td><td>{esc(m.real_name)}</td>"
            f"<td>{esc(m.email or '(bot)')}</td></tr>"
            for m in team.members.values()
        )
        channels = "".join(
            f"<tr><td>{esc(c.id)}</td><td>{'🔒 ' if c.is_private else '#'}{esc(c.name)}</td>"
            f"<td>{esc(', '.join(c.members))}</td><td>{len(c.messages)} messages</td></tr>"
            for c in team.channels.values()
        )
        invites = "".join(
            f"<tr><td>{esc(i.id)}</td><td>{esc(i.email or i.user_id or '')}</td>"
            f"<td>{esc(i.channel_id)}</td>"
            f"<td>{esc(i.status)}</td><td>"
            + (
                f'<form method="post" action="/workspace" class="inline">{hidden}'
                f'<input type="hidden" name="invite" value="{esc(i.id)}">'
                f'<button name="action" value="invite_accept">Accept as the invitee</button></form>'
                if i.status == "pending"
                else ""
            )
            + "</td></tr>"
            for i in team.invites
        )
        token = standin.tokens.get(team.bot_token or "")
        cards.append(
            f"""<div class="card"><h2>{esc(team.name)}
<small>{esc(team.id)} · {esc(team.domain)}.slack.com</small></h2>
<form method="post" action="/workspace">{hidden}<input type="hidden" name="action" value="plan">
Plan <select name="plan">{plans}</select> <button class="secondary">Set plan</button>
<span class="note">Slack Connect: {"yes" if team.connect_allowed else "no (not_paid)"}</span></form>
<p>Bot token: <code>{esc(token.value) if token else "(not installed or revoked)"}</code>
{f'<span class="note">scopes {esc(",".join(token.scopes))}</span>' if token else ""}</p>
<h3>Members</h3><table>{people}</table>
<form method="post" action="/workspace">{hidden}
<input name="email" placeholder="e-mail" required> <input name="name" placeholder="name">
<button name="action" value="member_join">Someone joins the workspace (team_join)</button>
<button class="secondary" name="action" value="member_add">Add quietly</button></form>
<h3>Channels</h3><table>{channels}</table>
<h3>Slack Connect invites</h3><table>{invites or "<tr><td>None sent.</td></tr>"}</table>
<h3>The app</h3><form method="post" action="/workspace">{hidden}
<button class="secondary" name="action" value="tokens_revoked">
Revoke its tokens (tokens_revoked)</button>
<button class="secondary" name="action" value="app_uninstalled">
Remove the app (app_uninstalled)</button></form></div>"""
        )
    faults = "".join(
        f"<li><code>{esc(method)}</code>: {esc(f.kind)} {esc(f.error)}"
        f"{f' Retry-After {f.retry_after}' if f.retry_after is not None else ''}</li>"
        for method, f in standin.faults.pending()
    )
    chaos = standin.faults.chaos_settings
    log = "".join(
        f"<tr><td>{c.wall:.3f}</td><td>{esc(c.method)}</td><td>{esc(str(c.params))}</td>"
        f"<td>{c.status}</td><td>{esc(c.error or 'ok')}</td>"
        f"<td>{c.retry_after if c.retry_after is not None else ''}</td>"
        f"<td>{esc(c.fault or '')}</td></tr>"
        for c in reversed(standin.log[-30:])
    )
    deliveries = "".join(
        f"<tr><td>{esc(d.event_id)}</td><td>{esc(d.event_type)}</td>"
        f"<td>{d.status or 'no answer'}</td><td>{d.retry_num or ''}</td><td>"
        f'<form method="post" action="/workspace" class="inline">'
        f'<input type="hidden" name="event" value="{esc(d.event_id)}">'
        f'<button class="secondary" name="action" value="redeliver">Redeliver</button>'
        f"</form></td></tr>"
        for d in reversed(standin.deliveries[-15:])
    )
    all_plans = "".join(f"<option>{esc(p)}</option>" for p in PLANS)
    methods = "".join(f"<option>{esc(m)}</option>" for m in ("*", *standin.KNOWN))
    body = f"""<h1>Slack stand-in</h1>
<div class="card"><h2>The app</h2>
<p>Web API <code>{esc(standin.base_url)}</code> · client id <code>{esc(standin.client_id)}</code> ·
signing secret <code>{esc(standin.signing_secret)}</code></p>
<form method="post" action="/workspace"><input type="hidden" name="action" value="events_url">
Request URL for events <input name="url" size="50" value="{esc(standin.events_url or "")}">
<button class="secondary">Save</button></form>
<form method="post" action="/workspace"><input type="hidden" name="action" value="team_add">
<input name="name" placeholder="Workspace name" required>
<select name="plan">{all_plans}</select>
<button class="secondary">Add a workspace</button></form></div>
{"".join(cards)}
<div class="card"><h2>Faults</h2>
<form method="post" action="/workspace"><input type="hidden" name="action" value="fault">
Next call of <select name="method">{methods}</select> answers
<select name="kind"><option value="429">429 Retry-After</option><option value="503">503</option>
<option value="500">500</option><option>already_in_channel</option><option>name_taken</option>
<option>missing_scope</option><option>channel_not_found</option><option>users_not_found</option></select>
<input name="seconds" size="3" value="7"> s <button>Set</button></form>
<ul>{faults or "<li>None queued.</li>"}</ul>
<p>Chaos: {esc(str(chaos)) if chaos else "off"}
{CHAOS_OFF if chaos else ""}</p></div>
<div class="card"><h2>Event deliveries</h2>
<table>{deliveries or "<tr><td>None yet.</td></tr>"}</table></div>
<div class="card"><h2>Recent requests</h2><table><tr><th>at</th><th>method</th><th>params</th>
<th>HTTP</th><th>answer</th><th>Retry-After</th><th>fault</th></tr>{log}</table></div>"""
    return page("Slack stand-in", body)


def pages(standin: StandIn, handler, verb: str, url, form: dict) -> None:
    """Answer a non-API request: the authorize page, the workspace page and its actions."""
    query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
    if url.path.rstrip("/") == "/oauth/v2/authorize":
        return authorize(standin, handler, verb, query, form)
    if url.path == "/workspace" and verb == "POST":
        try:
            act(standin, form)
        except (KeyError, ValueError) as error:
            return handler._answer(
                400,
                page("Stand-in", f"<p>Bad request: {esc(str(error))}</p>"),
                "text/html; charset=utf-8",
            )
        return handler._answer(303, b"", "text/plain", Location="/")
    if url.path == "/" and verb == "GET":
        with standin.lock:
            body = workspace(standin)
        return handler._answer(200, body, "text/html; charset=utf-8")
    return handler._answer(404, page("Stand-in", "<p>Not found.</p>"), "text/html; charset=utf-8")
