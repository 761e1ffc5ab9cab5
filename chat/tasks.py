"""Background work for Slack, where Celery's autodiscovery looks: beat's sweeps, fanned out
one task per practice.

The tasks services enqueue live beside their work: `services.invites.slack_channel_work`
(the Slack calls for a collection's channel and its invites), `services.posts.slack_post_send`,
`services.recovery.slack_work_recover_practice`, `events.slack_event_process` and
`events.slack_events_recover`.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from django_scopes import scopes_disabled

from .events import events_stuck, slack_event_process, slack_events_recover
from .models import SlackEvent
from .services.invites import slack_channel_work
from .services.recovery import practices_with_stuck_slack_work, slack_work_recover_practice

__all__ = [
    "slack_channel_work",
    "slack_event_process",
    "slack_events_recover",
    "slack_events_recover_all",
    "slack_work_recover_all",
    "slack_work_recover_practice",
]


@shared_task
def slack_events_recover_all() -> int:
    """Beat, every minute: one recovery task for each practice with a Slack event whose
    message looks lost (not taken 5 minutes after it was due, or its worker killed)."""
    with scopes_disabled():
        practice_ids = list(
            SlackEvent.objects.filter(events_stuck(timezone.now()))
            .order_by()
            .values_list("practice_id", flat=True)
            .distinct()
        )
    for practice_id in practice_ids:
        slack_events_recover.delay(practice_id=practice_id)
    return len(practice_ids)


@shared_task
def slack_work_recover_all() -> int:
    """Beat, every minute: one recovery task for each practice with Slack channel work or
    a post a dead worker or a lost message left behind (`services.recovery`)."""
    with scopes_disabled():
        practice_ids = practices_with_stuck_slack_work(timezone.now())
    for practice_id in practice_ids:
        slack_work_recover_practice.delay(practice_id=practice_id)
    return len(practice_ids)
