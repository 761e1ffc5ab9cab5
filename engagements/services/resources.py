"""The record of a follow-up resource's sending: claimed once, released when nothing went,
and marked sent (with the checklist's follow-up step) once the e-mails were handed over."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ..checklists import CHECKLISTS
from ..models import CollectionResource, StepState
from .checklists import checklist_mark

FOLLOW_UP_STEP = "follow_up"


def resource_send_claim(*, resource: CollectionResource, resend: bool) -> dt.datetime | None:
    """The time this sending claims, or None when a first send was already claimed (two
    clicks send once). A resend claims nothing: the coach asked for it again."""
    claimed_at = timezone.now()
    if resend:
        return claimed_at
    claimed = CollectionResource.objects.filter(pk=resource.pk, sent_at__isnull=True).update(
        sent_at=claimed_at
    )
    return claimed_at if claimed else None


def resource_send_release(*, resource: CollectionResource, claimed_at: dt.datetime) -> None:
    """Nothing was handed over: the page says "not sent yet" again and a retry may claim."""
    CollectionResource.objects.filter(pk=resource.pk, sent_at=claimed_at).update(sent_at=None)


def resource_sent(*, resource: CollectionResource, claimed_at: dt.datetime) -> None:
    """Handed over: `sent_at` says when, and the follow-up step is done."""
    CollectionResource.objects.filter(pk=resource.pk).update(sent_at=claimed_at)
    engagement = resource.collection.engagement
    if FOLLOW_UP_STEP in {key for key, _ in CHECKLISTS[engagement.kind]}:
        checklist_mark(engagement=engagement, key=FOLLOW_UP_STEP, state=StepState.DONE)
