"""The one base for background work about one practice (pretix's EventTask is the model).

A `PracticeTask` takes `practice_id` (tasks take ids, never model instances), runs
inside that practice's scope, and calls a service. Retries are bounded and back off;
`retry_later` is the one way a task asks for another go.
"""

from __future__ import annotations

import math

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from django.conf import settings

from .calls import calls_prune
from .tenancy import practice_scope, scopes_disabled

MAX_RETRY_COUNTDOWN = 3600  # seconds; far below the broker's visibility timeout


def retry_countdown(retries: int) -> int:
    """30 s, 60 s, 2 min … capped at an hour: whatever failed has time to come back
    (TASK_RETRY_BACKOFF_SECONDS is the first step; a benchmark shortens it)."""
    return min(settings.TASK_RETRY_BACKOFF_SECONDS * 2**retries, MAX_RETRY_COUNTDOWN)


class PracticeTask(DjangoTask):
    """Runs the task inside the scope of the practice named by its `practice_id` argument.

    Enqueue with `task.delay_on_commit(practice_id=…, …)` from a service, so the
    worker always finds the rows the transaction wrote.
    """

    abstract = True

    def __call__(self, *args, **kwargs):
        practice_id = kwargs.get("practice_id")
        if practice_id is None:
            raise TypeError(f"{self.name} needs practice_id=")
        with practice_scope(int(practice_id)):
            return super().__call__(*args, **kwargs)

    @property
    def is_eager(self) -> bool:
        """Run in-process (no broker): there is no worker to retry later."""
        return bool(getattr(self.request, "is_eager", False))

    @property
    def attempt(self) -> int:
        """This run's number (1 for the first), for the integration call log."""
        return (self.request.retries or 0) + 1

    @property
    def last_attempt(self) -> bool:
        """No further run will follow a failure of this one: in-process, or out of retries."""
        if self.is_eager:
            return True
        return self.max_retries is not None and (self.request.retries or 0) >= self.max_retries

    def retry_countdown_for(self, error: Exception, *, countdown: int | None = None) -> int:
        """The seconds `retry_later` will wait: a provider's HTTP 429 Retry-After when it
        said one (that long, not the fault backoff), else the backoff — or `countdown`, never
        less than Retry-After. A task that records when it is due asks here."""
        asked = getattr(error, "retry_after", None)
        if countdown is None:
            if asked:
                return max(1, math.ceil(asked))
            countdown = retry_countdown(self.request.retries)
        if asked:
            countdown = max(countdown, math.ceil(asked))
        return countdown

    def retry_later(self, error: Exception, *, countdown: int | None = None, **changed_kwargs):
        """Try again after the backoff (`raise self.retry_later(error)`), or after the
        countdown the task worked out from its own record of attempts; `changed_kwargs`
        narrow what the next attempt does (the e-mails still owed, say)."""
        countdown = self.retry_countdown_for(error, countdown=countdown)
        kwargs = {**(self.request.kwargs or {}), **changed_kwargs} if changed_kwargs else None
        return self.retry(exc=error, countdown=countdown, kwargs=kwargs)


@shared_task
def integration_calls_prune() -> int:
    """Beat's hourly trim of the integration call log to INTEGRATION_CALLS_KEEP_DAYS, for
    every practice at once: one indexed range delete in batches, nothing per practice."""
    with scopes_disabled():
        return calls_prune()
