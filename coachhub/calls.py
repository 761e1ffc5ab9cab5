"""The integration call log: every outside call (Slack, Stripe, e-mail, calendars) leaves
one row saying what it was for, how it went and how long it took.

`call_recorded(...)` wraps the call. An error that says `permanent` (the integrations'
`IntegrationError`) is recorded as failed for good or as retrying; a network error
(`OSError`: the mail server down) as retrying; any other exception as failed. The caller
that knows better says so with `will_retry` (its task has no retries left, or beat's
sweep tries again anyway). The row is written after the call, outside any transaction
the caller should not be in anyway, so a rolled-back task still leaves its trace.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import models
from django.utils import timezone

from .models import CallOutcome, IntegrationCall, Practice

ERROR_LENGTH = 500
PRUNE_BATCH = 1000

# What a provider's error may echo that must never be stored: Stripe keys and webhook
# secrets, Slack tokens. Each is cut to its kind and last four characters.
SECRET_PATTERN = re.compile(
    r"\b(?P<kind>(?:sk|rk|pk)_(?:test|live)_|whsec_|xox[abeoprs]-|xapp-)[A-Za-z0-9\-_]{4,}"
)


def subject_of(obj: models.Model | None) -> tuple[str, int | None]:
    if obj is None:
        return "", None
    return obj._meta.label_lower, obj.pk


def secrets_masked(text: str) -> str:
    """The error as stored: any key or token in it shortened so it can never be used."""
    return SECRET_PATTERN.sub(lambda found: f"{found['kind']}…{found[0][-4:]}", text)


def outcome_of(error: BaseException, *, will_retry: bool | None = None) -> str:
    """Failed for good or retrying, from the error's own word unless the caller knows."""
    if will_retry is not None:
        return CallOutcome.RETRYING if will_retry else CallOutcome.FAILED
    permanent = getattr(error, "permanent", not isinstance(error, OSError))
    return CallOutcome.FAILED if permanent else CallOutcome.RETRYING


def call_record(
    *,
    practice_id: int,
    provider: str,
    operation: str,
    outcome: str,
    error: BaseException | None = None,
    subject: models.Model | None = None,
    engagement_id: int | None = None,
    attempt: int = 1,
    recipient: str = "",
    duration_ms: int = 0,
) -> IntegrationCall:
    """Write one row of the log, for a caller that learns the outcome only later."""
    code = message = ""
    if error is not None:
        code = str(getattr(error, "code", "") or "")[:80]
        message = secrets_masked(str(error) or error.__class__.__name__)[:ERROR_LENGTH]
    subject_type, subject_id = subject_of(subject)
    return IntegrationCall.objects.create(
        practice_id=practice_id,
        provider=provider,
        operation=operation[:80],
        subject_type=subject_type,
        subject_id=subject_id,
        engagement_id=engagement_id,
        recipient=recipient[:254],
        outcome=outcome,
        error_code=code,
        error=message,
        attempt=max(1, min(attempt, 32767)),
        duration_ms=max(0, duration_ms),
    )


@contextmanager
def call_recorded(
    *,
    practice_id: int,
    provider: str,
    operation: str,
    subject: models.Model | None = None,
    engagement_id: int | None = None,
    attempt: int = 1,
    recipient: str = "",
    will_retry: bool | None = None,
) -> Iterator[None]:
    """Record the wrapped outside call: its outcome, error and duration."""
    started = time.monotonic()
    outcome, failure = CallOutcome.OK, None
    try:
        yield
    except Exception as error:
        outcome, failure = outcome_of(error, will_retry=will_retry), error
        raise
    finally:
        call_record(
            practice_id=practice_id,
            provider=provider,
            operation=operation,
            outcome=outcome,
            error=failure,
            subject=subject,
            engagement_id=engagement_id,
            attempt=attempt,
            recipient=recipient,
            duration_ms=int((time.monotonic() - started) * 1000),
        )


# --- Reading the log ------------------------------------------------------------------
def calls_for_engagement(
    practice: Practice, engagement_id: int, *, limit: int = 20
) -> list[IntegrationCall]:
    """The latest calls made for one engagement (its Slack channel and invites, the e-mails
    about its sessions, Stripe for its purchase), newest first, for its page and its
    collection's page."""
    return list(
        IntegrationCall.objects.filter(practice=practice, engagement_id=engagement_id)[:limit]
    )


def calls_recent(
    practice: Practice, *, provider: str | None = None, limit: int = 50
) -> list[IntegrationCall]:
    """The practice's latest calls, of one provider when given (the Integrations page)."""
    calls = IntegrationCall.objects.filter(practice=practice)
    if provider:
        calls = calls.filter(provider=provider)
    return list(calls[:limit])


# --- Pruning --------------------------------------------------------------------------
def calls_prune(*, now: dt.datetime | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete the rows older than INTEGRATION_CALLS_KEEP_DAYS, a batch at a time so the
    table is never locked for long; returns how many went."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.INTEGRATION_CALLS_KEEP_DAYS)
    old = IntegrationCall.objects.filter(created_at__lt=cutoff).order_by("pk")
    deleted = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += IntegrationCall.objects.filter(pk__in=ids).delete()[0]
