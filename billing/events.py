"""Stripe events: receive (store once, enqueue), process (dispatch to billing's services),
process again, and reconcile with Stripe's own list.

Receiving is what the webhook view does and must be quick: one query for the
practice and its secret, the signature check (`integrations.stripe.webhooks`), one
INSERT keyed on the Stripe event id, no outbound call. Processing happens in a Celery
task; each handler finds our records by Stripe ids and metadata and calls the billing
services, which key every effect so a replay changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.db import IntegrityError, connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from coachhub.audit import audit_batch, audit_record
from coachhub.encryption import decrypt
from coachhub.models import Practice, User
from coachhub.tasks import PracticeTask
from integrations.errors import IntegrationError
from integrations.stripe import client as stripe_api
from integrations.stripe.webhooks import (
    PaidObject,
    checkout_reference,
    event_verify,
    invoice_charge,
    invoice_paid_at,
    invoice_payment_intent,
    invoice_subscription,
    paid_from_checkout,
    stripe_time,
    subscription_started_at,
)

from . import services
from .models import EventSource, EventStatus, Payment, Purchase, StripeAccount, StripeEvent

logger = logging.getLogger(__name__)
MAX_EVENT_RETRIES = 8


def event_store(*, practice_id: int, data: dict, source: str) -> StripeEvent | None:
    """Store the event once; None when it was already stored (a duplicate delivery).

    Processing is enqueued after commit, so the worker always finds the row. The
    webhook runs in autocommit, where the INSERT stands alone (one round trip, no
    BEGIN/COMMIT); inside a caller's transaction (reconciliation) a savepoint keeps
    that transaction usable when the event turns out to be a duplicate.
    """
    event = StripeEvent(
        practice_id=practice_id,
        stripe_id=data["id"],
        type=data["type"],
        payload=data,
        stripe_created=dt.datetime.fromtimestamp(int(data.get("created") or 0), tz=dt.UTC),
        livemode=bool(data.get("livemode")),
        source=source,
    )
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                event.save(force_insert=True)
        else:
            event.save(force_insert=True)
    except IntegrityError:
        return None
    event_enqueue(event.pk, practice_id)
    return event


def event_enqueue(event_id: int, practice_id: int) -> None:
    """Queue the event's processing once the current transaction commits."""
    stripe_event_process.delay_on_commit(practice_id=practice_id, event_id=event_id)


def _practice_and_webhook_secret(practice_public_id) -> tuple[int, str]:
    """The practice's id and its decrypted signing secret ("" if none), in one query.

    Written in SQL because this runs on every delivery and the ORM's query building
    cost more than the query itself (0.6 ms against 0.2 ms, benchmarks/webhook_ingestion).
    """
    practice, account = Practice._meta, StripeAccount._meta
    public_id = practice.get_field("public_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, a.webhook_secret FROM {practice.db_table} p "
            f"LEFT JOIN {account.db_table} a ON a.practice_id = p.id WHERE p.public_id = %s",
            [public_id.get_db_prep_value(practice_public_id, connection)],
        )
        row = cursor.fetchone()
    if row is None:
        raise LookupError("No such practice.")
    return row[0], decrypt(row[1]) if row[1] else ""


def webhook_receive(*, practice_public_id, payload: bytes, signature: str | None) -> bool:
    """Verify and store one delivery. True if new, False for a duplicate.

    Two queries: the practice with its (encrypted) signing secret, and the INSERT.
    """
    practice_id, webhook_secret = _practice_and_webhook_secret(practice_public_id)
    data = event_verify(webhook_secret=webhook_secret, payload=payload, signature=signature)
    return event_store(practice_id=practice_id, data=data, source=EventSource.WEBHOOK) is not None


def on_checkout_paid(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return  # a delayed payment method: wait for async_payment_succeeded
    if not checkout_reference(obj):
        return  # not a CoachHub checkout (the coach sells other things on Stripe too)
    paid = paid_from_checkout(obj)
    purchase = services.purchase_ensure(practice=event.practice, paid=paid)
    services.purchase_fulfil_checkout(purchase=purchase, charge_id=paid.charge_id)


def on_checkout_failed_or_expired(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    if ref := checkout_reference(obj):
        services.checkout_expired_apply(practice=event.practice, checkout_public_id=ref)


class StripeReadNeeded(Exception):
    """A handler needs an object from Stripe first; it is read outside the transaction."""

    def __init__(self, object_id: str, *, practice_id: int, kind: str = "subscription"):
        super().__init__(f"needs {kind} {object_id} from Stripe")
        self.object_id, self.practice_id, self.kind = object_id, practice_id, kind


class StripeReads:
    """What was read from Stripe for one event, before its transaction (no outside call is
    made while the event's rows are locked): subscriptions, whose metadata older API
    shapes leave off their invoices, and charges, which a dispute names without saying
    whose they are."""

    def __init__(self) -> None:
        self.subscription_metadata: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}

    def fetch(self, needed: StripeReadNeeded) -> None:
        account = StripeAccount.objects.get(practice_id=needed.practice_id)
        if needed.kind == "charge":
            self.charges[needed.object_id] = stripe_api.charge_retrieve(
                account.secret_key, needed.object_id
            )
            return
        subscription = stripe_api.subscription_retrieve(account.secret_key, needed.object_id)
        self.subscription_metadata[needed.object_id] = subscription.get("metadata") or {}


def _subscription_metadata(
    event: StripeEvent, subscription_id: str, metadata: dict, reads: StripeReads
) -> dict:
    if metadata.get("coachhub_checkout"):
        return metadata
    if subscription_id not in reads.subscription_metadata:
        raise StripeReadNeeded(subscription_id, practice_id=event.practice_id)
    return reads.subscription_metadata[subscription_id]


def _purchase_for_subscription(
    event: StripeEvent,
    subscription_id: str,
    metadata: dict,
    customer: str,
    reads: StripeReads,
    *,
    paid_at: dt.datetime | None,
) -> Purchase | None:
    """The subscription's purchase (made on first sight); `paid_at` is what this Stripe
    object says of when it was paid or began (the purchase keeps the earliest)."""
    found = (
        Purchase.objects.select_for_update(of=("self",))
        .select_related("engagement", "offer")
        .filter(practice=event.practice, stripe_subscription_id=subscription_id)
        .first()
    )
    if found is not None:
        services.purchase_paid_at_settle(purchase=found, at=paid_at)
        return found
    metadata = _subscription_metadata(event, subscription_id, metadata, reads)
    if not metadata.get("coachhub_checkout"):
        return None  # not a CoachHub subscription
    return services.purchase_ensure(
        practice=event.practice,
        paid=PaidObject(
            checkout_public_id=metadata["coachhub_checkout"],
            subscription_id=subscription_id,
            customer_id=customer,
            paid_at=paid_at,
        ),
    )


def on_subscription_event(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    purchase = _purchase_for_subscription(
        event,
        obj["id"],
        obj.get("metadata") or {},
        obj.get("customer") or "",
        reads,
        paid_at=subscription_started_at(obj),
    )
    if purchase is None:
        return
    status = "canceled" if event.type == "customer.subscription.deleted" else obj.get("status")
    services.subscription_state_apply(
        purchase=purchase,
        status=status or "active",
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        event_created=int(event.payload.get("created") or 0),
    )


def on_invoice(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    subscription_id, metadata = invoice_subscription(obj)
    if not subscription_id:  # a one-off invoice: a company's statement, or not ours
        services.company_invoice_payment_apply(
            practice=event.practice,
            stripe_invoice_id=obj["id"],
            paid=event.type == "invoice.paid",
            at=event.stripe_created,
        )
        return
    paid_at = None
    if event.type == "invoice.paid":  # when Stripe took the money, else the event's time
        paid_at = invoice_paid_at(obj) or stripe_time(event.payload.get("created"))
    purchase = _purchase_for_subscription(
        event, subscription_id, metadata, obj.get("customer", ""), reads, paid_at=paid_at
    )
    if purchase is None:
        return
    if not purchase.amount_total and obj.get("amount_paid"):
        purchase.amount_total = int(obj["amount_paid"])
        purchase.save(update_fields=["amount_total"])
    created = int(event.payload.get("created") or 0)
    if event.type == "invoice.paid":
        services.invoice_paid_apply(
            purchase=purchase,
            invoice_id=obj["id"],
            amount_paid=int(obj.get("amount_paid") or 0),
            event_created=created,
            payment_intent_id=invoice_payment_intent(obj),
            charge_id=invoice_charge(obj),
            paid_at=paid_at,
        )
    else:
        services.invoice_failed_apply(
            purchase=purchase, invoice_id=obj["id"], event_created=created
        )


def _purchase_for_charge(
    event: StripeEvent,
    reads: StripeReads,
    *,
    charge_id: str,
    intent: str = "",
    customer: str = "",
    charge_in_payload: bool = False,
) -> Purchase:
    """The purchase a charge paid for: by the charge itself (recorded as its payment
    arrived), its PaymentIntent, or its customer. A dispute names only the charge and,
    at most, its PaymentIntent: when those are not ours, the charge is read from Stripe
    (outside the transaction) for the PaymentIntent and customer it carries. A refund's
    event carries the charge itself, so there is nothing more to read."""
    purchases = Purchase.objects.select_for_update(of=("self",)).select_related("engagement")
    payments = Payment.objects.filter(practice=event.practice)
    if charge_id:
        paid = payments.filter(charge_id=charge_id)
        if purchase := purchases.filter(pk__in=paid.values("purchase_id")).first():
            return purchase
    if charge_id in reads.charges:
        charge = reads.charges[charge_id]
        intent = intent or _stripe_id(charge.get("payment_intent"))
        customer = customer or _stripe_id(charge.get("customer"))
    purchase = _purchase_for_intent(event, purchases, payments, intent) if intent else None
    if purchase is None and customer:
        purchase = (
            purchases.filter(practice=event.practice, stripe_customer_id=customer)
            .order_by("-paid_at")
            .first()
        )
    if purchase is None and charge_id and not charge_in_payload and charge_id not in reads.charges:
        raise StripeReadNeeded(charge_id, practice_id=event.practice_id, kind="charge")
    if purchase is None:
        raise services.NotYetProcessable(
            f"No purchase yet for charge {charge_id or intent or customer}; "
            "waiting for its checkout or invoice event."
        )
    return purchase


def _purchase_for_intent(
    event: StripeEvent, purchases: QuerySet[Purchase], payments: QuerySet[Payment], intent: str
) -> Purchase | None:
    purchase = purchases.filter(practice=event.practice, stripe_payment_intent_id=intent).first()
    if purchase is None:
        # A monthly package's payments: each paid invoice recorded its PaymentIntent.
        paid = payments.filter(payment_intent_id=intent)
        purchase = purchases.filter(pk__in=paid.values("purchase_id")).first()
    return purchase


def _stripe_id(value: Any) -> str:
    """An id Stripe gives as a string or, expanded, as the object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return value if isinstance(value, str) else ""


def on_charge_refunded(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    purchase = _purchase_for_charge(
        event,
        reads,
        charge_id=obj["id"],
        intent=_stripe_id(obj.get("payment_intent")),
        customer=_stripe_id(obj.get("customer")),
        charge_in_payload=True,
    )
    services.refund_apply(
        purchase=purchase, amount_refunded=int(obj.get("amount_refunded") or 0), charge_id=obj["id"]
    )


def on_dispute(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    charge = obj.get("charge")
    expanded = charge if isinstance(charge, dict) else {}
    purchase = _purchase_for_charge(
        event,
        reads,
        charge_id=_stripe_id(charge),
        intent=_stripe_id(obj.get("payment_intent") or expanded.get("payment_intent")),
        customer=_stripe_id(obj.get("customer") or expanded.get("customer")),
    )
    services.dispute_apply(purchase=purchase, reason=obj.get("reason") or "dispute")


def on_invoice_voided(event: StripeEvent, reads: StripeReads) -> None:
    """A company invoice voided (here or in Stripe's dashboard); the month can be invoiced
    again. Subscription invoices are Stripe's business: nothing to do."""
    obj = event.data_object
    subscription_id, _ = invoice_subscription(obj)
    if not subscription_id:
        services.company_invoice_voided_apply(
            practice=event.practice,
            stripe_invoice_id=obj["id"],
            at=event.stripe_created,
        )


HANDLERS: dict[str, Callable[[StripeEvent, StripeReads], None]] = {
    "checkout.session.completed": on_checkout_paid,
    "checkout.session.async_payment_succeeded": on_checkout_paid,
    "checkout.session.async_payment_failed": on_checkout_failed_or_expired,
    "checkout.session.expired": on_checkout_failed_or_expired,
    "customer.subscription.created": on_subscription_event,
    "customer.subscription.updated": on_subscription_event,
    "customer.subscription.deleted": on_subscription_event,
    "invoice.paid": on_invoice,
    "invoice.payment_failed": on_invoice,
    "invoice.voided": on_invoice_voided,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_dispute,
}


def event_process(*, event_id: int) -> str:
    """Run the event's handler once; returns the event's new status.

    A handler that needs an object from Stripe (`StripeReadNeeded`) gives up its
    transaction, the object is read outside it, and the handler runs again with it.
    """
    reads = StripeReads()
    while True:
        try:
            return _event_process_locked(event_id, reads)
        except StripeReadNeeded as needed:
            try:
                reads.fetch(needed)
            except IntegrationError as error:
                _event_failed(event_id, error)
                raise


def _event_process_locked(event_id: int, reads: StripeReads) -> str:
    """The event row is locked for the whole handler, so two workers given the same
    event (a redelivery) run it one after the other, and the second sees it done.
    An error rolls the handler's writes back and is recorded on the event. The
    audit entries of what the handler did are written together, in one INSERT.
    """
    try:
        with transaction.atomic(durable=True):
            event = (
                StripeEvent.objects.select_for_update(of=("self",))
                .select_related("practice")
                .get(pk=event_id)
            )
            if event.status in (EventStatus.PROCESSED, EventStatus.IGNORED):
                return event.status
            handler = HANDLERS.get(event.type)
            event.attempts += 1
            if handler is None:
                event.status = EventStatus.IGNORED
            else:
                with audit_batch():
                    handler(event, reads)
                event.status = EventStatus.PROCESSED
            event.processed_at = timezone.now()
            event.last_error = ""
            event.save(update_fields=["status", "attempts", "processed_at", "last_error"])
            return event.status
    except StripeReadNeeded:
        raise
    except Exception as error:
        _event_failed(event_id, error)
        raise


def _event_failed(event_id: int, error: Exception) -> None:
    StripeEvent.objects.filter(pk=event_id).exclude(status=EventStatus.PROCESSED).update(
        status=EventStatus.FAILED,
        attempts=F("attempts") + 1,
        last_error=f"{error.__class__.__name__}: {error}"[:2000],
    )


def event_process_again(*, event: StripeEvent, actor: User | None) -> None:
    """Queue an event that failed (or was given up) again, after fixing what its error says:
    from the Stripe page or the admin. Its effects are keyed, so a second run is harmless."""
    with transaction.atomic(durable=True):
        StripeEvent.objects.filter(pk=event.pk, status=EventStatus.DEAD).update(
            status=EventStatus.FAILED
        )
        audit_record(practice=event.practice, actor=actor, action="stripe_event.again", obj=event)
        event_enqueue(event.pk, event.practice_id)


def event_give_up(*, event_id: int) -> None:
    """After the last retry: the event stays, marked for a person to look at."""
    StripeEvent.objects.filter(pk=event_id, status=EventStatus.FAILED).update(
        status=EventStatus.DEAD
    )


# --- Reconciliation -----------------------------------------------------------------
RECONCILE_OVERLAP = dt.timedelta(hours=1)
RECONCILE_FIRST_WINDOW = dt.timedelta(days=3)


def stripe_reconcile(*, practice: Practice, now: dt.datetime | None = None) -> tuple[int, int]:
    """List the practice's recent events at Stripe and take in any we never received.

    Returns (events seen, events new to us). Also re-enqueues our own events left
    pending (a broker outage at the moment of receipt).
    """
    now = now or timezone.now()
    account = services.stripe_account_of(practice)
    if account is None or not account.verified_at:
        return 0, 0
    since = (account.last_reconciled_at or now - RECONCILE_FIRST_WINDOW) - RECONCILE_OVERLAP
    known = set(
        StripeEvent.objects.filter(practice=practice, stripe_created__gte=since).values_list(
            "stripe_id", flat=True
        )
    )
    seen = new = 0
    for data in stripe_api.events_since(account.secret_key, since):
        seen += 1
        if data["id"] in known:
            continue
        with transaction.atomic():
            if event_store(practice_id=practice.pk, data=data, source=EventSource.RECONCILE):
                new += 1
    stale = StripeEvent.objects.filter(
        practice=practice,
        status=EventStatus.PENDING,
        received_at__lt=now - dt.timedelta(minutes=10),
    ).values_list("pk", flat=True)
    for event_id in stale:
        with transaction.atomic():
            event_enqueue(event_id, practice.pk)
    account.last_reconciled_at = now
    account.save(update_fields=["last_reconciled_at"])
    return seen, new


# --- The tasks ------------------------------------------------------------------------
@shared_task(base=PracticeTask, bind=True, max_retries=MAX_EVENT_RETRIES)
def stripe_event_process(self, *, practice_id: int, event_id: int) -> str:
    """Process one stored event. Acknowledged late: a worker killed mid-task leaves the
    message for another, and the row lock and effect keys make the rerun harmless."""
    try:
        return event_process(event_id=event_id)
    except Exception as error:
        # Run in-process (no broker), a failure stays on the event for "process again";
        # a worker retries with backoff, then gives up visibly.
        if self.is_eager or self.request.retries >= self.max_retries:
            if not self.is_eager:
                event_give_up(event_id=event_id)
            logger.warning("Stripe event %s failed: %s", event_id, error)
            return "failed" if self.is_eager else "dead"
        raise self.retry_later(error) from error


@shared_task(base=PracticeTask, bind=True, max_retries=3)
def stripe_reconcile_practice(self, *, practice_id: int) -> tuple[int, int]:
    practice = Practice.objects.get(pk=practice_id)
    try:
        return stripe_reconcile(practice=practice)
    except IntegrationError as error:
        if error.permanent:
            logger.warning("Reconciling %s: %s", practice, error)
            return 0, 0
        raise self.retry_later(error) from error
