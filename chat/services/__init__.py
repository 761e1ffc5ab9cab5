"""The chat app's writes, by topic; call sites read `from chat import services`."""

from .posts import (
    slack_post_queue,
    slack_post_send,
    slack_post_settings_update,
    slack_posts_wanted,
)

__all__ = [
    "slack_post_queue",
    "slack_post_send",
    "slack_post_settings_update",
    "slack_posts_wanted",
]
