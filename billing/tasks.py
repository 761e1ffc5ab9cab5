"""Background work for billing: beat's sweeps (reconciliation with Stripe, recovery of
what a dead worker held), fanned out one task per practice.

The tasks services enqueue live beside their work: `events.stripe_event_process`,
`events.stripe_events_recover`, `events.stripe_reconcile_practice` and
`emails.purchase_confirmation_send`.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from coachhub.tenancy import practice_id_of

from .emails import purchase_confirmation_send
from .events import (
    MAX_EVENT_RETRIES,
    events_lost,
    stripe_event_process,
    stripe_events_recover,
    stripe_reconcile_practice,
)
from .models import Purchase, StripeAccount, StripeEvent

__all__ = [
    "MAX_EVENT_RETRIES",
    "purchase_confirmation_send",
    "stripe_event_process",
    "stripe_events_recover",
    "stripe_events_recover_all",
    "stripe_reconcile_all",
    "stripe_reconcile_practice",
]


@shared_task
def stripe_reconcile_all() -> int:
    """Beat: reconcile every connected practice (one task each)."""
    with scopes_disabled():
        practice_ids = list(
            StripeAccount.objects.filter(verified_at__isnull=False).values_list(
                "practice_id", flat=True
            )
        )
    for practice_id in practice_ids:
        stripe_reconcile_practice.delay(practice_id=practice_id)
    return len(practice_ids)


@shared_task
def stripe_events_recover_all() -> int:
    """Beat, every minute: one recovery task for each practice with a Stripe event whose
    message looks lost (overdue, or claimed by a worker past its time limit)."""
    with scopes_disabled():
        practice_ids = list(
            StripeEvent.objects.filter(events_lost(timezone.now()))
            .order_by()
            .values_list("practice_id", flat=True)
            .distinct()
        )
    for practice_id in practice_ids:
        stripe_events_recover.delay(practice_id=practice_id)
    return len(practice_ids)


# --- Messages queued before the task base (old names, positional ids) --------------------
# A worker of this release still runs them, by handing each to the task that does the work
# now. Remove once no worker of the earlier release has messages in the queue.
@shared_task(name="billing.tasks.stripe_event_process")
def stripe_event_process_queued_before(event_id: int, practice_id: int | None = None) -> str:
    practice_id = practice_id or practice_id_of(StripeEvent, event_id)
    if practice_id is None:
        return "gone"
    stripe_event_process.delay(practice_id=practice_id, event_id=event_id)
    return "handed on"


@shared_task(name="billing.tasks.stripe_reconcile_practice")
def stripe_reconcile_practice_queued_before(practice_id: int) -> str:
    stripe_reconcile_practice.delay(practice_id=practice_id)
    return "handed on"


@shared_task(name="billing.tasks.purchase_confirmation_send")
def purchase_confirmation_send_queued_before(
    purchase_id: int, practice_id: int | None = None
) -> str:
    practice_id = practice_id or practice_id_of(Purchase, purchase_id)
    if practice_id is None:
        return "gone"
    purchase_confirmation_send.delay(practice_id=practice_id, purchase_id=purchase_id)
    return "handed on"
