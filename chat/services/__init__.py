"""Writes for chat (Slack), split by topic; import from here (`from chat import services`).

- `connection`: the practice's Slack workspace — "Add to Slack", a pasted bot token,
  what the workspace's plan allows, disconnecting
- `channels`: a collection's private channel, named by Slack's rules, with the coach in it
- `invites`: each person into the channel by the best path, the task that calls Slack,
  `team_join` completing a waiting invite, "Try again"
- `progress`: what the checklist's Slack steps say
- `posts`: keyed messages in a collection's channel (reminders, session links, recaps)
- `recovery`: channel work and posts a dead worker or a lost message left, queued again
"""

from .channels import channel_base_name, name_slug
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
from .invites import (
    slack_channel_plan,
    slack_channel_work,
    slack_invites_add,
    slack_member_joined,
    slack_work_retry,
)
from .posts import (
    slack_post_queue,
    slack_post_send,
    slack_post_settings_update,
    slack_posts_wanted,
)
from .progress import slack_steps_record
from .recovery import slack_work_recover

__all__ = [
    "channel_base_name",
    "invite_link_problem",
    "name_slug",
    "slack_authorize_url_base",
    "slack_channel_plan",
    "slack_channel_work",
    "slack_connection_of",
    "slack_disconnect",
    "slack_install_available",
    "slack_install_finish",
    "slack_install_start",
    "slack_invites_add",
    "slack_member_joined",
    "slack_plan_set",
    "slack_post_queue",
    "slack_post_send",
    "slack_post_settings_update",
    "slack_posts_wanted",
    "slack_scopes_missing",
    "slack_settings_missing",
    "slack_steps_record",
    "slack_token_connect",
    "slack_work_recover",
    "slack_work_retry",
]
