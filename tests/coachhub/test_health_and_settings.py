"""Health endpoint and environment-driven settings (embedded default, production deploy check)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_healthz_reports_database_and_broker(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["kind"].startswith("in-process")


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_is_unreachable(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


def run_manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "DATABASE_URL",
            "REDIS_URL",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ENV",
            "DJANGO_DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "FIELD_ENCRYPTION_KEYS",
            "ENV_FILE",
            "STATIC_ROOT",
        )
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        # A developer's own .env must not change what these tests see.
        env={**clean, "ENV_FILE": str(ROOT / "tests" / "absent.env"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_check():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_ENV": "production",
            "SECRET_KEY": "x7#kP2q!vR9zL4mN8wT1yB6cF3hJ0dG5sA-production-test-key-not-secret",
            "ALLOWED_HOSTS": "coachhub.example.com",
            "FIELD_ENCRYPTION_KEYS": "9H-Hy_XlM9lTys3My7I3Fm0y2qep6wJh2vAvk6Hzw5A=",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_bad_encryption_key_stops_the_app_with_its_name():
    result = run_manage(
        "check",
        env={"FIELD_ENCRYPTION_KEYS": "not-a-fernet-key"},
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage(
        "check", env={"DJANGO_ENV": "production", "ALLOWED_HOSTS": "coachhub.example.com"}
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_bad_values_fail_loudly():
    result = run_manage("check", env={"DJANGO_DEBUG": "maybe"})
    assert result.returncode != 0 and "DJANGO_DEBUG" in result.stderr
    result = run_manage("check", env={"DJANGO_ENV": "staging"})
    assert result.returncode != 0 and "staging" in result.stderr
    result = run_manage("check", env={"EMAIL_URL": "pigeon://loft"})
    assert result.returncode != 0 and "EMAIL_URL" in result.stderr


PRODUCTION_SECRETS = (
    "SECRET_KEY=x7#kP2q!vR9zL4mN8wT1yB6cF3hJ0dG5sA-production-test-key-not-secret\n"
    "ALLOWED_HOSTS=coachhub.example.com\n"
    "FIELD_ENCRYPTION_KEYS=9H-Hy_XlM9lTys3My7I3Fm0y2qep6wJh2vAvk6Hzw5A=\n"
)


def test_django_env_in_the_env_file_turns_production_on(tmp_path):
    """DJANGO_ENV is read like every other variable: from .env too, not only the process."""
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_ENV=production\n" + PRODUCTION_SECRETS)
    script = (
        "from django.conf import settings as s; "
        "print(s.DJANGO_ENV, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.DEBUG)"
    )
    result = run_manage("shell", "--no-imports", "-c", script, env={"ENV_FILE": str(env_file)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["production", "True", "31536000", "False"]


def test_production_from_the_env_file_refuses_the_development_secret(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_ENV=production\nALLOWED_HOSTS=coachhub.example.com\n")
    result = run_manage("check", env={"ENV_FILE": str(env_file)})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_the_process_environment_wins_over_the_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DJANGO_ENV=production\n" + PRODUCTION_SECRETS)
    script = "from django.conf import settings as s; print(s.DJANGO_ENV, s.SECURE_SSL_REDIRECT)"
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        script,
        env={"ENV_FILE": str(env_file), "DJANGO_ENV": "development"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["development", "False"]


def test_embedded_default_is_sqlite_eager_console():
    script = (
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], "
        "s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND, s.DEBUG)"
    )
    result = run_manage("shell", "--no-imports", "-c", script, env={})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "django.core.mail.backends.console.EmailBackend",
        "False",
    ]


def test_redis_url_switches_celery_to_real_workers():
    script = (
        "from django.conf import settings as s; "
        "print(s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER)"
    )
    result = run_manage(
        "shell", "--no-imports", "-c", script, env={"REDIS_URL": "redis://127.0.0.1:6379/3"}
    )
    assert result.stdout.split() == ["redis://127.0.0.1:6379/3", "False"]


def test_visibility_timeout_outlasts_every_task_limit():
    from django.conf import settings

    from billing.tasks import MAX_EVENT_RETRIES
    from coachhub.tasks import retry_countdown

    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert timeout > settings.CELERY_TASK_TIME_LIMIT
    assert timeout > settings.CELERY_TASK_SOFT_TIME_LIMIT
    # A retried task waits in Redis for its countdown: redelivery must not come first.
    longest_countdown = max(retry_countdown(n) for n in range(MAX_EVENT_RETRIES + 1))
    assert timeout > longest_countdown + settings.CELERY_TASK_TIME_LIMIT
    # Tasks retried with Celery's own backoff wait at most `retry_backoff_max` (600 s
    # unless a task sets it).
    from sessions_app.tasks import session_notify

    backoff_max = getattr(session_notify, "retry_backoff_max", 600)
    assert timeout > backoff_max + settings.CELERY_TASK_TIME_LIMIT


def test_production_health_probe_over_http_is_not_redirected():
    script = (
        "from django.test import Client; r = Client().get('/healthz', HTTP_HOST='localhost'); "
        "print(r.status_code)"
    )
    result = run_manage(
        "shell",
        "--no-imports",
        "-c",
        script,
        env={
            "DJANGO_ENV": "production",
            "SECRET_KEY": "x7#kP2q!vR9zL4mN8wT1yB6cF3hJ0dG5sA-production-test-key-not-secret",
            "ALLOWED_HOSTS": "coachhub.example.com,localhost",
            "FIELD_ENCRYPTION_KEYS": "9H-Hy_XlM9lTys3My7I3Fm0y2qep6wJh2vAvk6Hzw5A=",
        },
    )
    assert result.stdout.strip().splitlines()[-1] == "200", result.stdout + result.stderr


def test_file_email_url_writes_to_the_absolute_path_given(tmp_path):
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.EMAIL_FILE_PATH)",
        env={"EMAIL_URL": f"file://{tmp_path}"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path)


class _Request:
    def __init__(self, is_eager: bool):
        self.is_eager = is_eager


class _Task:
    def __init__(self, is_eager: bool):
        self.request = _Request(is_eager)


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_between_tasks():
    """Celery's fixup would open a new connection for every task; ours keeps it for
    DB_CONN_MAX_AGE, like a web process, and drops a broken or old one."""
    from django.db import connection

    from coachhub.celery import app, database_connections_recycle

    if connection.vendor == "sqlite":
        pytest.skip("an in-memory SQLite test database is never closed; runs on PostgreSQL")
    assert app.conf.db_reuse_max >= 2**31  # the fixup never closes it itself
    connection.ensure_connection()
    kept = connection.connection
    connection.close_at = time.monotonic() + 60
    try:
        database_connections_recycle(task=_Task(is_eager=False))
        assert connection.connection is kept
        connection.close_at = time.monotonic() - 1  # older than DB_CONN_MAX_AGE
        database_connections_recycle(task=_Task(is_eager=True))
        assert connection.connection is kept  # eager: inside the caller's request
        database_connections_recycle(task=_Task(is_eager=False))
        assert connection.connection is None
    finally:
        connection.close_at = None
