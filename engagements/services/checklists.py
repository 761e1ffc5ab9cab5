"""An engagement's setup checklist: seeded by its guided set-up, ticked by tasks and coaches."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from coachhub.audit import audit_record
from coachhub.models import User

from ..checklists import CHECKLISTS, StepOutcome
from ..models import ChecklistStep, Engagement, StepState


def checklist_seed(*, engagement: Engagement, outcomes: dict[str, StepOutcome]) -> None:
    """The kind's steps in one INSERT, each in the state the guided flow left it
    (a step the flow did not reach is pending)."""
    unknown = set(outcomes) - {key for key, _ in CHECKLISTS[engagement.kind]}
    if unknown:
        raise ValueError(f"{engagement.kind} has no checklist steps {sorted(unknown)}")
    steps = []
    for position, (key, label) in enumerate(CHECKLISTS[engagement.kind], start=1):
        state, reason = outcomes.get(key, (StepState.PENDING, ""))
        steps.append(
            ChecklistStep(
                practice_id=engagement.practice_id,
                engagement=engagement,
                key=key,
                label=label,
                position=position,
                state=state,
                reason=reason,
            )
        )
    ChecklistStep.objects.bulk_create(steps)


def checklist_mark(*, engagement: Engagement, key: str, state: str, reason: str = "") -> None:
    updated = ChecklistStep.objects.filter(
        practice_id=engagement.practice_id, engagement=engagement, key=key
    ).update(state=state, reason=reason, updated_at=timezone.now())
    if not updated:
        raise ValueError(f"{engagement.kind} has no checklist step {key!r}")


def checklist_step_done(*, engagement: Engagement, key: str, reason: str) -> bool:
    """A task did what the step promises: done, unless it already is (an engagement set up
    before the step existed has no such row, and nothing happens)."""
    steps = ChecklistStep.objects.filter(
        practice_id=engagement.practice_id, engagement=engagement, key=key
    ).exclude(state=StepState.DONE)
    return bool(steps.update(state=StepState.DONE, reason=reason, updated_at=timezone.now()))


def checklist_step_record(*, engagement_id: int, key: str, state: str, reason: str) -> bool:
    """A task's latest word on a step it automates (done, waiting or failed, and why); an
    engagement set up before the step existed has no such row, and nothing happens."""
    steps = ChecklistStep.objects.filter(engagement_id=engagement_id, key=key).exclude(
        state=state, reason=reason
    )
    return bool(steps.update(state=state, reason=reason, updated_at=timezone.now()))


def checklist_step_set(
    *, engagement: Engagement, actor: User, key: str, state: str, reason: str = ""
) -> None:
    """A coach ticks off (or reopens) a step by hand."""
    if state not in StepState.values:
        raise ValidationError({"state": "Unknown step state."})
    if state == StepState.FAILED and not reason.strip():
        raise ValidationError({"reason": "Say why the step failed."})
    checklist_mark(engagement=engagement, key=key, state=state, reason=reason.strip())
    audit_record(
        practice=engagement.practice,
        actor=actor,
        action="checklist.set",
        obj=engagement,
        key=key,
        state=state,
    )
