"""What a dead worker held comes back within minutes: the recovery sweep re-enqueues a
Stripe event whose retry is overdue or whose worker is past its time limit, once, and
never one a live worker is processing (the real-worker version: test_worker_killed.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone
from django_scopes import scopes_disabled

from billing.events import (
    MAX_EVENT_ATTEMPTS,
    event_claim,
    event_process,
    event_process_again,
    event_retry_schedule,
    events_recover,
)
from billing.models import EventSource, EventStatus, Purchase, StripeEvent
from billing.tasks import stripe_event_process, stripe_events_recover_all
from coachhub.tenancy import practice_scope

from ..kit.stripe import buy, deliver, make_offer
from ..kit.worker import tasks_to_broker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _world_events_done(world):
    """The world's own sample events are settled: each test counts only its own."""
    with scopes_disabled():
        StripeEvent.objects.update(status=EventStatus.IGNORED, retry_at=None)


def stored(practice, *, type="invoice.created", obj=None, **fields) -> StripeEvent:
    """An event as the webhook stores it; an invoice.created is processed as "ignored"."""
    with scopes_disabled():
        number = StripeEvent.objects.count() + 1
        payload = {"id": f"evt_{number}", "type": type, "data": {"object": obj or {}}}
        return StripeEvent.objects.create(
            practice=practice,
            stripe_id=payload["id"],
            type=type,
            payload=payload,
            stripe_created=timezone.now(),
            source=EventSource.WEBHOOK,
            **fields,
        )


def reread(event: StripeEvent) -> StripeEvent:
    with scopes_disabled():
        event.refresh_from_db()
    return event


def later(minutes: float):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False)


def sweep(practice, django_capture_on_commit_callbacks, *, execute=True) -> int:
    with practice_scope(practice), django_capture_on_commit_callbacks(execute=execute):
        return events_recover(practice=practice)


def test_a_retry_its_dead_worker_held_is_queued_again_minutes_after_it_was_due(
    world, django_capture_on_commit_callbacks
):
    """The worker that scheduled the retry died with its message: Redis would hand it
    back after 6 hours; the sweep does five minutes after it was due."""
    practice = world.home.practice
    due = timezone.now() + dt.timedelta(seconds=30)
    event = stored(practice, status=EventStatus.FAILED, attempts=1, retry_at=due)
    with later(2):
        assert sweep(practice, django_capture_on_commit_callbacks) == 0  # its worker may be busy
    assert reread(event).status == EventStatus.FAILED
    with later(6):
        assert sweep(practice, django_capture_on_commit_callbacks) == 1
    event = reread(event)
    assert event.status == EventStatus.IGNORED and event.attempts == 2
    assert event.retry_at is None  # done: nothing left for the sweep


def test_an_event_a_live_worker_is_processing_is_left_to_it_until_its_time_limit(
    world, django_capture_on_commit_callbacks
):
    """A claim lasts the task's hard time limit; past it the worker has been killed,
    and the event is queued again, once."""
    practice = world.home.practice
    event = stored(practice)
    with practice_scope(practice):
        assert event_claim(event_id=event.pk) == (True, EventStatus.PROCESSING)
        assert event_claim(event_id=event.pk) == (False, EventStatus.PROCESSING)  # a copy
    assert reread(event).attempts == 1
    limit = settings.CELERY_TASK_TIME_LIMIT / 60
    with later(limit):
        assert sweep(practice, django_capture_on_commit_callbacks) == 0
    assert reread(event).status == EventStatus.PROCESSING
    with later(limit + 1):
        assert sweep(practice, django_capture_on_commit_callbacks, execute=False) == 1
        assert sweep(practice, django_capture_on_commit_callbacks, execute=False) == 0
    event = reread(event)
    assert event.status == EventStatus.FAILED and "worker processing it stopped" in event.last_error
    with later(limit + 1), practice_scope(practice):
        assert event_process(event_id=event.pk) == EventStatus.IGNORED
    assert reread(event).attempts == 2


def test_a_stale_copy_of_its_message_does_nothing_while_the_next_attempt_waits(world):
    """The sweep's copy and the original both reach a worker: one runs, the other finds
    the event done or not due, and counts no attempt."""
    practice = world.home.practice
    waiting = stored(
        practice,
        status=EventStatus.FAILED,
        attempts=2,
        retry_at=timezone.now() + dt.timedelta(minutes=1),
    )
    stripe_event_process.delay(practice_id=practice.pk, event_id=waiting.pk)
    waiting = reread(waiting)
    assert waiting.status == EventStatus.FAILED and waiting.attempts == 2
    done = stored(practice)
    stripe_event_process.delay(practice_id=practice.pk, event_id=done.pk)
    stripe_event_process.delay(practice_id=practice.pk, event_id=done.pk)
    done = reread(done)
    assert done.status == EventStatus.IGNORED and done.attempts == 1


def test_a_failed_attempt_records_when_the_next_is_due_and_the_last_gives_up(
    world, django_capture_on_commit_callbacks
):
    """Retries are counted on the event, so a copy queued by the sweep carries on the
    same count; after the last one the event is marked for a person to look at."""
    practice = world.home.practice
    refund = stored(
        practice, type="charge.refunded", obj={"id": "ch_1", "payment_intent": "pi_unknown"}
    )
    countdowns = []
    for _ in range(MAX_EVENT_ATTEMPTS):
        with later(60 * (len(countdowns) + 1)), practice_scope(practice):
            with pytest.raises(Exception, match="No purchase yet"):
                event_process(event_id=refund.pk)
            failed_at = timezone.now()
            countdowns.append(event_retry_schedule(event_id=refund.pk))
        if countdowns[-1] is not None:
            assert reread(refund).retry_at == failed_at + dt.timedelta(seconds=countdowns[-1])
    assert countdowns[:4] == [30, 60, 120, 240] and countdowns[-1] is None
    refund = reread(refund)
    assert refund.status == EventStatus.DEAD and refund.attempts == MAX_EVENT_ATTEMPTS
    assert refund.retry_at is None
    with practice_scope(practice), django_capture_on_commit_callbacks(execute=True):
        event_process_again(event=refund, actor=world.home.owner)  # the cause not fixed yet
    refund = reread(refund)
    assert refund.status == EventStatus.FAILED and refund.attempts == 1  # a fresh round


def test_an_event_that_kills_its_worker_every_time_is_given_up(
    world, django_capture_on_commit_callbacks
):
    """A poison event (the worker is killed or runs out of time on it) is not queued
    forever: the claims count as attempts, and after the last it is dead, saying why."""
    practice = world.home.practice
    event = stored(practice, attempts=MAX_EVENT_ATTEMPTS - 1)
    with practice_scope(practice):
        assert event_claim(event_id=event.pk)[0]
    with later(settings.CELERY_TASK_TIME_LIMIT / 60 + 1):
        assert sweep(practice, django_capture_on_commit_callbacks) == 0
    event = reread(event)
    assert event.status == EventStatus.DEAD and event.retry_at is None
    assert f"at each of {MAX_EVENT_ATTEMPTS} attempts" in event.last_error


def test_beat_runs_the_recovery_every_minute_for_each_practice_with_a_lost_event(
    world, django_capture_on_commit_callbacks
):
    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "billing.tasks.stripe_events_recover_all"
    ]
    assert entry["schedule"] <= 60
    lost = stored(world.home.practice, retry_at=timezone.now() - dt.timedelta(minutes=6))
    stored(world.other.practice)  # just arrived: its message is on its way
    with django_capture_on_commit_callbacks(execute=True):
        assert stripe_events_recover_all() == 1
    assert reread(lost).status == EventStatus.IGNORED


def test_a_message_handed_back_when_its_pool_process_died_runs_at_once(world):
    """Celery hands a message back as soon as the pool process running it dies (the
    main worker process lives on): the same task takes its own claim over, another
    task's copy still waits for the claim to lapse."""
    practice = world.home.practice
    event = stored(practice)
    with practice_scope(practice):
        assert event_claim(event_id=event.pk, task_id="task-1")[0]
        assert event_claim(event_id=event.pk, task_id="task-2") == (False, "processing")
        assert event_process(event_id=event.pk, task_id="task-1") == EventStatus.IGNORED
    event = reread(event)
    assert event.attempts == 2 and event.claimed_by == ""


def test_a_delivery_while_redis_is_down_is_stored_and_queued_by_the_sweep_later(
    connected, standin, client, django_capture_on_commit_callbacks
):
    """Stripe gets its 200 (the event is safe in the database, no resend needed); once
    Redis is back, the sweep queues what could not be queued then."""
    offer = make_offer(connected, kind="session_pack", name="Three", price="300.00", sessions=3)
    session_id = buy(client, offer, email="ned@example.net")
    standin.pay(session_id)
    [paid] = [
        event
        for event in standin.accounts[connected.secret_key].events
        if event["type"] == "checkout.session.completed"
    ]
    with tasks_to_broker("redis://127.0.0.1:9/0"), django_capture_on_commit_callbacks(execute=True):
        response = deliver(client, connected.practice, paid, connected.webhook_secret)
    assert response.status_code == 200
    with scopes_disabled():
        event = StripeEvent.objects.get(stripe_id=paid["id"])
    assert event.status == EventStatus.PENDING
    with later(6):
        assert sweep(connected.practice, django_capture_on_commit_callbacks) == 1
    assert reread(event).status == EventStatus.PROCESSED
    with scopes_disabled():
        purchase = Purchase.objects.get(checkout__stripe_id=session_id)
        assert purchase.client.email == "ned@example.net"
