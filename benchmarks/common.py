"""What every benchmark needs: its own database, Django set up on it, gunicorn on
loopback, Redis when it answers, and latency figures read the same way.

Django, and all that imports models, is imported inside functions: a benchmark chooses
its database and settings at run time, before Django starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def database_url(name: str) -> str:
    """$BENCH_DATABASE_URL, else a fresh PostgreSQL database when 127.0.0.1 answers,
    else a fresh SQLite file."""
    if url := os.environ.get("BENCH_DATABASE_URL"):
        return url
    try:
        import psycopg

        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=2
        ) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgres://postgres@127.0.0.1:5432/{name}"
    except Exception:
        path = ROOT / "benchmarks" / f"{name}.sqlite3"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"


def redis_url(db: int) -> str:
    """$BENCH_REDIS_URL's server (or 127.0.0.1:6379) on database `db`, emptied; "" if down."""
    base = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15").rsplit("/", 1)[0]
    url = f"{base}/{db}"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
        return url
    except Exception:
        return ""


def setup_django(url: str, **extra_env: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.settings"
    os.environ.setdefault("DJANGO_ENV", "development")
    os.environ.update(extra_env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def analyse() -> None:
    """Fresh planner statistics after bulk inserts (PostgreSQL)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def start_gunicorn(url: str, *, port: int, workers: int = 2, **extra_env: str) -> subprocess.Popen:
    """gunicorn with the benchmark settings on 127.0.0.1:`port`, once it answers."""
    env = dict(
        os.environ, DATABASE_URL=url, DJANGO_SETTINGS_MODULE="benchmarks.settings", **extra_env
    )
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "coachhub.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/minimal", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    stop(process)
    raise SystemExit("gunicorn did not start")


def stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, and everything it started."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(share * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def verdict(value: float, goal: float, *, at_least: bool = False) -> str:
    met = value >= goal if at_least else value <= goal
    return "OK" if met else "MISSED"
