"""Handing e-mails to the backend, each one written to the integration call log: what kind
of e-mail, what it was about, whom it was for, and whether the mail server took it."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.mail import EmailMessage
from django.db import models

from .calls import call_record, call_recorded
from .models import CallOutcome, CallProvider


@dataclass(frozen=True)
class HandedOver:
    """One message's hand-over: the mail server's refusal, if any, and how long it took."""

    message: EmailMessage
    error: OSError | None
    duration_ms: int


def email_send(
    message: EmailMessage,
    *,
    practice_id: int,
    kind: str,
    subject: models.Model | None = None,
    engagement_id: int | None = None,
    attempt: int = 1,
    will_retry: bool | None = None,
    connection=None,
) -> None:
    """Hand one message over, logged; the mail server's `OSError` is raised on."""
    with call_recorded(
        practice_id=practice_id,
        provider=CallProvider.EMAIL,
        operation=kind,
        subject=subject,
        engagement_id=engagement_id,
        attempt=attempt,
        recipient=", ".join(message.to),
        will_retry=will_retry,
    ):
        if connection is None:
            message.send()
        else:
            connection.send_messages([message])


def email_hand_over(message: EmailMessage) -> HandedOver:
    """Hand one message over, keeping the refusal for a caller that logs once it knows
    whether the failures will be tried again (`email_handed_over_record`)."""
    started = time.monotonic()
    try:
        message.send()
    except OSError as error:
        return HandedOver(message, error, int((time.monotonic() - started) * 1000))
    return HandedOver(message, None, int((time.monotonic() - started) * 1000))


def email_handed_over_record(
    handed: HandedOver,
    *,
    practice_id: int,
    kind: str,
    subject: models.Model | None = None,
    engagement_id: int | None = None,
    will_retry: bool,
) -> None:
    """The call log's row for a hand-over made with `email_hand_over`."""
    if handed.error is None:
        outcome = CallOutcome.OK
    else:
        outcome = CallOutcome.RETRYING if will_retry else CallOutcome.FAILED
    call_record(
        practice_id=practice_id,
        provider=CallProvider.EMAIL,
        operation=kind,
        outcome=outcome,
        error=handed.error,
        subject=subject,
        engagement_id=engagement_id,
        recipient=", ".join(handed.message.to),
        duration_ms=handed.duration_ms,
    )
