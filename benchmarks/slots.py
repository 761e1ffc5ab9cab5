"""Slots benchmark: the 90-day slots JSON vs a minimal Django JSON view, under gunicorn.

    make benchmark            (or: .venv/bin/python -m benchmarks.slots)

Seeds a coach with sessions and two external feeds already expanded (~2,000 busy
events), starts gunicorn on loopback and loads both URLs with wrk in the same run.
Sessions *outside* the window grow 500 → ~5,000 → 50,000 between measurements; the
window's own content stays the same. Uses $BENCH_DATABASE_URL, else PostgreSQL on
127.0.0.1 when it answers, else SQLite. Needs wrk (apt-get install wrk).

Django, and all that imports models, is imported inside functions: a benchmark chooses
its database and settings at run time, before Django starts.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import urllib.request

from benchmarks import common

PORT = int(os.environ.get("BENCH_PORT", "8765"))
DURATION = os.environ.get("BENCH_DURATION", "8s")
# One connection per gunicorn worker: figures are service times, not queueing.
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "2")
GOALS = {"slots_vs_minimal_p50": 5.0, "growth_50k_vs_500_p50": 1.3}


class Seed:
    """One practice, one coach, one booking link; data added in phases."""

    def __init__(self):
        from django_scopes import scopes_disabled

        from coachhub.models import User
        from engagements import services as engagement_services
        from engagements.services import practice_set_up
        from sessions_app import services

        self.now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        self.window_start = (self.now + dt.timedelta(days=1)).date()
        self.window_end = self.window_start + dt.timedelta(days=89)
        with scopes_disabled():
            self.coach = User.objects.create_user(
                "bench-coach@example.com", "x", time_zone="America/New_York"
            )
            self.practice = practice_set_up(owner=self.coach, name="Bench")
            for weekday in range(5):
                services.weekly_hours_add(
                    practice=self.practice,
                    actor=self.coach,
                    coach=self.coach,
                    weekday=weekday,
                    starts=dt.time(9),
                    ends=dt.time(17),
                )
            self.link = services.booking_link_save(
                practice=self.practice,
                actor=self.coach,
                slug="bench",
                title="Bench",
                duration_minutes=30,
                step_minutes=30,
                minimum_notice_minutes=0,
                horizon_days=120,
            )
            client = engagement_services.client_create(
                practice=self.practice, actor=self.coach, name="C", email="c@example.com"
            )
            self.engagement = services.engagement_create_per_session(
                practice=self.practice, actor=self.coach, client=client, coach=self.coach
            )
        self.outside = 0

    def _sessions(self, starts):
        from sessions_app.models import Session

        Session.objects.bulk_create(
            (
                Session(
                    practice=self.practice,
                    engagement=self.engagement,
                    coach=self.coach,
                    title="Bench",
                    status="scheduled",
                    starts_at=s,
                    ends_at=s + dt.timedelta(minutes=55),
                )
                for s in starts
            ),
            batch_size=5000,
        )

    def window_content(self, sessions: int = 200) -> None:
        """Sessions inside the window and two expanded feeds (~2,000 busy events)."""
        from django_scopes import scopes_disabled

        from sessions_app.models import BusyInterval, ExternalCalendar

        start = dt.datetime.combine(self.window_start, dt.time(14), tzinfo=dt.UTC)
        with scopes_disabled():
            self._sessions(start + dt.timedelta(hours=10 * i) for i in range(sessions))
            for number in range(2):
                calendar = ExternalCalendar.objects.create(
                    practice=self.practice,
                    coach=self.coach,
                    name=f"Feed {number}",
                    url=f"https://example.org/{number}.ics",
                )
                # 1,000 events per feed every 4 hours from a month before the window:
                # about 540 of the 2,000 fall inside the 90-day window.
                first = self.now - dt.timedelta(days=30)
                BusyInterval.objects.bulk_create(
                    BusyInterval(
                        practice=self.practice,
                        calendar=calendar,
                        coach=self.coach,
                        starts_at=first + dt.timedelta(hours=4 * i + number * 2, minutes=7),
                        ends_at=first + dt.timedelta(hours=4 * i + number * 2, minutes=52),
                    )
                    for i in range(1000)
                )

    def grow_outside(self, total: int) -> None:
        """Sessions before and after the window (hourly, half each side)."""
        from django_scopes import scopes_disabled

        before_window = dt.datetime.combine(
            self.window_start, dt.time(), tzinfo=dt.UTC
        ) - dt.timedelta(days=2)
        after_window = dt.datetime.combine(
            self.window_end, dt.time(), tzinfo=dt.UTC
        ) + dt.timedelta(days=10)
        with scopes_disabled():
            new = range(self.outside, total)
            self._sessions(
                (before_window - dt.timedelta(hours=i // 2 + 1))
                if i % 2 == 0
                else (after_window + dt.timedelta(hours=i // 2))
                for i in new
            )
        self.outside = total

    @property
    def slots_path(self) -> str:
        return (
            f"/book/{self.practice.slug}/{self.link.slug}/slots"
            f"?start={self.window_start}&end={self.window_end}&tz=Europe/Paris"
        )


def _wrk(path: str, port: int) -> dict[str, float]:
    output = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONNECTIONS}",
            f"-d{DURATION}",
            "--latency",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise SystemExit(f"{path} answered errors under load:\n{output}")
    return {"p50": ms("50"), "p99": ms("99"), "rps": rps}


def _print(label: str, figures: dict[str, float]) -> None:
    print(
        f"  {label} p50 {figures['p50']:7.2f} ms  p99 {figures['p99']:7.2f} ms"
        f"  {figures['rps']:8.0f} req/s"
    )


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    database_url = common.database_url("coachhub_bench")
    common.setup_django(database_url)
    from django.db import connection

    redis_url = common.redis_url(15)
    print(
        f"database: {connection.vendor}; cache: {'Redis' if redis_url else 'per-worker memory'}; "
        f"wrk {CONNECTIONS} connections × {DURATION} per figure"
    )
    seed = Seed()
    seed.window_content()
    cached_port, computed_port = PORT, PORT + 1
    servers = [
        common.start_gunicorn(database_url, port=cached_port, REDIS_URL=redis_url),
        common.start_gunicorn(database_url, port=computed_port, BENCH_SLOT_CACHE="off"),
    ]
    try:
        slots = urllib.request.urlopen(f"http://127.0.0.1:{PORT}{seed.slots_path}").read()
        import json

        print(f"slots in the 90-day window: {len(json.loads(slots)['slots'])}")
        from django.core.cache import cache
        from django.db import connection as db
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        cache.clear()
        with CaptureQueriesContext(db) as queries:
            Client(HTTP_HOST="127.0.0.1").get(seed.slots_path)
        print(f"queries per slots request: {len(queries)} computed, 0 when cached")
        results = {}
        for total in (500, 4_800, 50_000):
            seed.grow_outside(total)
            common.analyse()
            minimal = _wrk("/bench/minimal", cached_port)
            cached = _wrk(seed.slots_path, cached_port)
            computed = _wrk(seed.slots_path, computed_port)
            results[total] = (minimal, cached, computed)
            print(f"\nsessions outside the window: {total:>6} (+200 inside, 2,000 busy events)")
            _print("minimal view           ", minimal)
            _print("slots 90 days          ", cached)
            _print("slots 90 days, computed", computed)
            print(
                f"  ratio to minimal p50: slots {cached['p50'] / minimal['p50']:.2f}×, "
                f"computed {computed['p50'] / minimal['p50']:.2f}×"
            )
    finally:
        for server in servers:
            common.stop(server)
    minimal, cached, computed = results[4_800]
    ratio = cached["p50"] / minimal["p50"]
    growth = results[50_000][1]["p50"] / results[500][1]["p50"]
    computed_growth = results[50_000][2]["p50"] / results[500][2]["p50"]
    ratio_goal, growth_goal = GOALS["slots_vs_minimal_p50"], GOALS["growth_50k_vs_500_p50"]
    print("\nGoals (what visitors get: computed once per coach change and minute, then cached)")
    print(
        f"  slots p50 ≤ {ratio_goal}× minimal (5,000 sessions): {ratio:.2f}× "
        f"{common.verdict(ratio, ratio_goal)}"
    )
    print(
        f"  slots p50 at 50,000 vs 500 sessions outside ≤ {growth_goal}×: {growth:.2f}× "
        f"{common.verdict(growth, growth_goal)}"
    )
    print("For the record, computing every time (the first visitor after a change):")
    print(f"  computed p50 vs minimal: {computed['p50'] / minimal['p50']:.2f}×")
    print(
        f"  computed p50 at 50,000 vs 500 sessions outside: {computed_growth:.2f}× "
        f"{common.verdict(computed_growth, growth_goal)}"
    )


if __name__ == "__main__":
    main()
