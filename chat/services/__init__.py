"""Writes for chat (Slack), split by topic; import from here (`from chat import services`).

- `connection`: the practice's Slack workspace — "Add to Slack", a pasted bot token,
  what the workspace's plan allows, disconnecting
- `posts`: keyed messages in a collection's channel (reminders, session links, recaps)
"""

from .connection import (
    invite_link_problem,
    slack_authorize_url_base,
    slack_connection_of,
    slack_disconnect,
    slack_install_available,
    slack_install_finish,
    slack_install_start,
    slack_plan_set,
    slack_scopes_missing,
    slack_settings_missing,
    slack_token_connect,
)
from .posts import (
    slack_post_queue,
    slack_post_send,
    slack_post_settings_update,
    slack_posts_wanted,
)

__all__ = [
    "invite_link_problem",
    "slack_authorize_url_base",
    "slack_connection_of",
    "slack_disconnect",
    "slack_install_available",
    "slack_install_finish",
    "slack_install_start",
    "slack_plan_set",
    "slack_post_queue",
    "slack_post_send",
    "slack_post_settings_update",
    "slack_posts_wanted",
    "slack_scopes_missing",
    "slack_settings_missing",
    "slack_token_connect",
]
