"""The app's background work, where Celery's autodiscovery looks: the Slack calls for a
collection's channel and its invites (`services.invites.slack_channel_work`)."""

from .services.invites import slack_channel_work

__all__ = ["slack_channel_work"]
