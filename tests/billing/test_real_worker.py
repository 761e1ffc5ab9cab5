"""A purchase processed end to end by a real Celery worker on Redis: the stand-in's
hosted checkout is paid, Stripe's events are delivered signed to the running app,
which stores them and enqueues; a separate worker process does the rest, down to the
client's Slack channel and invite (the Slack stand-in runs in this process, on
127.0.0.1, and the worker is pointed at it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django_scopes import scopes_disabled

from billing import services
from billing.models import EventStatus, Purchase, StripeEvent
from chat.models import ChannelStatus, InvitePath, InviteStatus, SlackChannel, SlackInvite
from sessions_app.ledger import credit_balance

from ..kit.slack import serving_slack, slack_connect
from ..kit.stripe import connect, serving_standin
from ..kit.world import build_practice

ROOT = Path(__file__).resolve().parents[2]
# Another Redis database than the suite's own; TEST_WORKER_REDIS_DB moves it (parallel runs).
WORKER_REDIS_DB = int(os.environ.get("TEST_WORKER_REDIS_DB", "9"))


@pytest.fixture
def delivering_standin(settings):
    with serving_standin(settings, deliver=True) as fake:
        yield fake


@pytest.fixture
def slack_standin(settings):
    with serving_slack(settings) as standin:
        yield standin


@pytest.fixture
def celery_on_redis(slack_standin):
    """Send tasks to Redis (not in-process) for this test, and start one worker."""
    import redis

    from coachhub.celery import app

    redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + f"/{WORKER_REDIS_DB}"
    redis.Redis.from_url(redis_url).flushdb()
    before = (app.conf.task_always_eager, app.conf.broker_url)
    app.conf.task_always_eager = False
    app.conf.broker_url = redis_url
    _forget_connections(app)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "coachhub.settings",
        "DJANGO_ENV": "development",
        "DATABASE_URL": (
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "STRIPE_API_BASE": settings.STRIPE_API_BASE,
        "SLACK_API_BASE": settings.SLACK_API_BASE,
        "EMAIL_URL": "console://",
    }
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "coachhub",
            "worker",
            "--pool=solo",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    yield worker
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
    app.conf.task_always_eager, app.conf.broker_url = before
    _forget_connections(app)


def _forget_connections(app) -> None:
    """Earlier tests may have opened the in-memory broker; publish on the new URL."""
    import kombu.pools

    kombu.pools.reset()  # drops kombu's registry of pools, so none is reused closed
    app._pool = None
    app.amqp._producer_pool = None


def _wait_for(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with scopes_disabled():
            value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("the worker did not finish in time")


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_turns_a_paid_checkout_into_records(
    live_server, delivering_standin, slack_standin, celery_on_redis
):
    home = build_practice("home")
    connected = connect(home.practice, home.owner, delivering_standin, site=live_server.url)
    team = slack_connect(home.practice, home.owner, slack_standin)
    ivy = team.member_add("ivy@example.net", "Ivy")
    with scopes_disabled():
        offer = services.offer_save(
            practice=home.practice,
            actor=home.owner,
            kind="session_pack",
            name="Three sessions",
            price="300.00",
            sessions=3,
            coach=home.coach,
        )
        checkout = services.checkout_start(
            offer=offer, name="Ivy", email="ivy@example.net", time_zone="Europe/Paris"
        )
    delivering_standin.pay(checkout.stripe_id)
    delivering_standin.flush()
    account = delivering_standin.accounts[connected.secret_key]
    assert [outcome for *_, outcome in account.deliveries] == [200]
    purchase = _wait_for(
        lambda: (
            Purchase.objects.filter(stripe_checkout_id=checkout.stripe_id)
            .select_related("engagement", "client")
            .first()
        )
    )
    assert celery_on_redis.poll() is None  # the worker did it, and is still running
    with scopes_disabled():
        assert purchase.client.email == "ivy@example.net"
        _wait_for(lambda: credit_balance(purchase.engagement) == 3)
        event = StripeEvent.objects.get(type="checkout.session.completed")
        assert event.status == EventStatus.PROCESSED and event.attempts == 1
    # The worker made the Slack calls after the purchase committed: her channel, her invite.
    invite = _wait_for(
        lambda: SlackInvite.objects.filter(client=purchase.client, status=InviteStatus.DONE).first()
    )
    assert invite.path == InvitePath.MEMBER and invite.slack_user_id == ivy.id
    with scopes_disabled():
        channel = SlackChannel.objects.get(collection__engagement=purchase.engagement)
    assert channel.status == ChannelStatus.CREATED and channel.name == "coaching-ivy"
    assert ivy.id in slack_standin.channel_members(channel.channel_id)
    assert len(slack_standin.effects("conversations.create")) == 1
