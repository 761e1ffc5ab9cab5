"""Writes for Slack, split by topic; import from here (`from chat import services`).

- `channels`: a collection's private channel, named by Slack's rules, with the coach in it
- `invites`: each person into the channel by the best path, the task that calls Slack,
  `team_join` completing a waiting invite, "Try again"
- `progress`: what the checklist's Slack steps say
"""

from .channels import channel_base_name, name_slug
from .invites import (
    slack_channel_plan,
    slack_channel_work,
    slack_invites_add,
    slack_member_joined,
    slack_work_retry,
)
from .progress import slack_steps_record

__all__ = [
    "channel_base_name",
    "name_slug",
    "slack_channel_plan",
    "slack_channel_work",
    "slack_invites_add",
    "slack_member_joined",
    "slack_steps_record",
    "slack_work_retry",
]
