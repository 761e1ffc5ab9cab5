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

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from coachhub.audit import audit_batch, audit_record
from coachhub.calls import call_recorded
from coachhub.encryption import decrypt
from coachhub.models import CallProvider, Practice, User
from coachhub.tasks import PracticeTask, retry_countdown
from integrations.errors import IntegrationError
from integrations.stripe import client as stripe_api
from integrations.stripe import webhooks as stripe_webhooks
from integrations.stripe.webhooks import (
    MalformedObject,
    WebhookRefused,
    event_envelope_check,
    event_object_problem,
    event_verify,
)

from . import event_handlers, services
from .event_handlers import HANDLERS, StripeReadNeeded, StripeReads
from .models import EventSource, EventStatus, StripeAccount, StripeEvent

logger = logging.getLogger(__name__)
MAX_EVENT_RETRIES = 8
MAX_EVENT_ATTEMPTS = MAX_EVENT_RETRIES + 1
# A claim lasts the task's hard time limit plus this; a retry message may run this early
# (clocks differ a little between hosts); a due event not taken this long after its time
# is taken as lost (a live worker takes one within seconds, a busy queue within minutes).
CLAIM_MARGIN = dt.timedelta(seconds=30)
CLAIM_EARLY = dt.timedelta(seconds=5)
RECOVER_AFTER = dt.timedelta(minutes=5)
RECOVER_BATCH = 500  # per practice and sweep


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
    """Queue the event's processing once the current transaction commits.

    The event is stored by then, so a broker that cannot be reached (Redis down or
    restarting) does not fail the delivery: the event waits, pending, for the recovery
    sweep (`events_recover`), which queues it once the broker is back.
    """

    def enqueue() -> None:
        try:
            stripe_event_process.delay(practice_id=practice_id, event_id=event_id)
        except OperationalError as error:
            logger.warning("Stripe event %s stored, not queued: %s", event_id, error)

    transaction.on_commit(enqueue)


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


def event_process(*, event_id: int, task_id: str = "") -> str:
    """Run the event's handler once; returns the event's new status.

    The event is claimed first (`event_claim`); an event that is done, claimed by
    another worker or not yet due is left as it is. A handler that needs an object from
    Stripe (`StripeReadNeeded`) gives up its transaction, the object is read outside it,
    and the handler runs again with it.
    """
    claimed, status = event_claim(event_id=event_id, task_id=task_id)
    if not claimed:
        return status
    reads = StripeReads(StripeEvent(pk=event_id))
    while True:
        try:
            return _event_process_locked(event_id, reads)
        except StripeReadNeeded as needed:
            try:
                reads.fetch(needed)
            except IntegrationError as error:
                _event_failed(event_id, error)
                raise


def _claim_lapses(now: dt.datetime) -> dt.datetime:
    """A claim outlives the task's hard time limit: a worker past it has been killed."""
    return now + dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT) + CLAIM_MARGIN


def event_claim(
    *, event_id: int, task_id: str = "", now: dt.datetime | None = None
) -> tuple[bool, str]:
    """Take the event for one attempt, with a conditional UPDATE: (True, "processing"),
    or (False, its status) when it is done, claimed by a worker that is still within its
    time limit, or not due yet (a stale copy of its message: its next attempt is queued).

    A claim held by the same task id is taken over: that message is being delivered
    again, so the worker process that had it is gone (Celery hands a message back at
    once when a pool process dies, `reject_on_worker_lost`). The claim counts the
    attempt, so an event whose processing kills the worker each time is given up after
    the last attempt like one that fails (`events_recover`).
    """
    now = now or timezone.now()
    due = Q(status__in=[EventStatus.PENDING, EventStatus.FAILED]) & (
        Q(retry_at__isnull=True) | Q(retry_at__lte=now + CLAIM_EARLY)
    )
    if task_id:
        due |= Q(status=EventStatus.PROCESSING, claimed_by=task_id)
    claimed = (
        StripeEvent.objects.filter(due, pk=event_id).update(
            status=EventStatus.PROCESSING,
            retry_at=_claim_lapses(now),
            claimed_by=task_id,
            attempts=F("attempts") + 1,
        )
        == 1
    )
    if claimed:
        return True, EventStatus.PROCESSING
    status = StripeEvent.objects.filter(pk=event_id).values_list("status", flat=True).first()
    return False, status or "gone"


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
            if event.status != EventStatus.PROCESSING:
                return event.status  # finished (or given up) by another worker meanwhile
            handler = HANDLERS.get(event.type)
            if handler is None:
                event.status = EventStatus.IGNORED
            else:
                if problem := event_object_problem(event.type, event.payload):
                    raise MalformedObject(problem)
                with audit_batch():
                    handler(event, reads)
                event.status = EventStatus.PROCESSED
            event.processed_at = timezone.now()
            event.last_error = ""
            event.retry_at, event.claimed_by = None, ""
            event.save(
                update_fields=["status", "processed_at", "last_error", "retry_at", "claimed_by"]
            )
            return event.status
    except StripeReadNeeded:
        raise
    except Exception as error:
        if reason := _malformed_reason(error):
            _event_invalid(event_id, reason)
            return EventStatus.INVALID
        _event_failed(event_id, error)
        raise


# Where an error means "the object is not what its handler reads": raised by the reading
# itself (`obj["id"]`, `int(obj.get("amount_paid"))`, a reader in the Stripe package),
# not by a service or the database below it.
_OBJECT_READING_MODULES = frozenset({__name__, event_handlers.__name__, stripe_webhooks.__name__})
_READING_ERRORS = (KeyError, TypeError, ValueError, AttributeError)


def _malformed_reason(error: Exception) -> str:
    """Why an event can never be processed as sent ("" when a retry may help).

    `MalformedObject` is the shape check's answer (`event_object_problem`); a KeyError,
    TypeError, ValueError or AttributeError raised while a handler reads the event's
    object is the same answer found later. The same payload gives the same error every
    time, so retrying it eight times over two hours changes nothing.
    """
    if isinstance(error, MalformedObject):
        return str(error)
    if not isinstance(error, _READING_ERRORS) or error.__traceback__ is None:
        return ""
    innermost = error.__traceback__
    while innermost.tb_next is not None:
        innermost = innermost.tb_next
    if innermost.tb_frame.f_globals.get("__name__") in _OBJECT_READING_MODULES:
        return f"{error.__class__.__name__}: {error}"
    return ""


def _event_invalid(event_id: int, reason: str) -> None:
    """Marked invalid with the reason, its writes rolled back; shown on the Stripe page."""
    logger.warning("Stripe event %s is invalid: %s", event_id, reason)
    StripeEvent.objects.filter(pk=event_id, status=EventStatus.PROCESSING).update(
        status=EventStatus.INVALID, retry_at=None, claimed_by="", last_error=reason[:2000]
    )


def _event_failed(event_id: int, error: Exception) -> None:
    """Record the error; the event stays due (the sweep's to take) until the task says
    when its next attempt is (`event_retry_schedule`)."""
    StripeEvent.objects.filter(pk=event_id, status=EventStatus.PROCESSING).update(
        status=EventStatus.FAILED,
        retry_at=timezone.now(),
        claimed_by="",
        last_error=f"{error.__class__.__name__}: {error}"[:2000],
    )


def event_retry_schedule(*, event_id: int, now: dt.datetime | None = None) -> int | None:
    """After a failed attempt: record when the next one is due and return its countdown
    in seconds; None when there is none: given up after its last attempt, or processed
    by another worker meanwhile."""
    now = now or timezone.now()
    attempts = (
        StripeEvent.objects.filter(pk=event_id, status=EventStatus.FAILED)
        .values_list("attempts", flat=True)
        .first()
    )
    if attempts is None:
        return None  # processed by another worker meanwhile
    if attempts >= MAX_EVENT_ATTEMPTS:
        event_give_up(event_id=event_id)
        return None
    countdown = retry_countdown(max(attempts - 1, 0))
    StripeEvent.objects.filter(pk=event_id, status=EventStatus.FAILED).update(
        retry_at=now + dt.timedelta(seconds=countdown)
    )
    return countdown


def event_process_again(*, event: StripeEvent, actor: User | None) -> None:
    """Queue an event that failed (or was given up, or found invalid) again, after fixing
    what its error says: from the Stripe page or the admin. Its effects are keyed, so a
    second run is harmless. It is due at once and has its full round of retries again."""
    with transaction.atomic(durable=True):
        StripeEvent.objects.filter(
            pk=event.pk, status__in=[EventStatus.DEAD, EventStatus.INVALID, EventStatus.FAILED]
        ).update(status=EventStatus.FAILED, retry_at=timezone.now(), attempts=0)
        audit_record(practice=event.practice, actor=actor, action="stripe_event.again", obj=event)
        event_enqueue(event.pk, event.practice_id)


def event_give_up(*, event_id: int) -> None:
    """After the last retry: the event stays, marked for a person to look at."""
    StripeEvent.objects.filter(pk=event_id, status=EventStatus.FAILED).update(
        status=EventStatus.DEAD, retry_at=None
    )


# --- Recovery: what a dead worker held ------------------------------------------------
def events_lost(now: dt.datetime) -> Q:
    """Events whose message is presumed lost: due more than RECOVER_AFTER ago (a live
    worker takes a due message within seconds, a busy queue within minutes), or claimed
    by a worker that is past its time limit (killed: SIGKILL, out of memory, a lost host)."""
    return Q(
        status__in=[EventStatus.PENDING, EventStatus.FAILED], retry_at__lt=now - RECOVER_AFTER
    ) | Q(status=EventStatus.PROCESSING, retry_at__lt=now)


def events_recover(*, practice: Practice, now: dt.datetime | None = None) -> int:
    """Re-enqueue the practice's events that a dead worker (or a Redis restart) left
    behind; returns how many were queued. Redis would hand a killed worker's messages
    back only after the visibility timeout (6 h), retries it held included.

    Each event is taken with a conditional UPDATE (still lost, made due now), so two
    sweeps at once queue it once, and a live worker's claim is never touched. An event
    whose processing kept killing its worker is given up after its last attempt.
    """
    now = now or timezone.now()
    lost = StripeEvent.objects.filter(events_lost(now), practice=practice)
    queued = 0
    for event_id, status, attempts in lost.order_by("retry_at").values_list(
        "pk", "status", "attempts"
    )[:RECOVER_BATCH]:
        taken = lost.filter(pk=event_id, status=status)
        if status == EventStatus.PROCESSING and attempts >= MAX_EVENT_ATTEMPTS:
            taken.update(
                status=EventStatus.DEAD,
                retry_at=None,
                claimed_by="",
                last_error=(
                    f"The worker processing it stopped (killed, or over its time limit) "
                    f"at each of {attempts} attempts."
                ),
            )
            continue
        with transaction.atomic():
            if status == EventStatus.PROCESSING:
                took = taken.update(
                    status=EventStatus.FAILED,
                    retry_at=now,
                    claimed_by="",
                    last_error="The worker processing it stopped (killed, or over its time "
                    "limit); queued again.",
                )
            else:
                took = taken.update(retry_at=now)
            if took:
                event_enqueue(event_id, practice.pk)
                queued += 1
    if queued:
        logger.warning("Re-enqueued %s Stripe events of practice %s", queued, practice.pk)
    return queued


# --- Reconciliation -----------------------------------------------------------------
RECONCILE_OVERLAP = dt.timedelta(hours=1)
RECONCILE_FIRST_WINDOW = dt.timedelta(days=3)


def stripe_reconcile(
    *,
    practice: Practice,
    now: dt.datetime | None = None,
    attempt: int = 1,
) -> tuple[int, int]:
    """List the practice's recent events at Stripe and take in any we never received.

    Returns (events seen, events new to us). Also re-enqueues our own events a dead
    worker or a lost broker left behind (`events_recover`, which beat runs every minute).
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
    with call_recorded(
        practice_id=practice.pk,
        provider=CallProvider.STRIPE,
        operation="events.list",
        attempt=attempt,  # a failure that can pass is retried: beat reconciles again anyway
    ):
        listed = list(stripe_api.events_since(account.secret_key, since))
    for data in listed:
        seen += 1
        try:
            event_envelope_check(data)
        except WebhookRefused as refusal:
            logger.warning("Reconciling %s: skipped an event Stripe listed: %s", practice, refusal)
            continue
        if data["id"] in known:
            continue
        with transaction.atomic():
            if event_store(practice_id=practice.pk, data=data, source=EventSource.RECONCILE):
                new += 1
    events_recover(practice=practice, now=now)
    account.last_reconciled_at = now
    account.save(update_fields=["last_reconciled_at"])
    return seen, new


# --- The tasks ------------------------------------------------------------------------
@shared_task(base=PracticeTask, bind=True, max_retries=MAX_EVENT_RETRIES)
def stripe_event_process(self, *, practice_id: int, event_id: int) -> str:
    """Process one stored event. Acknowledged late: a worker killed mid-task leaves the
    message for another, and the claim, row lock and effect keys make the rerun harmless.
    The retries are counted on the event (`attempts`, `retry_at`), not on the message,
    so a copy queued by the recovery sweep carries on the same count."""
    try:
        return event_process(event_id=event_id, task_id=self.request.id or "")
    except Exception as error:
        # Run in-process (no broker), a failure stays on the event for "process again";
        # a worker retries with backoff, then gives up visibly.
        if self.is_eager:
            StripeEvent.objects.filter(pk=event_id, status=EventStatus.FAILED).update(retry_at=None)
            logger.warning("Stripe event %s failed: %s", event_id, error)
            return "failed"
        countdown = event_retry_schedule(event_id=event_id)
        if countdown is None:
            logger.warning("Stripe event %s: no further attempt: %s", event_id, error)
            status = StripeEvent.objects.filter(pk=event_id).values_list("status", flat=True)
            return status.first() or "gone"
        raise self.retry_later(error, countdown=countdown) from error


@shared_task(base=PracticeTask)
def stripe_events_recover(*, practice_id: int) -> int:
    """Beat's recovery sweep, for one practice (`events_recover`)."""
    return events_recover(practice=Practice.objects.get(pk=practice_id))


@shared_task(base=PracticeTask, bind=True, max_retries=3)
def stripe_reconcile_practice(self, *, practice_id: int) -> tuple[int, int]:
    practice = Practice.objects.get(pk=practice_id)
    try:
        return stripe_reconcile(practice=practice, attempt=self.attempt)
    except IntegrationError as error:
        if error.permanent:
            logger.warning("Reconciling %s: %s", practice, error)
            return 0, 0
        raise self.retry_later(error) from error
