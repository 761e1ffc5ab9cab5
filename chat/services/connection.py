"""A practice's Slack workspace: "Add to Slack" (OAuth v2 through slack_sdk's own flow
pieces), a pasted bot token of the practice's own app, what the workspace's plan allows,
and disconnecting. Tokens are stored encrypted and never written to audit data or logs."""

from __future__ import annotations

import logging
import re
import urllib.parse

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import dateformat, timezone
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import Bot

from coachhub.audit import audit_record, model_update
from coachhub.calls import call_recorded
from coachhub.models import CallProvider, Practice, User
from coachhub.permissions import require
from coachhub.tenancy import membership_of, scopes_disabled
from integrations.errors import FailureKind, IntegrationError
from integrations.slack import client as slack_api

from ..models import ConnectionMethod, ConnectionStatus, SlackConnection
from ..slack_stores import PracticeInstallationStore, PracticeOAuthStateStore
from .channels import channels_left_behind

logger = logging.getLogger(__name__)

ABILITY = "integrations.manage"
BOT_TOKEN_PATTERN = re.compile(r"^xoxb-[A-Za-z0-9-]+$")
SIGNING_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,}$")
INVITE_LINK_HOSTS = ("join.slack.com",)

INSTALL_SETTINGS = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
ALL_SETTINGS = (*INSTALL_SETTINGS, "SLACK_SIGNING_SECRET")


def slack_settings_missing() -> list[str]:
    """The operator's Slack app settings that are not set (all three: no "Add to Slack")."""
    return [name for name in ALL_SETTINGS if not getattr(settings, name, "")]


def slack_install_available() -> bool:
    """Whether the operator configured a Slack app that "Add to Slack" can install: without
    its signing secret the install would work but no event (someone joining) would."""
    return not slack_settings_missing()


def _named(names: list[str]) -> str:
    """["A", "B", "C"] → "A, B and C"."""
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


def slack_authorize_url_base() -> str:
    """Slack's authorize page beside its Web API: `…/api/` → `…/oauth/v2/authorize`."""
    root = settings.SLACK_API_BASE.rstrip("/").removesuffix("/api")
    return f"{root}/oauth/v2/authorize"


def slack_scopes_missing(connection: SlackConnection) -> list[str]:
    """The bot scopes CoachHub needs that this token lacks (none known: none reported)."""
    granted = {scope.strip() for scope in connection.scopes.split(",") if scope.strip()}
    if not granted:
        return []
    return [scope for scope in slack_api.BOT_SCOPES if scope not in granted]


def slack_connection_of(practice: Practice) -> SlackConnection | None:
    return SlackConnection.objects.filter(practice=practice).first()


def _trouble(error: IntegrationError, *, outcome: str) -> str:
    """A failed Slack call in words: what happened, that `outcome`, and what to do."""
    logger.warning("Slack call failed (%s, %s): %s", error.kind, error.code, error)
    if error.kind == FailureKind.UNREACHABLE:
        return (
            f"Slack could not be reached from this server; {outcome}. Please try again in a "
            "moment; if it keeps happening, this server's connection to Slack is down."
        )
    if error.kind == FailureKind.PROVIDER_FAULT:
        return (
            f"Slack had a problem answering (it may be busy); {outcome}. "
            "Please try again in a few minutes."
        )
    return f"Slack refused ({error.code or error}); {outcome}."


def _recorded(practice: Practice, operation: str, call, **params):
    """One Slack call made before there is a connection to call through, logged."""
    with call_recorded(practice_id=practice.pk, provider=CallProvider.SLACK, operation=operation):
        return call(base_url=settings.SLACK_API_BASE, **params)


# --- "Add to Slack" -------------------------------------------------------------


def slack_install_start(*, practice: Practice, actor: User, redirect_uri: str) -> str:
    """The URL of Slack's install page for the operator's app, with a fresh `state`."""
    require(membership_of(practice, actor), ABILITY)
    if not slack_install_available():
        missing = slack_settings_missing()
        raise ValidationError(
            "“Add to Slack” needs the operator's Slack app, and "
            f"{_named(missing)} {'is' if len(missing) == 1 else 'are'} not set on this "
            "server. Paste a bot token of your own Slack app instead."
        )
    store = PracticeOAuthStateStore(practice=practice, user=actor)
    with transaction.atomic(durable=True):
        state = store.issue()
        audit_record(practice=practice, actor=actor, action="slack.install_start", obj=store.issued)
    generator = AuthorizeUrlGenerator(
        client_id=settings.SLACK_CLIENT_ID,
        scopes=list(slack_api.BOT_SCOPES),
        redirect_uri=redirect_uri,
        authorization_url=slack_authorize_url_base(),
    )
    return generator.generate(state)


def _exchange_refusal(error: IntegrationError, redirect_uri: str) -> str:
    if error.code in ("invalid_code", "code_already_used", "code_expired"):
        return (
            "Slack did not accept the install code (it expired or was already used), so "
            "nothing was connected. Start again with “Add to Slack”."
        )
    if error.code == "bad_redirect_uri":
        return (
            "Slack refused the install because the redirect URL does not match the Slack "
            f"app's: add {redirect_uri} to the app's Redirect URLs (OAuth & Permissions), "
            "then start again. Nothing was connected."
        )
    if error.code in ("invalid_client_id", "bad_client_secret", "invalid_client"):
        return (
            "Slack refused this server's app credentials (SLACK_CLIENT_ID / "
            "SLACK_CLIENT_SECRET do not belong to one Slack app), so nothing was connected. "
            "The operator must correct them; until then, paste a bot token instead."
        )
    return _trouble(error, outcome="nothing was connected")


def slack_install_finish(
    *,
    practice: Practice,
    actor: User,
    code: str,
    state: str,
    redirect_uri: str,
    error: str = "",
) -> SlackConnection:
    """Slack's answer to "Add to Slack": the state spent, the code exchanged for the bot
    token, and the install saved through the installation store (replacing any old one)."""
    require(membership_of(practice, actor), ABILITY)
    with transaction.atomic(durable=True):
        PracticeOAuthStateStore(practice=practice, user=actor).consume_or_refuse(state)
    if error == "access_denied":
        raise ValidationError(
            "The Slack install was cancelled on Slack's page (or the workspace refused the "
            "app), so nothing was connected. Click “Add to Slack” to try again."
        )
    if error:
        raise ValidationError(
            f"Slack did not install the app ({error}), so nothing was connected. "
            "Click “Add to Slack” to try again."
        )
    if not code:
        raise ValidationError(
            "Slack sent no install code back, so nothing was connected. Start again with "
            "“Add to Slack”."
        )
    if not slack_install_available():
        raise ValidationError(
            "This server no longer has the operator's Slack app configured (SLACK_CLIENT_ID, "
            "SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET), so the install cannot be "
            "finished. Paste a bot token."
        )
    try:
        installed = _recorded(
            practice,
            "oauth.v2.access",
            slack_api.oauth_access,
            client_id=settings.SLACK_CLIENT_ID,
            client_secret=settings.SLACK_CLIENT_SECRET,
            code=code,
            redirect_uri=redirect_uri,
        )
        # oauth.v2.access names no bot id or workspace URL; auth.test with the new token does.
        identity = _recorded(practice, "auth.test", slack_api.auth_test, token=installed.bot_token)
    except IntegrationError as failure:
        raise ValidationError(_exchange_refusal(failure, redirect_uri)) from None
    if not installed.bot_token:
        raise ValidationError(
            "Slack installed the app without a bot token (the app asks for no bot scopes), "
            "so nothing was connected. The operator must add the bot scopes to the app."
        )
    store = PracticeInstallationStore(
        practice=practice, actor=actor, method=ConnectionMethod.OAUTH, team_url=identity.team_url
    )
    bot = Bot(
        app_id=installed.app_id,
        team_id=installed.team_id or identity.team_id,
        team_name=installed.team_name or identity.team_name,
        bot_token=installed.bot_token,
        bot_id=identity.bot_id,
        bot_user_id=installed.bot_user_id or identity.bot_user_id,
        bot_scopes=installed.scopes,
        installed_at=timezone.now().timestamp(),
    )
    return _connection_save(practice=practice, actor=actor, store=store, bot=bot)


def _connection_save(
    *, practice: Practice, actor: User, store: PracticeInstallationStore, bot: Bot
) -> SlackConnection:
    with transaction.atomic(durable=True):
        previous = slack_connection_of(practice)
        was = (previous.status, previous.team_id) if previous else ("", "")
        store.save_bot(bot)
        connection = store.saved
        if previous and previous.team_id and previous.team_id != connection.team_id:
            # Another workspace: its plan is not known, and the old channels are not in it.
            model_update(
                instance=connection,
                data={"slack_connect_allowed": False, "invite_link": ""},
                fields=["slack_connect_allowed", "invite_link"],
                actor=actor,
                action="slack.plan_reset",
                practice=practice,
            )
            channels_left_behind(
                practice_id=practice.pk,
                team_id=connection.team_id,
                former_name=previous.team_name or previous.team_id,
            )
        # Never the token or the secret: which workspace, how, and with what permissions.
        audit_record(
            practice=practice,
            actor=actor,
            action="slack.reconnect" if previous else "slack.connect",
            obj=connection,
            method=connection.method,
            team_id=connection.team_id,
            team_name=connection.team_name,
            scopes=connection.scopes,
            previous_status=was[0],
            previous_team_id=was[1],
        )
    return connection


# --- a pasted token of the practice's own app ------------------------------------


def slack_token_connect(
    *, practice: Practice, actor: User, bot_token: str, signing_secret: str
) -> SlackConnection:
    """Connect with a bot token of the practice's own Slack app, checked with auth.test."""
    require(membership_of(practice, actor), ABILITY)
    bot_token, signing_secret = (bot_token or "").strip(), (signing_secret or "").strip()
    errors: dict[str, str] = {}
    if not bot_token.startswith("xoxb-"):
        errors["bot_token"] = (
            "Paste the app's Bot User OAuth Token (it starts with xoxb-), from the Slack "
            "app's OAuth & Permissions page. User tokens (xoxp-) and app tokens (xapp-) "
            "cannot be used."
        )
    elif not BOT_TOKEN_PATTERN.match(bot_token):
        errors["bot_token"] = "A bot token has only letters, digits and dashes after xoxb-."
    if not SIGNING_SECRET_PATTERN.match(signing_secret):
        errors["signing_secret"] = (
            "Paste the app's Signing Secret (Basic Information → App Credentials): CoachHub "
            "needs it to trust the events your app sends, such as someone joining."
        )
    if errors:
        raise ValidationError(errors)
    try:
        identity = _recorded(practice, "auth.test", slack_api.auth_test, token=bot_token)
    except IntegrationError as error:
        if error.kind == FailureKind.KEY_REFUSED:
            logger.warning("Slack refused a pasted token (%s)", error.code)
            raise ValidationError(
                {
                    "bot_token": (
                        f"Slack refused this token ({error.code or 'invalid_auth'}): it is not "
                        "a valid token, or it was revoked. Nothing was saved. Copy the Bot "
                        "User OAuth Token again from your Slack app (reinstall the app to "
                        "the workspace if it was removed)."
                    )
                }
            ) from None
        raise ValidationError(_trouble(error, outcome="nothing was saved")) from None
    if not identity.bot_id:
        raise ValidationError(
            {"bot_token": "Slack says this token is not a bot's; paste the Bot User OAuth Token."}
        )
    store = PracticeInstallationStore(
        practice=practice,
        actor=actor,
        method=ConnectionMethod.PASTED,
        signing_secret=signing_secret,
        team_url=identity.team_url,
    )
    bot = Bot(
        team_id=identity.team_id,
        team_name=identity.team_name,
        bot_token=bot_token,
        bot_id=identity.bot_id,
        bot_user_id=identity.bot_user_id,
        bot_scopes=identity.scopes,
        installed_at=timezone.now().timestamp(),
    )
    return _connection_save(practice=practice, actor=actor, store=store, bot=bot)


# --- what the workspace allows --------------------------------------------------


def invite_link_problem(link: str) -> str:
    """Why this is not a workspace invite link ("" when it looks like one)."""
    not_slack = (
        "That is not a Slack invite link: it starts with https://join.slack.com/t/… "
        "(Slack → the workspace name → Invite people → Copy invite link)."
    )
    if not link.isprintable() or any(char.isspace() for char in link):
        return not_slack
    try:
        parts = urllib.parse.urlsplit(link)
        host = (parts.hostname or "").lower()
    except ValueError:  # "https://[join…": an unclosed bracket is not an address
        return not_slack
    if parts.scheme != "https":
        return "The invite link must be an https:// address."
    if host not in INVITE_LINK_HOSTS and not host.endswith(".slack.com"):
        return not_slack
    if "/shared_invite/" not in parts.path:
        return (
            "That Slack address is not an invite link: copy it from Slack → the workspace "
            "name → Invite people → Copy invite link (…/shared_invite/…)."
        )
    return ""


def slack_plan_set(
    *, practice: Practice, actor: User, slack_connect_allowed: bool, invite_link: str
) -> SlackConnection:
    """Say what the workspace's plan allows, which decides how clients are invited."""
    require(membership_of(practice, actor), ABILITY)
    invite_link = (invite_link or "").strip()
    with transaction.atomic(durable=True):
        connection = slack_connection_of(practice)
        if connection is None or not connection.bot_token:
            raise ValidationError("Connect a Slack workspace first.")
        if invite_link and (problem := invite_link_problem(invite_link)):
            raise ValidationError({"invite_link": problem})
        if not slack_connect_allowed and not invite_link:
            raise ValidationError(
                {
                    "invite_link": (
                        "Without Slack Connect, clients who are not already members of the "
                        "workspace cannot be invited to their channel unless CoachHub can "
                        "e-mail them the workspace's invite link: paste it here."
                    )
                }
            )
        model_update(
            instance=connection,
            data={"slack_connect_allowed": slack_connect_allowed, "invite_link": invite_link},
            fields=["slack_connect_allowed", "invite_link"],
            actor=actor,
            action="slack.plan_set",
            practice=practice,
        )
    return connection


# --- disconnecting ---------------------------------------------------------------


def _token_shared(connection: SlackConnection) -> bool:
    """Whether another practice works through the same bot in the same workspace (the
    same install, so the same token): revoking it would cut that practice off too."""
    with scopes_disabled():
        return (
            SlackConnection.objects.filter(
                team_id=connection.team_id,
                bot_user_id=connection.bot_user_id,
                status=ConnectionStatus.CONNECTED,
            )
            .exclude(practice_id=connection.practice_id)
            .exists()
        )


def slack_disconnect(*, practice: Practice, actor: User) -> SlackConnection:
    """Revoke the token with Slack (best effort), then keep the connection as broken and
    tokenless, so the channels and invites it made stay linked to their workspace."""
    require(membership_of(practice, actor), ABILITY)
    connection = slack_connection_of(practice)
    if connection is None or not connection.bot_token:
        raise ValidationError("Slack is not connected, so there is nothing to disconnect.")
    revoked = "not asked (another practice uses the same install)"
    if not _token_shared(connection):
        try:
            _recorded(practice, "auth.revoke", slack_api.auth_revoke, token=connection.bot_token)
        except IntegrationError as error:
            # The token is wiped here either way; Slack's own copy expires with the app.
            logger.warning("Slack auth.revoke failed (%s): %s", error.code, error)
            revoked = f"failed ({error.code or error.kind})"
        else:
            revoked = "yes"
    on = dateformat.format(timezone.localtime(timezone.now(), practice.zone), "j F Y")
    reason = f"Disconnected by {actor.display_name} on {on}; connect again to resume."
    with transaction.atomic(durable=True):
        store = PracticeInstallationStore(practice=practice, actor=actor, reason=reason)
        store.delete_bot(enterprise_id=None, team_id=connection.team_id)
        connection = store.saved or connection
        audit_record(
            practice=practice,
            actor=actor,
            action="slack.disconnect",
            obj=connection,
            team_id=connection.team_id,
            revoked=revoked,
        )
    return connection
