"""The Integrations page: every outside service the practice uses and its state in plain
words, and connecting, adjusting and disconnecting the Slack workspace (owners only)."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from billing import services as billing_services
from chat import services
from chat.models import ConnectionStatus
from coachhub.calls import calls_recent
from coachhub.links import absolute
from coachhub.permissions import can
from coachhub.tenancy import ability_required, member_required
from integrations.slack.client import BOT_SCOPES
from sessions_app.models import ExternalCalendar
from web.dashboard.integration_forms import SlackPlanForm, SlackTokenForm
from web.dashboard.pages import flash_errors
from web.dashboard.slack_posts import slack_posts_form
from web.forms import apply_validation_error

# Slack's Request URL for events (the events receiver, web/webhooks/slack.py).
SLACK_EVENTS_PATH = "/slack/events/"
SLACK_EVENTS = ("team_join", "app_uninstalled", "tokens_revoked")
# What Slack puts in the callback's query: an install code, or an error such as
# "access_denied". Anything else (a NUL, a megabyte) is cut down before it goes further.
SLACK_CODE = re.compile(r"[^A-Za-z0-9._-]")
SLACK_ERROR = re.compile(r"[^a-z0-9_]")


def slack_redirect_uri() -> str:
    """Where Slack sends the owner back after "Add to Slack" (the app's Redirect URL)."""
    return absolute(reverse("slack_callback"))


def email_delivery() -> tuple[str, bool]:
    """How this server sends e-mail, in words, and whether messages really leave it."""
    backend = settings.EMAIL_BACKEND
    if backend.endswith("console.EmailBackend"):
        return (
            "Development mode: e-mails are printed on the server's console, not sent. "
            "The operator sets EMAIL_URL (smtp://…) to send them.",
            False,
        )
    if backend.endswith("locmem.EmailBackend"):
        return "Test mode: e-mails are kept in memory, not sent.", False
    if backend.endswith("filebased.EmailBackend"):
        return (
            f"E-mails are written as files to {getattr(settings, 'EMAIL_FILE_PATH', '?')}, "
            "not sent.",
            False,
        )
    if backend.endswith("smtp.EmailBackend"):
        return (
            f"Sent through the mail server {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
            f"{' (TLS)' if settings.EMAIL_USE_TLS or settings.EMAIL_USE_SSL else ''}, "
            f"from {settings.DEFAULT_FROM_EMAIL}.",
            True,
        )
    return f"Sent by {backend}, from {settings.DEFAULT_FROM_EMAIL}.", True


def _page(
    request: HttpRequest,
    *,
    token_form: SlackTokenForm | None = None,
    plan_form: SlackPlanForm | None = None,
) -> HttpResponse:
    practice, membership = request.practice, request.membership
    connection = services.slack_connection_of(practice)
    if plan_form is None and connection is not None:
        plan_form = SlackPlanForm(
            initial={
                "slack_connect_allowed": connection.slack_connect_allowed,
                "invite_link": connection.invite_link,
            }
        )
    # The call log names every client's e-mail address: only those who manage see it.
    manage = can(membership, "integrations.manage")
    email_words, email_sent = email_delivery()
    calendars = ExternalCalendar.objects.filter(practice=practice).select_related("coach")
    return render(
        request,
        "integrations/integrations.html",
        {
            "manage": manage,
            "stripe_account": billing_services.stripe_account_of(practice),
            "slack": connection,
            "slack_connected": connection is not None
            and connection.status == ConnectionStatus.CONNECTED,
            "slack_scopes_missing": services.slack_scopes_missing(connection) if connection else [],
            "slack_settings_missing": services.slack_settings_missing(),
            "slack_install_available": services.slack_install_available(),
            "slack_redirect_uri": slack_redirect_uri(),
            "slack_events_url": absolute(SLACK_EVENTS_PATH),
            "slack_events": SLACK_EVENTS,
            "bot_scopes": BOT_SCOPES,
            "token_form": token_form or SlackTokenForm(),
            "plan_form": plan_form,
            "email_words": email_words,
            "email_sent": email_sent,
            "calendars": calendars,
            "calls": calls_recent(practice) if manage else [],
            "slack_posts_form": slack_posts_form(connection) if manage else None,
        },
    )


@member_required
@require_GET
def integrations(request: HttpRequest) -> HttpResponse:
    """Everyone in the practice sees the states; only an owner sees the forms."""
    return _page(request)


@ability_required("integrations.manage")
@require_POST
def slack_install(request: HttpRequest) -> HttpResponse:
    try:
        url = services.slack_install_start(
            practice=request.practice, actor=request.user, redirect_uri=slack_redirect_uri()
        )
    except ValidationError as error:
        flash_errors(request, error)
        return redirect("integrations")
    return redirect(url)


@ability_required("integrations.manage")
@require_GET
def slack_callback(request: HttpRequest) -> HttpResponse:
    """Slack sends the owner back here with `code` and `state` (or `error`)."""
    refused = request.GET.get("error", "")
    refused = (SLACK_ERROR.sub("", refused)[:64] or "an unreadable error") if refused else ""
    try:
        connection = services.slack_install_finish(
            practice=request.practice,
            actor=request.user,
            code=SLACK_CODE.sub("", request.GET.get("code", ""))[:256],
            state=request.GET.get("state", "")[:100],
            error=refused,
            redirect_uri=slack_redirect_uri(),
        )
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(
            request,
            f"Slack workspace {connection.team_name or connection.team_id} connected. "
            "Now say below what its plan allows, so clients can be invited.",
        )
    return redirect("integrations")


@ability_required("integrations.manage")
@require_POST
def slack_token(request: HttpRequest) -> HttpResponse:
    form = SlackTokenForm(request.POST)
    if form.is_valid():
        try:
            connection = services.slack_token_connect(
                practice=request.practice, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                f"Token checked with Slack: workspace {connection.team_name} connected.",
            )
            return redirect("integrations")
    return _page(request, token_form=form)


@ability_required("integrations.manage")
@require_POST
def slack_plan(request: HttpRequest) -> HttpResponse:
    form = SlackPlanForm(request.POST)
    if form.is_valid():
        try:
            services.slack_plan_set(
                practice=request.practice, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Saved what the Slack workspace allows.")
            return redirect("integrations")
    return _page(request, plan_form=form)


@ability_required("integrations.manage")
@require_POST
def slack_disconnect(request: HttpRequest) -> HttpResponse:
    try:
        services.slack_disconnect(practice=request.practice, actor=request.user)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(
            request,
            "Slack disconnected: CoachHub's token is revoked and wiped. Channels already "
            "made stay in Slack; connect again to resume.",
        )
    return redirect("integrations")
