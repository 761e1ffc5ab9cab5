"""Telling people about a change: e-mails with invites after commit, and the step they tick."""

from __future__ import annotations

from engagements.models import EngagementKind, StepState
from engagements.services import checklist_mark

from ..models import Session
from ..notifications import NoticeKind, session_notify


def attendees_notify(session: Session, kind: NoticeKind) -> None:
    """E-mail the attendees and the coach (with the invite) once the transaction commits."""
    session_notify.delay_on_commit(
        practice_id=session.practice_id, session_id=session.pk, kind=kind
    )


def invite_step_done(session: Session) -> None:
    """A per-session engagement's "calendar invite sent" step, once its invite goes out."""
    engagement = session.engagement
    if engagement.kind == EngagementKind.PER_SESSION and engagement.send_platform_invite:
        checklist_mark(
            engagement=engagement,
            key="calendar_invite",
            state=StepState.DONE,
            reason="Invite e-mailed with the booking confirmation.",
        )
