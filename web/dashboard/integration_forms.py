"""Forms of the Integrations page: a pasted Slack bot token, and what the workspace allows."""

from __future__ import annotations

from django import forms


class SlackTokenForm(forms.Form):
    bot_token = forms.CharField(
        label="Bot User OAuth Token",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Your Slack app → OAuth & Permissions (xoxb-…). Checked with Slack, "
        "then stored encrypted.",
    )
    signing_secret = forms.CharField(
        label="Signing Secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Your Slack app → Basic Information → App Credentials.",
    )


class SlackPlanForm(forms.Form):
    slack_connect_allowed = forms.BooleanField(
        label="The workspace has Slack Connect (a paid Slack plan)",
        required=False,
        help_text="Clients who are not members are then invited to their channel by e-mail "
        "through Slack Connect.",
    )
    invite_link = forms.CharField(
        label="Workspace invite link",
        required=False,
        max_length=500,
        help_text="Slack → the workspace name → Invite people → Copy invite link "
        "(https://join.slack.com/t/…). Without Slack Connect, CoachHub e-mails it to new "
        "clients and adds them to their channel when they join.",
    )
