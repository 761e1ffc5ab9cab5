"""The Celery app. Tasks run in-process (eager) unless REDIS_URL is set."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coachhub.settings")

app = Celery("coachhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Provider packages inside the integrations app keep their own tasks modules.
app.autodiscover_tasks(["integrations.calendar"])
