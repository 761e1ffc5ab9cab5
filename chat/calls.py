"""Every Slack call the practice's connection makes: through the provider client, written
to the integration call log, and a dead token turning the connection broken on the spot."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.utils import timezone

from coachhub.calls import call_recorded
from coachhub.models import CallProvider
from integrations.errors import FailureKind, IntegrationError

from .models import ConnectionStatus, SlackConnection

Answer = TypeVar("Answer")

# Codes after which nothing will work until someone connects the workspace again.
DEAD_TOKEN_CODES = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "app_uninstalled",
        "team_access_not_granted",
        "team_not_found",
    }
)


class RateLimitHeld(IntegrationError):
    """Not called: another task's 429 for this workspace and method is still in force.
    Waiting it out is not an attempt, so tasks queue a fresh message instead of a retry."""


def _limit_key(connection: SlackConnection, operation: str) -> str:
    """Slack limits each method per workspace: one task's 429 holds back the others."""
    return f"slack:limit:{connection.team_id}:{operation}"


def _limit_wait(key: str) -> float:
    """Seconds still to wait before calling, per the last Retry-After Slack gave (0: none)."""
    until = cache.get(key)
    return max(0.0, until - time.time()) if isinstance(until, int | float) else 0.0


# A Retry-After this long is Slack's tier limit for the workspace: every task of that
# workspace waits it out. A shorter one is left to the task that was told (each still waits
# its own), so a burst of brief 429s does not hold back every channel of the workspace.
HOLD_MIN_SECONDS = 10


def _limit_note(key: str, error: IntegrationError) -> None:
    if error.retry_after and error.retry_after >= HOLD_MIN_SECONDS:
        until = time.time() + error.retry_after
        cache.set(key, until, timeout=math.ceil(error.retry_after) + 1)


def what_to_do(error: IntegrationError) -> str:
    """The failure in words a coach can act on."""
    if error.code in DEAD_TOKEN_CODES:
        return (
            f"Slack no longer accepts CoachHub's token ({error.code}). "
            "Connect the workspace again on the Integrations page."
        )
    if error.code == "missing_scope":
        return (
            f"{error} — the Slack app lacks a permission CoachHub needs. Reinstall it with "
            "“Add to Slack” on the Integrations page (or add the scope to your own app and "
            "paste its new token)."
        )
    if not error.permanent:
        return f"{error} — CoachHub will try again by itself."
    return f"{error}."


def connection_broken(*, connection: SlackConnection, reason: str) -> bool:
    """Mark the connection broken with what to do; False when it already was."""
    updated = SlackConnection.objects.filter(
        pk=connection.pk, status=ConnectionStatus.CONNECTED
    ).update(
        status=ConnectionStatus.BROKEN,
        broken_reason=reason,
        broken_at=timezone.now(),
        updated_at=timezone.now(),
    )
    connection.status = ConnectionStatus.BROKEN
    connection.broken_reason = reason
    return bool(updated)


def slack_call(
    call: Callable[..., Answer],
    *,
    connection: SlackConnection,
    operation: str,
    subject: models.Model | None = None,
    engagement_id: int | None = None,
    attempt: int = 1,
    will_retry: bool | None = None,
    **params,
) -> Answer:
    """Run one `integrations.slack.client` function with the connection's token, logged;
    a token Slack no longer accepts breaks the connection, so pages say so at once.
    `will_retry=False` on a task's last attempt, so the log says it was given up.
    While Slack's Retry-After for this workspace and method runs (another task was told
    to wait), Slack is not called: the log says so and the error carries what is left."""
    key = _limit_key(connection, operation)
    try:
        with call_recorded(
            practice_id=connection.practice_id,
            provider=CallProvider.SLACK,
            operation=operation,
            subject=subject,
            engagement_id=engagement_id,
            attempt=attempt,
            will_retry=will_retry,
        ):
            if wait := _limit_wait(key):
                raise RateLimitHeld(
                    f"Waiting for Slack's rate limit ({math.ceil(wait)} s more); not called",
                    permanent=False,
                    provider="slack",
                    code="ratelimited",
                    retry_after=wait,
                )
            try:
                return call(token=connection.bot_token, base_url=settings.SLACK_API_BASE, **params)
            except IntegrationError as error:
                _limit_note(key, error)
                raise
    except IntegrationError as error:
        if error.kind == FailureKind.KEY_REFUSED and error.code in DEAD_TOKEN_CODES:
            connection_broken(connection=connection, reason=what_to_do(error))
        raise
