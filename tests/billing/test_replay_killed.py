"""Issue 15's end-to-end check: whole purchase lifecycles, their events delivered shuffled
with a fifth of them twice, processed by a real Celery worker that is SIGKILLed midway
with tasks in flight; a new worker and the recovery sweep (clock moved) finish the work,
and every purchase and credit balance ends as when the same events are processed in
order. 200 deliveries by default (about 20 s); `REPLAY_EVENTS=2000` for the full run
(about 70 s). The in-order reference and the replay start from the same database state: the
reference runs in-process inside a transaction that is then rolled back."""

from __future__ import annotations

import datetime as dt
import os
import random
import time

import pytest
from django.db.models import Count, F
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.events import event_store
from billing.models import EventSource, EventStatus, StripeEvent
from billing.tasks import stripe_events_recover_all

from ..kit.lifecycles import BUYERS, end_state, events_process, lifecycles_play, rolled_back
from ..kit.stripe import make_offer
from ..kit.worker import (
    RowsLocked,
    tasks_to_redis,
    wait_for,
    worker_kill,
    worker_start,
    worker_stop,
)
from .test_recorded_payloads import monthly_offer

REDIS_DB = 4  # this test's own database on the Redis server
DELIVERIES = int(os.environ.get("REPLAY_EVENTS", "200"))
DONE = (EventStatus.PROCESSED, EventStatus.IGNORED)


def _practice_events(practice):
    return StripeEvent.objects.filter(practice=practice, source=EventSource.WEBHOOK)


def _time_passes(by: dt.timedelta, practice) -> None:
    """Move the events' clock instead of the workers': every due time and claim comes
    `by` earlier."""
    with scopes_disabled():
        StripeEvent.objects.filter(practice=practice).update(
            retry_at=F("retry_at") - by, received_at=F("received_at") - by
        )


def _customer(event: dict) -> str | None:
    return event["data"]["object"].get("customer")


def _held_midway(shuffled: list[dict], events: list[dict], start: int, count: int) -> dict:
    """The checkouts of `count` buyers whose purchase is first reached (by their checkout,
    subscription or invoice events, which lock the checkout to make the purchase) after
    `start` in `shuffled`: locked, that event holds a worker process (in flight) until the
    kill; their refunds and disputes before it fail and wait for their retries."""
    first: dict[str, int] = {}
    for position, event in enumerate(shuffled):
        customer = _customer(event)
        if customer and not event["type"].startswith("charge."):
            first.setdefault(customer, position)
    checkouts = {
        _customer(event): event["data"]["object"]["id"]
        for event in events
        if event["type"] == "checkout.session.completed"
    }
    late = sorted(
        (position, customer)
        for customer, position in first.items()
        if position >= start and customer in checkouts
    )
    return {checkouts[customer]: customer for _, customer in late[:count]}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_shuffled_replay_with_duplicates_and_a_killed_worker_ends_as_in_order(
    connected, standin, client, settings, django_capture_on_commit_callbacks
):
    """Every credit balance, payment, refund and dispute as in order, with no event left
    failing, however the events came and whichever of them the dead worker held."""
    for name in (
        "PUBLIC_POST_RATE_PER_ADDRESS",
        "PUBLIC_POST_RATE_PER_PRACTICE",
        "PUBLIC_CHANGE_RATE_PER_ADDRESS",
        "PUBLIC_CHANGE_RATE_PER_PRACTICE",
    ):  # one test client buys for every buyer
        setattr(settings, name, "100000/m")
    practice = connected.practice
    monthly = monthly_offer(connected)
    pack = make_offer(
        connected, kind="session_pack", name="Five sessions", price="450.00", sessions=5
    )
    account = standin.accounts[connected.secret_key]
    stories = 0
    while len(account.events) * 6 // 5 < DELIVERIES:
        lifecycles_play(standin, account, client, monthly=monthly, pack=pack, tag=str(stories))
        stories += 1
    events = list(account.events)
    with scopes_disabled():  # the world's sample events are settled: only these count
        StripeEvent.objects.update(status=EventStatus.IGNORED, retry_at=None)

    with rolled_back():
        events_process(practice, events, django_capture_on_commit_callbacks)
        in_order = end_state(practice)
    assert in_order["stuck"] == []
    buyers = {f"{buyer}{n}@example.net" for buyer in BUYERS for n in range(stories)}
    assert buyers <= in_order["purchases"].keys()
    with scopes_disabled():
        assert not _practice_events(practice).exists()  # the replay starts afresh

    rng = random.Random(15)
    shuffled = events + rng.sample(events, k=len(events) // 5)
    rng.shuffle(shuffled)
    held = _held_midway(shuffled, events, len(shuffled) // 3, 2)
    assert len(held) == 2, "no buyer first reached after a third of the deliveries"

    with tasks_to_redis(REDIS_DB) as queue:
        broker = queue.connection_pool.connection_kwargs
        broker_url = f"redis://{broker['host']}:{broker['port']}/{REDIS_DB}"
        first, locked = worker_start(broker_url), RowsLocked(list(held))
        try:
            with scopes_disabled():
                stored = [
                    event_store(practice_id=practice.pk, data=data, source=EventSource.WEBHOOK)
                    for data in shuffled
                ]

            # Both of the worker's processes are held by a locked buyer's event: the same
            # two events of theirs in flight a second apart (others take milliseconds).
            seen: list = []

            def held_in_flight() -> bool:
                in_flight = set(
                    _practice_events(practice)
                    .filter(status=EventStatus.PROCESSING)
                    .values_list("pk", "payload__data__object__customer")
                )
                seen.append(in_flight)
                time.sleep(0.5)
                return (
                    len(in_flight) >= 2
                    and {customer for _, customer in in_flight} <= set(held.values())
                    and len(seen) >= 3
                    and seen[-2] == seen[-3] == in_flight
                )

            wait_for(
                held_in_flight,
                timeout=max(60, DELIVERIES / 10),
                what="the worker to reach the locked buyers",
            )
            worker_kill(first)
        finally:
            worker_stop(first)
            locked.release()
        killed_at = time.monotonic()
        with scopes_disabled():
            at_kill = dict(_practice_events(practice).values_list("status").annotate(n=Count("pk")))
            retries_held = (
                _practice_events(practice)
                .filter(status=EventStatus.FAILED, retry_at__gt=timezone.now())
                .count()
            )
        assert at_kill.get(EventStatus.PROCESSING, 0) >= 2  # in flight when it died
        unacked = queue.hlen("unacked")  # Redis gives these back only after 6 hours

        second, sweeps = worker_start(broker_url), 0
        try:
            while True:
                _settle(queue, practice)
                with scopes_disabled():
                    left = _practice_events(practice).exclude(status__in=DONE).count()
                if not left:
                    break
                assert sweeps < 30, f"{left} events still not at their end state"
                # Six minutes pass: dead claims lapse, overdue retries are taken back.
                _time_passes(dt.timedelta(minutes=6), practice)
                stripe_events_recover_all()
                sweeps += 1
        finally:
            worker_stop(second)
        recovered_in = time.monotonic() - killed_at

    replayed = end_state(practice)
    mismatches = [
        email
        for email in in_order["purchases"].keys() | replayed["purchases"].keys()
        if in_order["purchases"].get(email) != replayed["purchases"].get(email)
    ]
    print(
        f"\nreplay: {len(shuffled)} deliveries ({len(events)} events, "
        f"{len(shuffled) - len(events)} duplicates, "
        f"{sum(1 for e in stored if e is None)} refused as already stored), "
        f"{5 * stories} purchases; 1 worker SIGKILLed with {at_kill} "
        f"({retries_held} retries waiting, {unacked} messages unacknowledged); "
        f"end state {recovered_in:.1f} s after the kill, "
        f"{sweeps} sweeps ({6 * sweeps} moved minutes); mismatches: {len(mismatches)}"
    )
    assert mismatches == []
    assert replayed == in_order


def _settle(queue, practice, *, quiet: float = 1.0, timeout: float = 120.0) -> None:
    """Wait until the live worker has run what it was given: nothing queued, and no
    event has changed for `quiet` seconds."""

    def snapshot():
        with scopes_disabled():
            return sorted(
                _practice_events(practice).values_list("pk", "status", "attempts")
            ), queue.llen("celery")

    deadline, last, since = time.monotonic() + timeout, None, time.monotonic()
    while time.monotonic() < deadline:
        current = snapshot()
        if current != last:
            last, since = current, time.monotonic()
        elif not current[1] and time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)
