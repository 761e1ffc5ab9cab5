"""What CoachHub posts in the practice's Slack channels between sessions: the owner's two
switches, shown in the Slack section of the Integrations page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from chat import services as chat_services
from chat.models import SlackConnection
from coachhub.tenancy import ability_required
from web.dashboard.pages import flash_errors


class SlackPostsForm(forms.Form):
    post_reminders = forms.BooleanField(
        required=False,
        label="Post a reminder in the channel before each session",
        help_text="At the practice's reminder times, beside the e-mail reminders.",
    )
    post_session_links = forms.BooleanField(
        required=False,
        label="Post the session's time and link when a session is scheduled or moved",
    )


def slack_posts_form(connection: SlackConnection | None) -> SlackPostsForm | None:
    """The form filled with the connection's current choices; None without a connection."""
    if connection is None:
        return None
    return SlackPostsForm(
        initial={
            "post_reminders": connection.post_reminders,
            "post_session_links": connection.post_session_links,
        }
    )


@ability_required("integrations.manage")
@require_POST
def slack_posts(request: HttpRequest) -> HttpResponse:
    form = SlackPostsForm(request.POST)
    if form.is_valid():
        try:
            chat_services.slack_post_settings_update(
                practice=request.practice, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "Slack posts saved.")
    else:
        flash_errors(request, form)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("integrations")
