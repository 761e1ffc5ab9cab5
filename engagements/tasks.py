"""The app's background work, where Celery's autodiscovery looks: the follow-up resource
e-mails (`emails.resource_email_send`)."""

from .emails import resource_email_send

__all__ = ["resource_email_send"]
