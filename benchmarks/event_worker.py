"""Event processing benchmark: 5,000 signed deliveries through a real worker that is
killed (SIGKILL) and restarted midway.

    make benchmark-worker     (or: .venv/bin/python -m benchmarks.event_worker)

1. Baseline: 5,000 no-op tasks drained by `celery worker` (2 processes, the settings
   `make worker` runs with) on Redis.
2. 2,000 buyers pay on the Stripe stand-in: 1,500 five-session packages and 500
   monthly packages that renew once — 4,000 events in Stripe's shapes. A fifth of the
   deliveries are repeats (5,000 in all), shuffled, each signed as Stripe signs just
   before it is POSTed to the app under gunicorn, while no worker runs.
3. A worker starts; when half the events are processed it is SIGKILLed, then started
   again. The messages the killed worker held stay unacknowledged in Redis until the
   visibility timeout (6 h) hands them back; the benchmark makes that moment come now
   with kombu's own restore (the reconcile sweep would re-enqueue them after 10 minutes
   otherwise).
4. Every effect is counted against what 2,000 purchases must leave: exactly once.

Throughput is counted over the time the worker was busy (first message taken to the
queue drained, both lives), for the events and for the no-op tasks alike.
PostgreSQL and Redis on 127.0.0.1 (or $BENCH_DATABASE_URL, $BENCH_REDIS_URL).

Django, and all that imports models, is imported inside functions: a benchmark chooses
its database and settings at run time, before Django starts.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from benchmarks import common

PORT = int(os.environ.get("BENCH_PORT", "8785"))
PACKS = int(os.environ.get("BENCH_PACKS", "1500"))
SUBSCRIPTIONS = int(os.environ.get("BENCH_SUBSCRIPTIONS", "500"))
DUPLICATE_SHARE = 0.2  # of all deliveries
SEED = 2026
WORKER_PROCESSES = 2
GOALS = {"throughput_vs_noop": 0.25}
QUEUE = "celery"


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(common.BIN / "celery"),
            "--quiet",
            "-A",
            "coachhub",
            "worker",
            f"--concurrency={WORKER_PROCESSES}",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=warning",
        ],
        cwd=common.ROOT,
        env=env,
        start_new_session=True,
    )


class BusyClock:
    """Time from the first sign of progress to the last, over one or more worker lives."""

    def __init__(self):
        self.seconds = 0.0
        self.started: float | None = None
        self.last_value: int | None = None
        self.last_progress: float | None = None

    def observe(self, value: int) -> None:
        now = time.monotonic()
        if self.last_value is not None and value != self.last_value:
            if self.started is None:
                self.started = now
            self.last_progress = now
        self.last_value = value

    def stop(self) -> None:
        if self.started is not None and self.last_progress is not None:
            self.seconds += self.last_progress - self.started
        self.started = self.last_progress = None
        self.last_value = None


def wait_until(condition, *, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(poll)
    raise SystemExit(f"timed out waiting for {what}")


def noop_baseline(queue, worker_env: dict[str, str], count: int) -> float:
    from benchmarks.tasks import noop

    for _ in range(count):
        noop.delay()
    clock = BusyClock()
    worker = start_worker(worker_env)
    try:

        def drained() -> bool:
            waiting = queue.llen(QUEUE)
            clock.observe(waiting)
            return waiting == 0 and queue.hlen("unacked") == 0 and clock.started is not None

        wait_until(drained, timeout=600, what="the no-op tasks")
    finally:
        common.stop(worker)
    clock.stop()
    return count / clock.seconds


def deliver_all(shop, deliveries: list[dict]) -> Counter:
    """POST every delivery, signed just before it leaves, from four connections."""
    from devtools.stripe_standin import signature_header

    answers: Counter = Counter()
    lock = threading.Lock()
    cursor = iter(deliveries)

    def client() -> None:
        while True:
            with lock:
                event = next(cursor, None)
            if event is None:
                return
            body = json.dumps(event).encode()
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            connection.request(
                "POST",
                shop.webhook_path,
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": signature_header(body, shop.webhook_secret),
                },
            )
            response = connection.getresponse()
            answer = json.loads(response.read() or b"{}")
            connection.close()
            with lock:
                answers[(response.status, answer.get("duplicate"))] += 1

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def restore_unacknowledged(broker: str, tags: list[bytes]) -> int:
    """What Redis does once the visibility timeout has passed for the killed worker's
    messages: hand each back to the queue (kombu's own restore, for those tags only —
    the live worker's messages are not due)."""
    from kombu import Connection

    with Connection(broker) as connection:
        qos = connection.default_channel.qos
        for tag in tags:
            qos.restore_by_tag(tag.decode(), leftmost=True)
    return len(tags)


def sent_to(mail_dir: Path) -> list[str]:
    """The recipient of every message Django's file backend wrote (it may append several
    messages to one file, so messages are counted by their headers, not by files)."""
    recipients = []
    for path in mail_dir.iterdir():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("To: "):
                recipients.append(line[4:].strip())
    return recipients


def count(model, **filters) -> int:
    from django_scopes import scopes_disabled

    with scopes_disabled():
        return model.objects.filter(**filters).count()


def main() -> None:
    broker = common.redis_url(13)
    if not broker:
        raise SystemExit("Redis is needed (127.0.0.1:6379 or $BENCH_REDIS_URL).")
    mail_dir = Path(tempfile.mkdtemp(prefix="coachhub-bench-mail-"))
    database_url = common.database_url("coachhub_bench_worker")
    app_env = {
        "REDIS_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": f"file://{mail_dir}",
    }
    common.setup_django(database_url, **app_env)
    import redis
    from django.db import connection
    from django.db.models import Count, Sum

    from benchmarks import stripe_seed
    from billing.models import EventStatus, Payment, Purchase, StripeEvent
    from engagements.models import Client
    from sessions_app.models import CreditEntry, Session

    queue = redis.Redis.from_url(broker)
    standin = stripe_seed.serve_standin()
    app_env["STRIPE_API_BASE"] = standin.base_url
    worker_env = dict(
        os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="benchmarks.settings"
    )
    worker_env.update(app_env)
    shop = stripe_seed.connected_shop(standin, site=f"http://127.0.0.1:{PORT}")
    pack = stripe_seed.offer(
        shop, kind="session_pack", name="Five sessions", price="550.00", sessions=5
    )
    monthly = stripe_seed.offer(
        shop,
        kind="monthly_package",
        name="Monthly coaching",
        price="280.00",
        hours_per_month="2",
        months=3,
        session_minutes=60,
    )
    print(
        f"database: {connection.vendor}; broker: Redis; worker: {WORKER_PROCESSES} processes "
        f"(prefork, acks late, prefetch 1); gunicorn 2 workers"
    )

    started = time.monotonic()
    events = stripe_seed.paid_checkout_events(standin, shop, pack, buyers=range(PACKS))
    subscription_events = stripe_seed.paid_checkout_events(
        standin, shop, monthly, buyers=range(PACKS, PACKS + SUBSCRIPTIONS)
    )
    first_renewal = len(standin.accounts[shop.secret_key].events)
    for event in subscription_events:
        if event["type"] == "customer.subscription.created":
            standin.renew(event["data"]["object"]["id"])
    renewals = standin.accounts[shop.secret_key].events[first_renewal:]
    unique = events + subscription_events + renewals
    rng = random.Random(SEED)
    duplicates = rng.sample(unique, k=round(len(unique) * DUPLICATE_SHARE / (1 - DUPLICATE_SHARE)))
    deliveries = unique + duplicates
    rng.shuffle(deliveries)
    took = time.monotonic() - started
    print(
        f"{PACKS + SUBSCRIPTIONS} buyers paid at the stand-in in {took:.0f} s:"
        f" {len(unique)} events ({dict(Counter(event['type'] for event in unique))}); "
        f"{len(deliveries)} deliveries with {len(duplicates)} repeats, shuffled (seed {SEED})"
    )

    queue.flushdb()
    noop_rate = noop_baseline(queue, worker_env, len(deliveries))
    print(f"\nno-op tasks: {len(deliveries)} in {len(deliveries) / noop_rate:.1f} s busy")

    server = common.start_gunicorn(database_url, port=PORT, **app_env)
    try:
        started = time.monotonic()
        answers = deliver_all(shop, deliveries)
        took = time.monotonic() - started
    finally:
        common.stop(server)
    print(
        f"delivered {len(deliveries)} in {took:.1f} s ({len(deliveries) / took:.0f}/s): "
        f"{answers[(200, False)]} new, {answers[(200, True)]} duplicates, "
        f"{sum(n for (status, _), n in answers.items() if status != 200)} refused"
    )
    print(f"tasks waiting in Redis: {queue.llen(QUEUE)}")

    def processed() -> int:
        return count(StripeEvent, status=EventStatus.PROCESSED)

    half = len(unique) // 2
    clock = BusyClock()
    worker = start_worker(worker_env)

    def reached_half() -> bool:
        done = processed()
        clock.observe(done)
        return done >= half

    wait_until(reached_half, timeout=1800, what="half the events")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
    clock.stop()
    at_kill = processed()
    held_by_killed_worker = queue.hkeys("unacked")
    print(
        f"\nworker SIGKILLed with {at_kill} of {len(unique)} events processed; "
        f"messages it held unacknowledged: {len(held_by_killed_worker)}"
    )
    worker = start_worker(worker_env)
    try:
        idle_since = [time.monotonic(), processed()]

        def drained_and_idle() -> bool:
            done = processed()
            clock.observe(done)
            if done != idle_since[1]:
                idle_since[:] = [time.monotonic(), done]
            return queue.llen(QUEUE) == 0 and time.monotonic() - idle_since[0] > 3

        wait_until(drained_and_idle, timeout=1800, what="the restarted worker to drain")
        clock.stop()
        left = len(unique) - processed()
        print(
            f"restarted worker drained the queue; events still pending: {left} "
            f"(the killed worker's messages)"
        )
        restored = restore_unacknowledged(broker, held_by_killed_worker)
        print(f"visibility timeout passes: Redis hands back {restored} messages")
        wait_until(
            lambda: processed() == len(unique) and queue.llen(QUEUE) == 0,
            timeout=600,
            what="the handed-back messages",
        )
        wait_until(
            lambda: queue.llen(QUEUE) == 0 and queue.hlen("unacked") == 0,
            timeout=600,
            what="the last acknowledgements",
        )
    finally:
        common.stop(worker)
    events_rate = (len(unique) - left) / clock.seconds

    from django_scopes import scopes_disabled

    recipients = sent_to(mail_dir)
    with scopes_disabled():
        purchases = Purchase.objects.filter(practice=shop.practice)
        grants = CreditEntry.objects.filter(practice=shop.practice, kind="grant")
        statuses = dict(
            StripeEvent.objects.filter(practice=shop.practice)
            .values("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        sessions_per_engagement = Counter(
            (row["engagement__kind"], row["n"])
            for row in Session.objects.filter(practice=shop.practice)
            .values("engagement", "engagement__kind")
            .annotate(n=Count("pk"))
        )
        figures = {
            "events stored (unique ids)": (sum(statuses.values()), len(unique)),
            "events processed": (statuses.get(EventStatus.PROCESSED, 0), len(unique)),
            "purchases": (purchases.count(), PACKS + SUBSCRIPTIONS),
            "new clients": (
                Client.objects.filter(practice=shop.practice, email__startswith="buyer").count(),
                PACKS + SUBSCRIPTIONS,
            ),
            "engagements from purchases": (
                purchases.exclude(engagement=None).values("engagement").distinct().count(),
                PACKS + SUBSCRIPTIONS,
            ),
            "payments (checkouts + invoices)": (
                Payment.objects.filter(practice=shop.practice).count(),
                PACKS + 2 * SUBSCRIPTIONS,
            ),
            "credit grants": (grants.count(), PACKS + 2 * SUBSCRIPTIONS),
            "credits granted": (
                grants.aggregate(total=Sum("amount"))["total"] or 0,
                PACKS * pack.credits_per_period + 2 * SUBSCRIPTIONS * monthly.credits_per_period,
            ),
            "confirmation e-mails sent": (len(recipients), PACKS + SUBSCRIPTIONS),
            "buyers e-mailed": (len(set(recipients)), PACKS + SUBSCRIPTIONS),
        }
    print("\nEffects (found / expected)")
    exact = True
    for label, (found, expected) in figures.items():
        exact &= found == expected
        print(f"  {label:34} {found:6} / {expected:<6} {'OK' if found == expected else 'WRONG'}")
    print(f"  event statuses: {statuses}")
    print(
        "  sessions per engagement (kind, sessions): "
        + ", ".join(
            f"{kind} {n}: {engagements}×"
            for (kind, n), engagements in sorted(sessions_per_engagement.items())
        )
    )
    ratio = events_rate / noop_rate
    print("\nThroughput (busy time)")
    print(f"  no-op task          {noop_rate:8.0f} /s")
    print(f"  Stripe event        {events_rate:8.0f} /s")
    print("\nGoals")
    print(f"  every effect exactly once, nothing lost: {'OK' if exact else 'MISSED'}")
    print(
        f"  event throughput ≥ {GOALS['throughput_vs_noop']}× no-op: {ratio:.2f}× "
        f"{common.verdict(ratio, GOALS['throughput_vs_noop'], at_least=True)}"
    )
    queue.flushdb()


if __name__ == "__main__":
    main()
