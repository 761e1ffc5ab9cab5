"""The integration call log: every outside call (Slack, Stripe, e-mail, calendars) leaves
one row saying what it was for, how it went and how long it took.

`call_recorded(...)` wraps the call. An error that says `permanent` (the integrations'
`IntegrationError`) is recorded as failed for good or as retrying; any other exception is
recorded as failed and raised on. The row is written after the call, outside any
transaction the caller should not be in anyway, so a rolled-back task still leaves its trace.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import models

from .models import CallOutcome, IntegrationCall

ERROR_LENGTH = 500


def subject_of(obj: models.Model | None) -> tuple[str, int | None]:
    if obj is None:
        return "", None
    return obj._meta.label_lower, obj.pk


@contextmanager
def call_recorded(
    *,
    practice_id: int,
    provider: str,
    operation: str,
    subject: models.Model | None = None,
    engagement_id: int | None = None,
    attempt: int = 1,
) -> Iterator[None]:
    """Record the wrapped outside call: its outcome, error and duration."""
    started = time.monotonic()
    outcome, code, message = CallOutcome.OK, "", ""
    try:
        yield
    except Exception as error:
        permanent = getattr(error, "permanent", True)
        outcome = CallOutcome.FAILED if permanent else CallOutcome.RETRYING
        code = str(getattr(error, "code", "") or "")[:80]
        message = (str(error) or error.__class__.__name__)[:ERROR_LENGTH]
        raise
    finally:
        subject_type, subject_id = subject_of(subject)
        IntegrationCall.objects.create(
            practice_id=practice_id,
            provider=provider,
            operation=operation[:80],
            subject_type=subject_type,
            subject_id=subject_id,
            engagement_id=engagement_id,
            outcome=outcome,
            error_code=code,
            error=message,
            attempt=max(1, min(attempt, 32767)),
            duration_ms=int((time.monotonic() - started) * 1000),
        )
