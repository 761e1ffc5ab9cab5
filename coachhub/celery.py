"""The Celery app. Tasks run in-process (eager) unless REDIS_URL is set."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

from .observability import log_context_close, log_context_open

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings")

app = Celery("coachhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def database_connections_recycle(task=None, **kwargs) -> None:
    """What Django does around each request, around each task: drop a connection
    that is broken or older than DB_CONN_MAX_AGE, keep the rest (see CELERY_DB_REUSE_MAX).

    Not for eager tasks: they run inside the caller's request and transaction.
    """
    if task is None or getattr(task.request, "is_eager", False):
        return
    close_old_connections()


_log_contexts = {}  # task id → the token that restores the log context before it


@task_prerun.connect
def log_context_for_task(task_id=None, kwargs=None, **_) -> None:
    """The task's id and practice on each of its log lines (and on its Sentry events)."""
    practice_id = (kwargs or {}).get("practice_id")
    _log_contexts[task_id] = log_context_open(task_id=task_id, practice_id=practice_id)


@task_postrun.connect
def log_context_after_task(task_id=None, **_) -> None:
    token = _log_contexts.pop(task_id, None)
    if token is not None:
        log_context_close(token)
