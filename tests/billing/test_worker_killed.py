"""A real worker SIGKILLed while it holds Stripe events in flight and their scheduled
retries: Redis keeps those messages unacknowledged for its visibility timeout (6 hours);
the recovery sweep queues the events again from the database, and every one reaches its
end state minutes later, each effect once. Unit version: test_recovery.py."""

from __future__ import annotations

import datetime as dt
import os
import signal

import pytest
from django.db.models import F
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.events import event_store
from billing.models import (
    EventSource,
    EventStatus,
    Payment,
    Purchase,
    PurchaseStatus,
    StripeEvent,
)
from billing.tasks import stripe_events_recover_all
from sessions_app.ledger import credit_balance

from ..kit.stripe import buy, make_offer
from ..kit.worker import (
    RowsLocked,
    tasks_to_redis,
    wait_for,
    worker_kill,
    worker_start,
    worker_stop,
)

REDIS_DB = 12  # this test's own database on the Redis server


@pytest.fixture
def queue():
    with tasks_to_redis(REDIS_DB) as redis_db:
        yield redis_db


def store(connected, events: list[dict]) -> list[int]:
    """What the webhook does: store each event and queue its processing (to Redis)."""
    with scopes_disabled():
        return [
            event_store(practice_id=connected.practice.pk, data=data, source=EventSource.WEBHOOK).pk
            for data in events
        ]


def statuses(ids: list[int]) -> list[str]:
    return list(StripeEvent.objects.filter(pk__in=ids).values_list("status", flat=True))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_events_a_killed_worker_held_reach_their_end_minutes_later_not_hours(
    connected, standin, client, queue
):
    offer = make_offer(connected, kind="session_pack", name="Three", price="300.00", sessions=3)
    account = standin.accounts[connected.secret_key]

    def pays(email: str, *, refund: bool = False) -> tuple[str, dict, dict | None]:
        """The buyer pays (and, with `refund`, the coach refunds it at Stripe)."""
        session_id = buy(client, offer, email=email)
        start, charges = len(account.events), {c["id"] for c in standin.charges(account)}
        standin.pay(session_id)
        [paid] = [e for e in account.events[start:] if e["type"] == "checkout.session.completed"]
        if not refund:
            return session_id, paid, None
        [charge] = [c for c in standin.charges(account) if c["id"] not in charges]
        standin.refund(account, charge["id"], None)
        assert account.events[-1]["type"] == "charge.refunded"
        return session_id, paid, account.events[-1]

    flying = [pays(f"fly{n}@example.net") for n in range(2)]
    refunded = [pays(f"back{n}@example.net", refund=True) for n in range(2)]
    sessions = [session_id for session_id, *_ in flying + refunded]
    with scopes_disabled():  # the world's sample events are settled: only these count
        StripeEvent.objects.update(status=EventStatus.IGNORED, retry_at=None)

    broker = queue.connection_pool.connection_kwargs
    broker_url = f"redis://{broker['host']}:{broker['port']}/{REDIS_DB}"
    first, locked = worker_start(broker_url), None
    try:
        # The refunds arrive before their checkouts: each fails ("no purchase yet") and
        # its retry is scheduled, 30 s on, in a message the worker holds.
        refund_ids = store(connected, [refund for *_, refund in refunded])
        wait_for(
            lambda: (
                StripeEvent.objects.filter(
                    pk__in=refund_ids, status=EventStatus.FAILED, retry_at__gt=F("received_at")
                ).count()
                == len(refund_ids)
            ),
            what="the refunds to fail and schedule their retries",
        )
        wait_for(
            lambda: queue.hlen("unacked") == 2 and not queue.llen("celery"),
            what="the worker to hold the retries",
        )
        # Two checkouts are in flight: claimed, their handlers waiting on the lock.
        locked = RowsLocked([session_id for session_id, *_ in flying])
        flying_ids = store(connected, [paid for _, paid, _ in flying])
        wait_for(
            lambda: statuses(flying_ids) == [EventStatus.PROCESSING] * 2,
            what="the checkouts to be taken",
        )

        def held_at_once() -> bool:
            """In flight and scheduled at the same moment (under load a retry may have
            come due and been rescheduled meanwhile: it is held again by now)."""
            retries_waiting = StripeEvent.objects.filter(
                pk__in=refund_ids, status=EventStatus.FAILED, retry_at__gt=timezone.now()
            ).count()
            return (
                statuses(flying_ids) == [EventStatus.PROCESSING] * 2
                and retries_waiting == len(refund_ids)
                and not queue.llen("celery")
                and queue.hlen("unacked") >= 4
            )

        wait_for(held_at_once, what="the checkouts and the retries to be held")
        worker_kill(first)
    finally:
        worker_stop(first)
        if locked is not None:
            locked.release()
    held = queue.hlen("unacked")
    assert held >= 4  # 2 in flight + 2 retries: Redis would hand them back in 6 hours

    second = worker_start(broker_url)
    try:
        # The refunds' checkouts arrive now and are processed by the new worker.
        store(connected, [paid for _, paid, _ in refunded])
        wait_for(
            lambda: Purchase.objects.filter(client__email__startswith="back").count() == 2,
            what="the refunds' purchases",
        )
        with scopes_disabled():
            assert statuses(flying_ids) == [EventStatus.PROCESSING] * 2  # claimed, worker dead
            assert statuses(refund_ids) == [EventStatus.FAILED] * 2  # retry due in seconds
        assert stripe_events_recover_all() == 0  # a live claim and a fresh retry are left be

        # Six minutes pass: past the dead worker's time limit (5 min + 30 s) and five
        # minutes past the retries' due time. Beat's next run (every minute) takes them.
        _time_passes(dt.timedelta(minutes=6), connected.practice)
        assert stripe_events_recover_all() == 1  # one practice, its 4 events
        wait_for(
            lambda: set(statuses(flying_ids + refund_ids)) == {EventStatus.PROCESSED},
            what="every event to be processed",
        )
    finally:
        worker_stop(second)
    assert queue.hlen("unacked") == held  # the dead worker's copies, still waiting in Redis

    with scopes_disabled():
        purchases = Purchase.objects.filter(checkout__stripe_id__in=sessions).select_related(
            "engagement", "client"
        )
        assert purchases.count() == 4
        by_email = {purchase.client.email: purchase for purchase in purchases}
        for n in range(2):
            assert credit_balance(by_email[f"fly{n}@example.net"].engagement) == 3
            back = by_email[f"back{n}@example.net"]
            assert back.status == PurchaseStatus.REFUNDED
            assert credit_balance(back.engagement) == 0
        assert Payment.objects.filter(purchase__in=purchases).count() == 4
        attempts = dict(StripeEvent.objects.values_list("pk", "attempts"))
        assert [attempts[pk] for pk in flying_ids] == [2, 2]  # one before the kill, one after
        assert all(attempts[pk] >= 2 for pk in refund_ids)


def _time_passes(by: dt.timedelta, practice) -> None:
    """Move the events' clock instead of the worker's: every due time and claim an
    event holds comes `by` earlier."""
    with scopes_disabled():
        StripeEvent.objects.filter(practice=practice).update(
            retry_at=F("retry_at") - by, received_at=F("received_at") - by
        )


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_event_whose_pool_process_was_killed_is_run_again_at_once(
    connected, standin, client, queue
):
    """Only the pool process dies (the out-of-memory killer's pick): the worker hands its
    message back at once, and the same message takes its claim over — no sweep needed."""
    offer = make_offer(connected, kind="session_pack", name="Three", price="300.00", sessions=3)
    session_id = buy(client, offer, email="oom@example.net")
    standin.pay(session_id)
    [paid] = [
        event
        for event in standin.accounts[connected.secret_key].events
        if event["type"] == "checkout.session.completed"
    ]
    broker = queue.connection_pool.connection_kwargs
    worker = worker_start(f"redis://{broker['host']}:{broker['port']}/{REDIS_DB}", concurrency=1)
    locked = RowsLocked([session_id])
    try:
        [event_id] = store(connected, [paid])
        wait_for(lambda: statuses([event_id]) == [EventStatus.PROCESSING], what="the claim")
        [pool_process] = _children(worker.pid)
        os.kill(pool_process, signal.SIGKILL)
        wait_for(lambda: _children(worker.pid) not in ([], [pool_process]), what="a new process")
        locked.release()
        wait_for(lambda: statuses([event_id]) == [EventStatus.PROCESSED], what="the rerun")
    finally:
        locked.release()
        worker_stop(worker)
    with scopes_disabled():
        event = StripeEvent.objects.get(pk=event_id)
        assert event.attempts == 2
        purchase = Purchase.objects.select_related("engagement").get(checkout__stripe_id=session_id)
        assert credit_balance(purchase.engagement) == 3


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return [int(child) for child in children.read().split()]
