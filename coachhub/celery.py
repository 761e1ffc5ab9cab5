"""The Celery app. Tasks run in-process (eager) unless REDIS_URL is set."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

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
