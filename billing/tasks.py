"""Background work for billing: processing Stripe events, reconciliation, e-mails.

Tasks take ids, restore the practice scope and call `billing.events` / services.
They are acknowledged late, so a worker killed mid-task leaves the message for
another worker; the event row lock and the effect keys make the rerun harmless.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django_scopes import scopes_disabled

from coachhub.tenancy import practice_id_of, practice_scope

from .models import Purchase, StripeAccount, StripeEvent

logger = logging.getLogger(__name__)

MAX_EVENT_RETRIES = 8
MAX_RETRY_COUNTDOWN = 3600  # seconds; far below the broker's visibility timeout


def retry_countdown(retries: int) -> int:
    """30 s, 60 s, 2 min … capped at an hour: a late checkout event has time to arrive."""
    return min(30 * 2**retries, MAX_RETRY_COUNTDOWN)


@shared_task(bind=True, max_retries=MAX_EVENT_RETRIES)
def stripe_event_process(self, event_id: int, practice_id: int | None = None) -> str:
    """`practice_id` comes with the message (one query fewer per event); messages
    queued before it did look it up."""
    from . import events

    practice_id = practice_id or practice_id_of(StripeEvent, event_id)
    if practice_id is None:
        return "gone"
    try:
        with practice_scope(practice_id):
            return events.event_process(event_id=event_id)
    except Exception as error:
        # Run in-process (no broker), a failure stays on the event for the admin's
        # "process again"; a worker retries with backoff, then gives up visibly.
        eager = bool(getattr(self.request, "is_eager", False))
        if eager or self.request.retries >= self.max_retries:
            if not eager:
                with practice_scope(practice_id):
                    events.event_give_up(event_id=event_id)
            logger.warning("Stripe event %s failed: %s", event_id, error)
            return "failed" if eager else "dead"
        raise self.retry(exc=error, countdown=retry_countdown(self.request.retries)) from error


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
        stripe_reconcile_practice.delay(practice_id)
    return len(practice_ids)


@shared_task(bind=True, max_retries=3)
def stripe_reconcile_practice(self, practice_id: int) -> tuple[int, int]:
    from coachhub.models import Practice
    from integrations.errors import IntegrationError

    from .events import stripe_reconcile

    practice = Practice.objects.get(pk=practice_id)
    with practice_scope(practice):
        try:
            return stripe_reconcile(practice=practice)
        except IntegrationError as error:
            if error.permanent:
                logger.warning("Reconciling %s: %s", practice, error)
                return 0, 0
            raise self.retry(exc=error, countdown=retry_countdown(self.request.retries)) from error


@shared_task(bind=True, max_retries=5)
def purchase_confirmation_send(self, purchase_id: int, practice_id: int | None = None) -> int:
    from .services import purchase_confirmation_message

    practice_id = practice_id or practice_id_of(Purchase, purchase_id)
    if practice_id is None:
        return 0
    with practice_scope(practice_id):
        purchase = Purchase.objects.select_related(
            "offer", "engagement__coach", "client", "practice", "checkout"
        ).get(pk=purchase_id)
        try:
            purchase_confirmation_message(purchase).send()
        except OSError as error:
            raise self.retry(exc=error, countdown=retry_countdown(self.request.retries)) from error
    return 1
