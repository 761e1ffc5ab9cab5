"""What reaches the operator: error reports to Sentry, and log lines that say which request,
task and practice they belong to.

Sentry is initialised by the settings only when `SENTRY_DSN` is set (`sentry_init`), for
web processes and workers alike (Django and Celery integrations). Events carry no
personal data or secrets: no default PII, no local variables, no request bodies or
cookies, no Authorization, Cookie or Stripe-Signature headers, no signed tokens in URLs,
and every e-mail address anywhere in an event is replaced (`sentry_before_send`).

Every log line of a request carries its id (the incoming `X-Request-ID` when it is sane,
else a new one; sent back in the response's `X-Request-ID`) and the practice once one is
resolved; a Celery task's lines carry the task id and its practice. `RequestIdMiddleware`
and the task signals in `coachhub.celery` open the context, `practice_scope` binds the
practice, and `LogContextFilter` (settings LOGGING) puts them on each record.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any
from urllib.parse import urlsplit

import sentry_sdk
from django.core.signals import request_finished
from django.dispatch import receiver
from django_scopes.state import get_scope
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy or load balancer puts there: a UUID, a hex or base64-ish id. Anything else
# (too long, spaces, control characters that could forge log lines) is replaced.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+/=-]{0,127}")

_log_context: ContextVar[dict[str, Any] | None] = ContextVar("coachhub_log_context", default=None)


@contextmanager
def log_context(**values: Any) -> Iterator[dict[str, Any]]:
    """One request's or task's context; what it does not name is kept from the outer one
    (an eager task inside a request keeps the request's id)."""
    token = log_context_open(**values)
    try:
        yield _log_context.get()
    finally:
        _log_context.reset(token)


def log_context_open(**values: Any) -> Token:
    outer = _log_context.get() or {}
    return _log_context.set({**outer, **{k: v for k, v in values.items() if v is not None}})


def log_context_close(token: Token) -> None:
    _log_context.reset(token)


def practice_bind(practice_id: int) -> None:
    """Name the practice on the rest of this request's or task's log lines (kept after its
    scope closes, so the line that reports a failure still names it)."""
    context = _log_context.get()
    if context is not None:
        context["practice_id"] = practice_id


def current_log_context() -> dict[str, Any]:
    """Request id, task id and practice id, as far as they are known here."""
    context = dict(_log_context.get() or {})
    scoped = get_scope().get("practice") if get_scope().get("_enabled") else None
    if isinstance(scoped, int):
        context["practice_id"] = scoped
    return context


class LogContextFilter(logging.Filter):
    """Adds `request_id`, `task_id` and `practice_id` ("-" when unknown) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_log_context()
        for name in ("request_id", "task_id", "practice_id"):
            if not hasattr(record, name):
                setattr(record, name, context.get(name) or "-")
        return True


def request_id_for(incoming: str) -> str:
    """The incoming id when it is sane, else a new one."""
    if incoming and _SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """First in MIDDLEWARE. The context stays open until Django's `request_finished`, so the
    lines Django writes after the middleware ("Bad Request: …") carry it too."""

    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request.headers.get(REQUEST_ID_HEADER, ""))
        request.request_id = request_id
        _log_context.set({"request_id": request_id})  # fresh: nothing of an earlier request
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


@receiver(request_finished)
def log_context_end_of_request(**_) -> None:
    _log_context.set(None)


# --- Sentry -------------------------------------------------------------------------------

FILTERED = "[Filtered]"
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SECRET_HEADERS = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "stripe-signature",
    "x-csrftoken",
    "x-api-key",
}
# Signed manage/session/invitation/feed tokens and checkout ids are capabilities: a path
# segment this long is one, never a word of a route.
_PATH_TOKEN = re.compile(r"(?<=/)[A-Za-z0-9_:.=-]{20,}(?=/|\.ics|$)")
# …and so is a long query value: the client portal's sign-in links (`?sesame=…`).
_QUERY_TOKEN = re.compile(r"(?<==)[A-Za-z0-9_:.%-]{20,}")


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return _EMAIL.sub(FILTERED, value)
    if isinstance(value, dict):
        return {key: _scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrubbed(item) for item in value]
    return value


def sentry_before_send(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict:
    """Strip what must never leave: bodies, cookies, secret headers, tokens, e-mails."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("env", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: (FILTERED if name.lower() in _SECRET_HEADERS else value)
                for name, value in headers.items()
            }
        if isinstance(request.get("url"), str):
            url = urlsplit(request["url"])
            request["url"] = url._replace(
                path=_PATH_TOKEN.sub(FILTERED, url.path),
                query=_QUERY_TOKEN.sub(FILTERED, url.query),
            ).geturl()
        if request.get("query_string"):
            query = _PATH_TOKEN.sub(FILTERED, str(request["query_string"]))
            request["query_string"] = _QUERY_TOKEN.sub(FILTERED, query)
    event.pop("user", None)
    tags = event.setdefault("tags", {})
    for name, value in current_log_context().items():
        tags.setdefault(name, str(value))
    return _scrubbed(event)


def sentry_init(
    *, dsn: str, environment: str, traces_sample_rate: float = 0.0, **options: Any
) -> None:
    """Report errors from this process (web or worker) to Sentry. Called by the settings
    only when SENTRY_DSN is set: without it, Sentry is never initialised."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=sentry_before_send,
        before_send_transaction=sentry_before_send,
        traces_sample_rate=traces_sample_rate,
        **options,
    )
