"""The baseline task for the worker benchmark."""

from celery import shared_task


@shared_task
def noop() -> None:
    """Nothing: what remains is the broker round trip and Celery's own work."""
