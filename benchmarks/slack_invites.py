"""Slack reliability benchmark: 200 engagements set up at once against a Slack that
rate-limits and fails, through a real worker that is killed (SIGKILL) and restarted midway.

    make benchmark-slack     (or: .venv/bin/python -m benchmarks.slack_invites)

1. The Slack stand-in (`devtools/slack_standin`, the one the tests use) runs in the
   benchmark's own process on 127.0.0.1; the worker and gunicorn reach it through the
   real `slack_sdk` at $SLACK_API_BASE. Two practices, each connected with a pasted bot
   token: "Free plan" (no Slack Connect, a workspace invite link) and "Pro plan" (Slack
   Connect on). Half of each practice's new clients are already in the workspace.
2. Chaos on every Web API call, seeded: 30 % answer HTTP 429 with Retry-After 1–3 s,
   10 % answer 503 — half of those after the work was done (the answer is lost, as Slack
   warns can happen).
3. 200 per-session engagements are set up at once while no worker runs (140 on the free
   plan, 60 on the pro plan), each with its first session; their Slack tasks wait in Redis.
4. A worker starts (`celery worker`, the settings `make worker` runs with, a short task
   time limit so that a dead worker's claims lapse within the run). As channels appear,
   the session-link post of each engagement's first session is queued (keyed, as
   `sessions_app.channel_posts` does). When half the invites are through, the worker is
   SIGKILLed and started again (the first fault-backoff step is 2 s instead of 30 s,
   TASK_RETRY_BACKOFF_SECONDS): the messages it held — the running task and the retries it
   had taken with their countdowns — stay unacknowledged in Redis for the visibility
   timeout (6 h) and are never handed back here. Beat's recovery sweeps
   (`chat.tasks.slack_work_recover_all`, `slack_events_recover_all`) run every 5 s from
   this process instead of every minute, with SLACK_WORK_RECOVER_SECONDS=10.
5. After the restart every newcomer invited by link "joins" the workspace on the stand-in,
   which delivers a signed `team_join` to the app under gunicorn; the app adds them.
6. Counted from the stand-in's effects (what Slack really changed), not the app's rows:
   each person added (or Slack-Connect invited, or e-mailed the link) exactly once, one
   channel per engagement, one post per session; and from its request log, for each 429,
   how long the same call waited past its Retry-After (must never be negative).

PostgreSQL and Redis on 127.0.0.1 (or $BENCH_DATABASE_URL, $BENCH_REDIS_URL).
$BENCH_ENGAGEMENTS (200), $BENCH_SEED, $BENCH_AFTER_EFFECT (share of 503s after the work).

Django, and all that imports models, is imported inside functions: a benchmark chooses
its database and settings at run time, before Django starts.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from benchmarks import common
from benchmarks.event_worker import start_worker

PORT = int(os.environ.get("BENCH_PORT", "8786"))
ENGAGEMENTS = int(os.environ.get("BENCH_ENGAGEMENTS", "200"))
SEED = int(os.environ.get("BENCH_SEED", "2026"))
AFTER_EFFECT = float(os.environ.get("BENCH_AFTER_EFFECT", "0.5"))
PRO_SHARE = 0.3  # of the engagements, on the Slack Connect workspace
MEMBER_SHARE = 0.5  # of each practice's clients, already in the workspace
TIME_LIMIT = 20  # seconds: a dead worker's claim lapses after this and a minute
BACKOFF = 2  # seconds, the first step of the fault backoff (30 s in production)
SWEEP_EVERY = 5.0
DRAIN_TIMEOUT = 240.0
INVITE_LINK = "https://join.slack.com/t/bench-free/shared_invite/zt-bench"


def serve_standin():
    from devtools.slack_standin import StandIn

    standin = StandIn(events_url=f"http://127.0.0.1:{PORT}/slack/events/")
    server = standin.serve()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return standin


def practice_connected(standin, *, name: str, plan: str, people: list[tuple[str, str]]):
    """A practice (its owner coaches) connected by a pasted bot token to a new workspace
    where the owner and the `people` (name, e-mail) already are."""
    from django_scopes import scopes_disabled

    from chat.services import slack_plan_set, slack_token_connect
    from coachhub.models import User
    from engagements.services import practice_set_up

    team = standin.team_add(name=name, plan=plan)
    with scopes_disabled():
        owner = User.objects.create_user(
            f"owner@{team.domain}.example", "x", time_zone="Europe/London", first_name="Coach"
        )
        practice = practice_set_up(owner=owner, name=name)
        team.member_add(owner.email, "Coach")
        for person, email in people:
            team.member_add(email, person)
        slack_token_connect(
            practice=practice,
            actor=owner,
            bot_token=team.bot_token,
            signing_secret=standin.signing_secret,
        )
        slack_plan_set(
            practice=practice,
            actor=owner,
            slack_connect_allowed=plan == "pro",
            invite_link="" if plan == "pro" else INVITE_LINK,
        )
    return practice, owner, team


def engagement_set_up(practice, owner, client: tuple[str, str], *, hour: int):
    from django_scopes import scopes_disabled

    from engagements.services import NewClient
    from sessions_app import services as session_services

    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    name, email = client
    with scopes_disabled():
        return session_services.engagement_create_per_session(
            practice=practice,
            actor=owner,
            client=NewClient(name=name, email=email),
            coach=owner,
            first_session_at=start + dt.timedelta(days=3, hours=hour),
            send_platform_invite=False,
        )


def posts_queue_where_channels_are(queued: set[int]) -> int:
    """Queue the first session's link post of each engagement whose channel now exists."""
    from django.db import transaction
    from django_scopes import scopes_disabled

    from chat.models import ChannelStatus, SlackChannel
    from sessions_app.channel_posts import session_link_post
    from sessions_app.models import Session

    with scopes_disabled():
        ready = SlackChannel.objects.filter(status=ChannelStatus.CREATED).exclude(pk__in=queued)
        for channel in ready.select_related("collection"):
            session = (
                Session.objects.filter(collection=channel.collection)
                .select_related("practice", "coach", "collection")
                .order_by("starts_at")
                .first()
            )
            with transaction.atomic():
                if session is not None and session_link_post(session=session) is not None:
                    queued.add(channel.pk)
    return len(queued)


def invite_links_sent(mail_dir: Path) -> list[str]:
    """The address of every workspace-invite e-mail the file backend wrote (its body names
    it: "Join the workspace here, with this e-mail address (…)"); other mail, a session's
    confirmation, is not counted."""
    marker = "Join the workspace here, with this e-mail address ("
    recipients = []
    for path in mail_dir.iterdir():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith(marker):
                recipients.append(line[len(marker) :].split(")")[0])
    return recipients


def sweep() -> None:
    """What beat runs every minute, here every few seconds."""
    from chat.tasks import slack_events_recover_all, slack_work_recover_all

    slack_work_recover_all()
    slack_events_recover_all()


def invite_counts() -> Counter:
    from django_scopes import scopes_disabled

    from chat.models import SlackInvite

    with scopes_disabled():
        return Counter(SlackInvite.objects.values_list("status", flat=True))


def main() -> None:
    broker = common.redis_url(11)
    if not broker:
        raise SystemExit("Redis is needed (127.0.0.1:6379 or $BENCH_REDIS_URL).")
    mail_dir = Path(tempfile.mkdtemp(prefix="coachhub-bench-slack-mail-"))
    standin = serve_standin()
    database_url = common.database_url("coachhub_bench_slack")
    app_env = {
        "REDIS_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": f"file://{mail_dir}",
        "SLACK_API_BASE": standin.base_url,
        "SLACK_WORK_RECOVER_SECONDS": "10",
        "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
        "CELERY_TASK_SOFT_TIME_LIMIT": str(TIME_LIMIT - 5),
        "TASK_RETRY_BACKOFF_SECONDS": str(BACKOFF),
    }
    common.setup_django(database_url, **app_env)
    import random

    import redis
    from django.db import connection
    from django_scopes import scopes_disabled

    from chat.models import (
        InvitePath,
        InviteStatus,
        PostStatus,
        SlackChannel,
        SlackInvite,
        SlackPost,
    )

    queue = redis.Redis.from_url(broker)
    worker_env = dict(
        os.environ, DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="benchmarks.settings"
    )
    worker_env.update(app_env)

    pro_count = round(ENGAGEMENTS * PRO_SHARE)
    plans = {"free": ENGAGEMENTS - pro_count, "pro": pro_count}
    clients: dict[str, list[tuple[str, str]]] = {}
    members: dict[str, list[tuple[str, str]]] = {}
    for plan, count in plans.items():
        clients[plan] = [
            (f"Client {plan.title()} {number}", f"client{number}@{plan}.example.org")
            for number in range(count)
        ]
        members[plan] = clients[plan][: round(count * MEMBER_SHARE)]
    practices = {
        plan: practice_connected(
            standin, name=f"Bench {plan} plan", plan=plan, people=members[plan]
        )
        for plan in plans
    }
    newcomers = {plan: clients[plan][len(members[plan]) :] for plan in plans}
    print(
        f"database: {connection.vendor}; broker: Redis; worker: 2 processes (prefork, acks "
        f"late, prefetch 1, time limit {TIME_LIMIT} s); gunicorn 2 workers; seed {SEED}"
    )
    print(
        f"free plan: {plans['free']} clients ({len(members['free'])} in the workspace, "
        f"{len(newcomers['free'])} by invite link); pro plan: {plans['pro']} clients "
        f"({len(members['pro'])} in the workspace, {len(newcomers['pro'])} by Slack Connect)"
    )

    standin.chaos(
        rate_limited=0.3,
        retry_after=(1, 3),
        server_errors=0.1,
        seed=SEED,
        effect_applied=AFTER_EFFECT,
    )
    queue.flushdb()
    started = time.monotonic()
    order = [(plan, client) for plan in plans for client in clients[plan]]
    random.Random(SEED).shuffle(order)
    for hour, (plan, client) in enumerate(order):
        practice, owner, _ = practices[plan]
        engagement_set_up(practice, owner, client, hour=hour)
    print(
        f"\n{ENGAGEMENTS} engagements set up in {time.monotonic() - started:.1f} s; "
        f"tasks waiting in Redis: {queue.llen('celery')}"
    )

    server = common.start_gunicorn(database_url, port=PORT, **app_env)
    worker = start_worker(worker_env)
    posts_queued: set[int] = set()
    total_invites = ENGAGEMENTS
    drain_started = time.monotonic()
    last_sweep = 0.0
    joined = False
    killed_at = None
    try:
        while time.monotonic() - drain_started < DRAIN_TIMEOUT:
            posts_queue_where_channels_are(posts_queued)
            if time.monotonic() - last_sweep > SWEEP_EVERY:
                sweep()
                last_sweep = time.monotonic()
            counts = invite_counts()
            through = counts[InviteStatus.DONE] + counts[InviteStatus.WAITING]
            if killed_at is None and through >= total_invites // 2:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                killed_at = time.monotonic() - drain_started
                held = queue.hlen("unacked")
                print(
                    f"worker SIGKILLed at {killed_at:.1f} s with {through} of {total_invites} "
                    f"invites through; messages it held unacknowledged: {held} (never handed "
                    "back here)"
                )
                worker = start_worker(worker_env)
            if killed_at is not None and not joined:
                for name, email in newcomers["free"]:
                    standin.member_join(practices["free"][2].id, email, name)
                joined = True
                print(f"{len(newcomers['free'])} newcomers joined the free workspace (team_join)")
            with scopes_disabled():
                open_posts = SlackPost.objects.exclude(
                    status__in=[PostStatus.POSTED, PostStatus.FAILED]
                ).count()
            finished = counts[InviteStatus.DONE] + counts[InviteStatus.FAILED]
            if (
                joined
                and finished == total_invites
                and len(posts_queued) == ENGAGEMENTS
                and open_posts == 0
            ):
                break
            time.sleep(0.5)
        drain = time.monotonic() - drain_started
    finally:
        common.stop(worker)
        common.stop(server)

    with scopes_disabled():
        invites = list(
            SlackInvite.objects.values_list(
                "email", "status", "path", "channel__channel_id", "slack_user_id"
            )
        )
        channels = SlackChannel.objects.count()
        channel_states = Counter(SlackChannel.objects.values_list("status", flat=True))
        post_states = Counter(SlackPost.objects.values_list("status", flat=True))
        failures = list(
            SlackInvite.objects.filter(status=InviteStatus.FAILED).values_list("email", "error")[:5]
        )
    coach_ids: set[str] = set()
    member_ids: dict[str, str] = {}
    for plan in plans:
        team = practices[plan][2]
        for member in team.members.values():
            if member.email:
                member_ids[member.email] = member.id
        coach_ids.add(member_ids.get(practices[plan][1].email))
    added = Counter(
        (effect["channel"], effect["user"])
        for effect in standin.effects("conversations.invite")
        if effect["user"] not in coach_ids
    )
    coach_added = Counter(
        (effect["channel"], effect["user"])
        for effect in standin.effects("conversations.invite")
        if effect["user"] in coach_ids
    )
    shared = Counter(
        (effect["channel"], effect.get("email"))
        for effect in standin.effects("conversations.inviteShared")
    )
    emailed = Counter(invite_links_sent(mail_dir))
    per_person: Counter = Counter()
    for email, _status, path, channel_id, user_id in invites:
        if path == InvitePath.SLACK_CONNECT:
            per_person[email] = shared[(channel_id, email)]
        elif path == InvitePath.MEMBER:
            per_person[email] = added[(channel_id, user_id)]
        elif path == InvitePath.INVITE_LINK:
            # once e-mailed, then once added after they joined
            mails, adds = emailed[email], added[(channel_id, member_ids.get(email, user_id))]
            per_person[email] = 0 if not mails or not adds else max(mails, adds)
        else:
            per_person[email] = 0
    times = Counter(min(n, 2) for n in per_person.values())
    by_row = {email: (status, path) for email, status, path, *_ in invites}
    never = Counter(by_row[email] for email, n in per_person.items() if n == 0)
    twice = Counter(by_row[email] for email, n in per_person.items() if n > 1)
    created = Counter(effect["channel"] for effect in standin.effects("conversations.create"))
    made = len(created)
    posts_per_channel = Counter(effect["channel"] for effect in standin.effects("chat.postMessage"))
    posted_twice = sum(1 for n in posts_per_channel.values() if n > 1)
    # Every channel of a practice looks its coach up (and lists channels after a lost
    # answer): such a call after another channel's 429 is another task's own, not a retry.
    coach_emails = {owner.email for _, owner, _ in practices.values()}
    rows = [
        row
        for row in standin.retries_after_rate_limit()
        if row["waited"] is not None
        and row["retry_after"] is not None
        and row["params"].get("email") not in coach_emails
        and row["params"]  # conversations.list names nothing: every channel's look alike
    ]
    waits = [row["waited"] - row["retry_after"] for row in rows]
    early = Counter(row["method"] for row in rows if row["waited"] < row["retry_after"])
    calls = standin.calls()
    statuses = Counter(call.status for call in calls)

    print(f"\nSlack calls: {len(calls)} ({dict(statuses)}); drained in {drain:.1f} s")
    print(f"  channels: {channels} rows {dict(channel_states)}; made in Slack: {made}")
    print(f"  invites: {dict(Counter(status for _, status, *_ in invites))}")
    print(f"  paths: {dict(Counter(path for _, _, path, *_ in invites))}")
    print(f"  coach added: {sum(coach_added.values())} times in {len(coach_added)} channels")
    print(f"  posts: {dict(post_states)}; posted in Slack: {sum(posts_per_channel.values())}")
    if never:
        print(f"  never done, by (status, path): {dict(never)}")
    if twice:
        print(f"  done twice, by (status, path): {dict(twice)}")
    for email, error in failures:
        print(f"  failed: {email}: {error[:160]}")
    print("\nEffects")
    print(f"  invites done exactly once      {times[1]:5} / {ENGAGEMENTS}")
    print(f"  invites done twice or more     {times[2]:5}")
    print(f"  invites never done             {times[0]:5}")
    print(f"  channels duplicated            {made - channels:5}")
    print(f"  posts duplicated               {posted_twice:5}")
    earliest = min(waits) if waits else float("nan")
    print(
        f"  earliest retry past its Retry-After {earliest:+.2f} s "
        f"(over {len(waits)} rate-limited calls that came again)"
    )
    if early:
        print(f"  retried early, by method: {dict(early)}")
    print(f"  time to drain                  {drain:5.1f} s")
    print("\nGoals")
    print(f"  every invite exactly once: {'OK' if times[1] == ENGAGEMENTS else 'MISSED'}")
    print(
        "  no post twice, no channel twice: "
        + ("OK" if not posted_twice and made == channels else "MISSED")
    )
    print(f"  no retry before its Retry-After: {'OK' if waits and earliest >= 0 else 'MISSED'}")
    queue.flushdb()


if __name__ == "__main__":
    main()
