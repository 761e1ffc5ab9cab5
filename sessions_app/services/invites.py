"""Telling people about a change: e-mails with invites after commit.

The e-mail task itself (`notifications.session_notify`) ticks the checklist's
"calendar invite sent" step once the invite has been handed to the e-mail backend.
"""

from __future__ import annotations

from ..models import Session
from ..notifications import NoticeKind, session_notify


def attendees_notify(session: Session, kind: NoticeKind) -> None:
    """E-mail the attendees and the coach (with the invite) once the transaction commits."""
    session_notify.delay_on_commit(
        practice_id=session.practice_id, session_id=session.pk, kind=kind
    )
