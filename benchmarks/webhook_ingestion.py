"""Webhook ingestion benchmark: Stripe's webhook vs a view that inserts one row.

    make benchmark-webhooks   (or: .venv/bin/python -m benchmarks.webhook_ingestion)

Starts gunicorn (2 workers) on loopback with tasks going to Redis, as in production,
and in the same run sends both URLs the same bodies: unique Stripe events, each signed
exactly as Stripe signs (timestamp + HMAC-SHA256 with the practice's secret) just before
its round, so every signature is fresh. The load comes from a small Python client
(wrk cannot sign each body), one connection per gunicorn worker. Also counts the
queries one delivery makes and any outbound HTTP (Stripe calls land on the stand-in,
whose counter must not move). PostgreSQL and Redis on 127.0.0.1 (or $BENCH_DATABASE_URL,
$BENCH_REDIS_URL); without Redis the app would process events in the request, so the
benchmark refuses to run.

Django, and all that imports models, is imported inside functions: a benchmark chooses
its database and settings at run time, before Django starts.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time

from benchmarks import common

PORT = int(os.environ.get("BENCH_PORT", "8775"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "2"))
ROUNDS = 2
GOALS = {"p99_vs_minimal": 2.0, "queries_per_event": 3, "outbound_http": 0}


class EventFactory:
    """Unique events shaped like a real `checkout.session.completed` from the stand-in."""

    def __init__(self, template: dict, secret: str):
        self.text = json.dumps(template)
        self.event_id = template["id"]
        self.secret = secret
        self.made = 0

    def signed(self, count: int) -> list[tuple[bytes, str]]:
        from devtools.stripe_standin import signature_header

        now = int(time.time())
        bodies = []
        for _ in range(count):
            self.made += 1
            body = self.text.replace(self.event_id, f"evt_bench{self.made:09d}").encode()
            bodies.append((body, signature_header(body, self.secret, timestamp=now)))
        return bodies


def load(path: str, bodies: list[tuple[bytes, str]], seconds: float) -> dict:
    """POST bodies from CONNECTIONS threads for `seconds`; every answer must be 200."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    cursor = iter(bodies)
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                item = next(cursor, None)
            if item is None:
                errors.append("ran out of pre-signed events; raise the batch size")
                return
            body, signature = item
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
            connection.request(
                "POST",
                path,
                body=body,
                headers={"Content-Type": "application/json", "Stripe-Signature": signature},
            )
            response = connection.getresponse()
            response.read()
            connection.close()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                errors.append(f"{path} answered {response.status}")
                return
            with lock:
                latencies.append(elapsed)

    began = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(errors[0])
    return {"latencies": latencies, "seconds": time.monotonic() - began}


def summary(runs: list[dict]) -> dict[str, float]:
    latencies = sorted(value for run in runs for value in run["latencies"])
    seconds = sum(run["seconds"] for run in runs)
    return {
        "p50": common.percentile(latencies, 0.50),
        "p99": common.percentile(latencies, 0.99),
        "rps": len(latencies) / seconds,
        "requests": len(latencies),
    }


def queries_and_outbound_calls(shop, factory: EventFactory, count: int = 200) -> tuple[int, int]:
    """Deliver `count` events in this process: the most queries one took, and every
    HTTP connection opened meanwhile (Redis is not HTTP; the broker push is counted
    apart by the queue length)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    opened = []
    original_connect = http.client.HTTPConnection.connect

    def counting_connect(self):
        opened.append(self.host)
        return original_connect(self)

    http.client.HTTPConnection.connect = counting_connect
    browser = Client(HTTP_HOST="127.0.0.1")
    most = 0
    try:
        for body, signature in factory.signed(count):
            with CaptureQueriesContext(connection) as queries:
                response = browser.post(
                    shop.webhook_path,
                    data=body,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=signature,
                )
            assert response.status_code == 200, response.content
            most = max(most, len(queries))
    finally:
        http.client.HTTPConnection.connect = original_connect
    return most, len(opened)


def print_figures(label: str, figures: dict[str, float]) -> None:
    print(
        f"  {label} p50 {figures['p50']:6.2f} ms  p99 {figures['p99']:6.2f} ms"
        f"  {figures['rps']:7.0f} req/s  ({figures['requests']} requests)"
    )


def main() -> None:
    broker = common.redis_url(14)
    if not broker:
        raise SystemExit("Redis is needed (127.0.0.1:6379 or $BENCH_REDIS_URL).")
    database_url = common.database_url("coachhub_bench_webhooks")
    common.setup_django(database_url, REDIS_URL=broker, CELERY_TASK_ALWAYS_EAGER="false")
    import redis
    from django.db import connection

    from benchmarks import stripe_seed

    standin = stripe_seed.serve_standin()
    shop = stripe_seed.connected_shop(standin, site=f"http://127.0.0.1:{PORT}")
    single = stripe_seed.offer(shop, kind="single_session", name="Session", price="120.00")
    [*_, template] = stripe_seed.paid_checkout_events(standin, shop, single, buyers=range(1))
    factory = EventFactory(template, shop.webhook_secret)
    print(
        f"database: {connection.vendor}; broker: Redis; gunicorn 2 workers; "
        f"{CONNECTIONS} connections × {SECONDS:g} s × {ROUNDS} rounds per URL; "
        f"event body {len(factory.text)} bytes ({template['type']})"
    )

    queue = redis.Redis.from_url(broker)
    queue.flushdb()
    calls_before = standin.requests
    server = common.start_gunicorn(
        database_url,
        port=PORT,
        REDIS_URL=broker,
        CELERY_TASK_ALWAYS_EAGER="false",
        STRIPE_API_BASE=standin.base_url,
    )
    minimal_runs, webhook_runs = [], []
    try:
        batch = int(SECONDS * 4000)  # more than the connections can send in SECONDS
        warm_up = [
            load(path, factory.signed(4000), 1) for path in ("/bench/insert", shop.webhook_path)
        ]
        for _ in range(ROUNDS):
            minimal_runs.append(load("/bench/insert", factory.signed(batch), SECONDS))
            webhook_runs.append(load(shop.webhook_path, factory.signed(batch), SECONDS))
    finally:
        common.stop(server)
    outbound_during_load = standin.requests - calls_before

    from django_scopes import scopes_disabled

    from billing.models import StripeEvent

    with scopes_disabled():
        stored = StripeEvent.objects.filter(practice=shop.practice).count()
    queued = queue.llen("celery")
    most_queries, connections_opened = queries_and_outbound_calls(shop, factory)
    minimal, webhook = summary(minimal_runs), summary(webhook_runs)
    print()
    print_figures("minimal insert view", minimal)
    print_figures("Stripe webhook     ", webhook)
    ratio = webhook["p99"] / minimal["p99"]
    print(
        f"  ratio webhook / minimal: p50 {webhook['p50'] / minimal['p50']:.2f}×, p99 {ratio:.2f}×"
    )
    sent = sum(len(run["latencies"]) for run in [*webhook_runs, warm_up[1]])
    print(f"  events stored {stored} of {sent} sent; processing tasks waiting in Redis: {queued}")
    print(
        f"  Stripe API calls during the load: {outbound_during_load}; "
        f"HTTP connections opened by 200 in-process deliveries: {connections_opened}"
    )
    print("\nGoals")
    print(
        f"  webhook p99 ≤ {GOALS['p99_vs_minimal']}× minimal insert p99: {ratio:.2f}× "
        f"{common.verdict(ratio, GOALS['p99_vs_minimal'])}"
    )
    print(
        f"  queries per event ≤ {GOALS['queries_per_event']}: {most_queries} (most of 200) "
        f"{common.verdict(most_queries, GOALS['queries_per_event'])}"
    )
    outbound = outbound_during_load + connections_opened
    print(f"  no outbound HTTP in the request: {outbound} {common.verdict(outbound, 0)}")
    queue.flushdb()


if __name__ == "__main__":
    main()
