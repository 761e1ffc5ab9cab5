"""The setup checklist each engagement kind starts with, in the order the guided flow follows."""

from __future__ import annotations

from coachhub.models import Practice

from .models import EngagementKind, StepState

StepOutcome = tuple[str, str]  # (state, reason)

SLACK_NOT_CONNECTED = (
    "Slack is not connected, so nobody was invited. Connect it on the Integrations page "
    "(the practice owner can); until then, invite them in Slack yourself if you use it."
)

CHECKLISTS: dict[str, list[tuple[str, str]]] = {
    EngagementKind.PER_SESSION: [
        ("client", "Client record ready"),
        ("slack_invite", "Client invited to the Slack workspace"),
        ("collection", "1:1 collection created from “Coaching / Mentorship”"),
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
        ("slack_invite", "Participants invited to Slack"),
        ("workshop_session", "Workshop session scheduled"),
        ("follow_up", "Follow-up resources sent after the workshop"),
    ],
}


def slack_step_outcomes(practice: Practice, keys: list[str]) -> dict[str, StepOutcome]:
    """Slack steps wait for the Slack task; without Slack they say so."""
    if practice.slack_connected:
        return {}
    return {key: (StepState.NOT_APPLICABLE, SLACK_NOT_CONNECTED) for key in keys}
