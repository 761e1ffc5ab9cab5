"""Errors and logs reach the operator: each log line names its request (X-Request-ID,
echoed back), its practice and its task; Sentry runs only with SENTRY_DSN and its events
carry no secrets or personal data."""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import sentry_sdk
from celery import shared_task

from coachhub.observability import FILTERED, LogContextFilter, sentry_before_send
from coachhub.tasks import PracticeTask

from ..kit.booking import first_slots, open_all_week

ROOT = Path(__file__).resolve().parent.parent.parent


@contextmanager
def console_lines():
    """What the configured console handler (settings LOGGING) writes, as lines."""
    (handler,) = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, LogContextFilter) for f in h.filters)
    ]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    lines: list[str] = []
    try:
        yield lines
    finally:
        handler.setStream(previous)
        lines.extend(stream.getvalue().splitlines())


@shared_task(base=PracticeTask, bind=True, name="tests.observability.log_something")
def log_something(self, *, practice_id: int) -> None:
    logging.getLogger("coachhub.tests").warning("working on it")


@pytest.mark.django_db
def test_a_request_s_log_lines_carry_its_id_and_its_practice(world, client):
    """An operator follows one visitor's request through the log by the id the proxy sent."""
    practice = world.home.practice
    link = open_all_week(practice, world.home.coach)
    start = first_slots(client, link)[0]
    with console_lines() as lines:
        response = client.post(
            f"/book/{practice.slug}/{link.slug}/confirm/",
            {"start": start},  # no name or e-mail: Django logs "Bad Request"
            HTTP_X_REQUEST_ID="req-7f3a9c",
        )
    assert response.status_code == 400
    assert response["X-Request-ID"] == "req-7f3a9c"
    (line,) = [line for line in lines if "Bad Request" in line]
    assert "request=req-7f3a9c" in line
    assert f"practice={practice.pk}" in line


@pytest.mark.django_db
def test_an_insane_request_id_is_replaced_and_a_missing_one_made(client):
    """A header that could forge log lines is not copied into them."""
    forged = client.get("/healthz", HTTP_X_REQUEST_ID="x\nFAKE ERROR line")["X-Request-ID"]
    made = client.get("/healthz")["X-Request-ID"]
    for request_id in (forged, made):
        assert len(request_id) == 32 and request_id.isalnum()
    assert forged != made


@pytest.mark.django_db
def test_a_task_s_log_lines_carry_its_id_and_practice(world):
    practice = world.home.practice
    with console_lines() as lines:
        result = log_something.delay(practice_id=practice.pk)
    (line,) = [line for line in lines if "working on it" in line]
    assert f"task={result.id}" in line
    assert f"practice={practice.pk}" in line


def test_before_send_strips_a_portal_sign_in_token_from_the_query():
    token = "AAAAAAAAAAcNAxdqo0Txx4oPE9cykw"
    cleaned = sentry_before_send(
        {
            "request": {
                "url": f"https://coachhub.example.com/portal/demo/?sesame={token}",
                "query_string": f"sesame={token}&from=2030-01-01",
            }
        },
        {},
    )
    assert token not in str(cleaned)
    assert cleaned["request"]["query_string"] == f"sesame={FILTERED}&from=2030-01-01"


def test_sentry_is_not_initialised_without_a_dsn():
    assert not os.environ.get("SENTRY_DSN")
    assert not sentry_sdk.get_client().is_active()


def test_before_send_strips_secret_headers_bodies_cookies_tokens_and_e_mails():
    event = {
        "request": {
            "url": "https://coachhub.example.com/booking/eyJwIjoxLCJiIjoiYWJjIn0.c2lnbmVk/cancel/",
            "method": "POST",
            "query_string": "next=/x&email=vera@example.net",
            "headers": {
                "Authorization": "Token ch_live_secret",
                "Cookie": "sessionid=abc",
                "Stripe-Signature": "t=1,v1=deadbeef",
                "User-Agent": "curl/8",
            },
            "cookies": {"sessionid": "abc"},
            "data": {"name": "Vera", "email": "vera@example.net"},
            "env": {"REMOTE_ADDR": "192.0.2.1"},
        },
        "user": {"email": "vera@example.net", "ip_address": "192.0.2.1"},
        "exception": {
            "values": [{"type": "ValidationError", "value": "vera@example.net is taken"}]
        },
        "breadcrumbs": {"values": [{"message": "mail sent to Coach.X+tag@sub.example.org"}]},
        "contexts": {"celery-job": {"kwargs": {"email": "a.b@example.com", "practice_id": 3}}},
    }
    cleaned = sentry_before_send(event, {})
    request = cleaned["request"]
    assert "data" not in request and "cookies" not in request and "env" not in request
    assert request["headers"]["Authorization"] == FILTERED
    assert request["headers"]["Cookie"] == FILTERED
    assert request["headers"]["Stripe-Signature"] == FILTERED
    assert request["headers"]["User-Agent"] == "curl/8"
    assert request["url"] == f"https://coachhub.example.com/booking/{FILTERED}/cancel/"
    assert "user" not in cleaned
    text = json.dumps(cleaned)
    assert "@" not in text
    assert "ch_live_secret" not in text and "deadbeef" not in text and "Vera" not in text
    assert cleaned["contexts"]["celery-job"]["kwargs"]["practice_id"] == 3


class _Envelopes(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


_REPORT_A_500 = """
import django
django.setup()
import sentry_sdk
from django.test import Client
from django.test.utils import override_settings
assert sentry_sdk.get_client().is_active()
with override_settings(ROOT_URLCONF="tests.error_urls"):
    response = Client(raise_request_exception=False).get(
        "/fails/?contact=vera@example.net",
        HTTP_AUTHORIZATION="Token ch_live_secret",
        HTTP_COOKIE="csrftoken=cookievalue",
        HTTP_STRIPE_SIGNATURE="t=1,v1=deadbeef",
    )
assert response.status_code == 500
sentry_sdk.flush(5)
"""


def test_with_a_dsn_a_500_is_reported_without_secrets():
    """The real SDK, its Django integration, our options, a local receiver: nothing else."""
    _Envelopes.received = []
    server = HTTPServer(("127.0.0.1", 0), _Envelopes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "coachhub.settings.test",
            "SENTRY_DSN": f"http://publickey@127.0.0.1:{server.server_port}/1",
            "SENTRY_ENVIRONMENT": "ci",
        }
        subprocess.run(
            [sys.executable, "-c", _REPORT_A_500],
            cwd=ROOT,
            env=environment,
            check=True,
            timeout=60,
            capture_output=True,
        )
    finally:
        server.shutdown()
    events = [
        json.loads(line)
        for body in _Envelopes.received
        for line in body.splitlines()
        if line.startswith(b"{") and b'"exception"' in line
    ]
    (event,) = events
    assert event["exception"]["values"][-1]["value"] == "a bug"
    assert event["environment"] == "ci"
    assert len(event["tags"]["request_id"]) == 32
    text = json.dumps(event)
    for secret in ("vera@example.net", "ch_live_secret", "cookievalue", "deadbeef"):
        assert secret not in text
