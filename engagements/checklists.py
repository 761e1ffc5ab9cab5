"""The setup checklist each engagement kind starts with, in the order the guided flow follows."""

from __future__ import annotations

from coachhub.models import Practice

from .models import EngagementKind, StepState

StepOutcome = tuple[str, str]  # (state, reason)

SLACK_NOT_CONNECTED = (
    "Slack is not connected, so nobody was invited. An owner can connect the practice's "
    "workspace on the Integrations page; until then, invite them in Slack yourself."
)
SLACK_BROKEN = (
    "the Slack connection is broken; connect the workspace again on the Integrations page."
)
SLACK_RETRY = "Then press Try again on this page."
SLACK_AFTER_PAYMENT = "Done once the client has paid for the held time."
# What a Slack step says between the set-up and the Slack task's first answer.
SLACK_UNDER_WAY = {
    "slack_channel": "Creating the private channel in Slack…",
    "slack_invite": "Inviting to Slack once the channel is made…",
}

CHECKLISTS: dict[str, list[tuple[str, str]]] = {
    EngagementKind.PER_SESSION: [
        ("client", "Client record ready"),
        ("slack_invite", "Client invited to the Slack workspace"),
        ("collection", "1:1 collection created from “Coaching / Mentorship”"),
        ("slack_channel", "Private Slack channel with the coach"),
        ("first_session", "First session populated"),
        ("session_url", "Session URL ready to paste into the calendar invite"),
        ("calendar_invite", "CoachHub calendar invite sent"),
    ],
    EngagementKind.MONTHLY_PACKAGE: [
        ("client", "Client record ready"),
        ("cadence", "Cadence, length, day and time agreed"),
        ("collection", "1:1 collection created from “Coaching / Mentorship”"),
        ("slack_invite", "Client invited to the Slack workspace"),
        ("slack_channel", "Private Slack channel for support between sessions"),
        ("recurring_sessions", "Recurring sessions generated within the monthly hours"),
    ],
    EngagementKind.TEAM_WORKSHOP: [
        ("subject", "Core subject set"),
        ("participants", "Participants and e-mails collected"),
        ("collection", "Team collection with its agenda"),
        ("participants_added", "Participants added to the collection"),
        ("slack_channel", "Private Slack channel for the team"),
        ("slack_invite", "Participants invited to Slack"),
        ("workshop_session", "Workshop session scheduled"),
        ("follow_up", "Follow-up resources sent after the workshop"),
    ],
}


def slack_step_outcomes(practice: Practice, keys: list[str]) -> dict[str, StepOutcome]:
    """Slack steps wait for the Slack task (chat), which says how each went; without a
    connected workspace they say so."""
    if practice.slack_connected:
        return {key: (StepState.PENDING, SLACK_UNDER_WAY[key]) for key in keys}
    connection = getattr(practice, "slack_connection", None)
    if connection is not None:  # connected once, and broken since: something to fix
        reason = f"Nobody was invited: {connection.broken_reason or SLACK_BROKEN} {SLACK_RETRY}"
        return {key: (StepState.FAILED, reason) for key in keys}
    return {key: (StepState.NOT_APPLICABLE, SLACK_NOT_CONNECTED) for key in keys}
