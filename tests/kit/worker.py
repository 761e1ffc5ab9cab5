"""A real Celery worker on Redis, for tests that kill it: the test process sends tasks to
its own Redis database, and `celery -A coachhub worker` runs them against the test
database (PostgreSQL: an SQLite test database lives in one process only)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django_scopes import scopes_disabled

from billing.models import Checkout

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def tasks_to_broker(url: str):
    """Publish this test's tasks to the broker at `url` instead of running them in-process."""
    import kombu.pools

    from coachhub.celery import app

    def forget_connections() -> None:
        kombu.pools.reset()  # earlier tests may have opened the in-memory broker
        app._pool = None
        app.amqp._producer_pool = None

    before = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager, app.conf.broker_url = False, url
    forget_connections()
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_url = before
        forget_connections()


@contextmanager
def tasks_to_redis(db: int):
    """Publish this test's tasks to Redis database `db` (emptied before and after)."""
    import redis

    url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + f"/{db}"
    queue = redis.Redis.from_url(url)
    queue.flushdb()
    try:
        with tasks_to_broker(url):
            yield queue
    finally:
        queue.flushdb()


def worker_start(broker: str, *, concurrency: int = 2) -> subprocess.Popen:
    """`celery worker` as `make worker` runs it (prefork, acks late, prefetch 1), on the
    test database, in its own process group so that a kill takes its children too."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "coachhub.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "STRIPE_API_BASE": settings.STRIPE_API_BASE,
        "EMAIL_URL": "memory://",
    }
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "coachhub",
            "worker",
            f"--concurrency={concurrency}",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-l",
            "error",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def worker_kill(worker: subprocess.Popen) -> None:
    """SIGKILL, as the out-of-memory killer or a lost host does: nothing is acknowledged."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()


def worker_stop(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker_kill(worker)


def wait_for(condition, *, timeout: float = 30.0, what: str = "the worker"):
    deadline = time.monotonic() + timeout
    while True:
        with scopes_disabled():
            value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {value!r})")
        time.sleep(0.1)


class RowsLocked:
    """Another transaction holds these checkouts, so a worker processing their events
    stays in flight (claimed, inside its handler) until `release()`."""

    def __init__(self, checkout_ids: list[str]):
        self.locked, self.done = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(checkout_ids,), daemon=True)
        self.thread.start()
        assert self.locked.wait(10)

    def _hold(self, checkout_ids: list[str]) -> None:
        try:
            with scopes_disabled(), transaction.atomic():
                list(Checkout.objects.select_for_update().filter(stripe_id__in=checkout_ids))
                self.locked.set()
                self.done.wait(60)
        finally:
            connection.close()

    def release(self) -> None:
        self.done.set()
        self.thread.join(10)  # a second call finds it done
