"""The demo's caring between sessions, beside the demo command (which it keeps under 500
lines)."""

import datetime as dt

from caring.models import (
    Commitment,
    CommitmentStatus,
    PrepAnswer,
    Recap,
    SessionAgenda,
    SessionNote,
    SessionPrep,
)
from coachhub.models import Practice, User
from engagements.models import Engagement, EngagementKind
from sessions_app.models import Session, SessionStatus


def caring_demo_add(*, practice: Practice, coach: User, now: dt.datetime, today: dt.date) -> None:
    """Jonas's last session has its agenda, notes, a shared recap and two commitments
    (one done, one missed); his next one has its prep sent and answered. Written as
    rows, like the past sessions: the demo runs in one transaction, the services each
    in their own."""
    engagement = Engagement.objects.filter(
        practice=practice, kind=EngagementKind.PER_SESSION, client__email="jonas@example.com"
    ).first()
    sessions = Session.objects.filter(practice=practice, engagement=engagement)
    last = sessions.filter(status=SessionStatus.COMPLETED).order_by("-starts_at").first()
    upcoming = sessions.filter(status=SessionStatus.SCHEDULED).order_by("starts_at").first()
    SessionAgenda.objects.create(
        practice=practice,
        session=last,
        items=[
            "Check-in",
            "Review of commitments",
            "The product lead interview: story and evidence",
            "Commitments and next steps",
        ],
    )
    SessionNote.objects.create(
        practice=practice,
        session=last,
        body="Confident on strategy, hesitant on people leadership examples. "
        "Probe the conflict with the design team next time.",
        updated_by=coach,
    )
    recap = (
        "We worked on your story for the product lead interview: the platform migration "
        "is your strongest example. Next: two people-leadership examples, written as "
        "situation, action, result."
    )
    Recap.objects.create(
        practice=practice,
        session=last,
        engagement=engagement,
        body=recap,
        shared_body=recap,
        version=1,
        shared_at=last.ends_at + dt.timedelta(hours=2),
        shared_by=coach,
        channels=["email", "portal"],
        emailed_version=1,
    )
    Commitment.objects.create(
        practice=practice,
        engagement=engagement,
        session=last,
        client=engagement.client,
        text="Write two people-leadership examples (situation, action, result)",
        due_on=today - dt.timedelta(days=3),
        missed_at=now - dt.timedelta(days=2),
        created_by=coach,
    )
    Commitment.objects.create(
        practice=practice,
        engagement=engagement,
        session=last,
        client=engagement.client,
        text="Ask the hiring manager what the first 90 days look like",
        due_on=today - dt.timedelta(days=7),
        status=CommitmentStatus.DONE,
        done_at=now - dt.timedelta(days=8),
        created_by=coach,
    )
    if upcoming is not None and engagement.collection.prep_questions:
        prep = SessionPrep.objects.create(
            practice=practice,
            session=upcoming,
            questions=list(engagement.collection.prep_questions),
            sent_at=now - dt.timedelta(hours=2),
            emailed_at=now - dt.timedelta(hours=2),
        )
        PrepAnswer.objects.create(
            practice=practice,
            prep=prep,
            client=engagement.client,
            answers=[
                "Rehearse the people-leadership answers.",
                "The interview is confirmed for next Thursday.",
                "Finding a conflict example I am comfortable sharing.",
            ],
        )
