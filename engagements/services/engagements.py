"""Engagements: saving one a guided set-up filled in, and changing it later.

The three guided set-ups themselves end in sessions, so they live in
`sessions_app.services.engagement_setup`.
"""

from __future__ import annotations

from typing import Any

from coachhub.audit import audit_record, model_update
from coachhub.models import User
from coachhub.services import coach_must_coach_here

from ..models import Engagement


def engagement_add(*, engagement: Engagement, actor: User | None) -> Engagement:
    """Save a new engagement a guided set-up has filled in (its coach must coach here)."""
    coach_must_coach_here(engagement.practice, engagement.coach)
    engagement.validate_for_save()
    engagement.save()
    audit_record(
        practice=engagement.practice,
        actor=actor,
        action="engagement.create",
        obj=engagement,
        kind=engagement.kind,
    )
    return engagement


def engagement_update(*, engagement: Engagement, actor: User, data: dict[str, Any]) -> Engagement:
    model_update(
        instance=engagement,
        data=data,
        fields=["title", "status", "aims", "core_subject", "ends_on", "send_platform_invite"],
        actor=actor,
        action="engagement.update",
    )
    return engagement
