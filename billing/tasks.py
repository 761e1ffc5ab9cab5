"""Background work for billing: beat's reconciliation sweep, fanned out one task per practice.

The tasks services enqueue live beside their work: `events.stripe_event_process`,
`events.stripe_reconcile_practice` and `emails.purchase_confirmation_send`.
"""

from __future__ import annotations

from celery import shared_task
from django_scopes import scopes_disabled

from .emails import purchase_confirmation_send
from .events import MAX_EVENT_RETRIES, stripe_event_process, stripe_reconcile_practice
from .models import StripeAccount

__all__ = [
    "MAX_EVENT_RETRIES",
    "purchase_confirmation_send",
    "stripe_event_process",
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
