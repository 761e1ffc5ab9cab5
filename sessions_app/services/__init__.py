"""Writes for sessions, split by topic; import from here (`from sessions_app import services`).

- `claims`: claiming coach time (the overlap rule) and holds that lapse
- `scheduling`: sessions the coach creates, schedules, moves, cancels, marks
- `recurring`: a monthly package's sessions from its cadence
- `booking`: public booking, paid holds, the attendee's cancel and reschedule
- `engagement_setup`: the three guided set-ups, which end in sessions
- `availability`: a coach's hours, overrides, links, feeds and time zone
- `calendars`: external calendars and the busy time they block
- `invites`: e-mails with invites after commit; participants added to a workshop
- `reminders`: reminders before a session, once each
- `reassign`: a departing coach's links closed, their sessions given to another coach
"""

from .availability import (
    availability_row_delete,
    booking_link_save,
    coach_time_zone_set,
    date_override_add,
    feed_token_for,
    feed_token_rotate,
    weekly_hours_add,
)
from .booking import (
    PAYMENTS_NOT_CONNECTED,
    booking_cancel,
    booking_create,
    booking_hold_confirm,
    booking_hold_release,
    booking_hold_withdraw,
    booking_reschedule,
)
from .calendars import (
    external_calendar_add,
    external_calendar_refresh,
    external_calendar_refresh_task,
    external_calendar_remove,
)
from .claims import HOLD_MINUTES, SLOT_TAKEN, SlotTaken, holds_release_expired
from .engagement_setup import (
    engagement_create_monthly_package,
    engagement_create_per_session,
    engagement_create_team_workshop,
    engagement_schedule_change,
)
from .invites import workshop_participants_add
from .reassign import (
    Handover,
    booking_links_close_for_coach,
    coach_feeds_close,
    coach_handover,
    session_coach_change,
)
from .recurring import RecurringResult, recurring_sessions_generate, recurring_summary
from .reminders import reminder_send
from .scheduling import (
    ALLOWED_TRANSITIONS,
    seat_booking_check,
    session_cancel,
    session_cancel_as_package_ended,
    session_cancel_by_attendee,
    session_create,
    session_reschedule,
    session_schedule,
    session_status_set,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "HOLD_MINUTES",
    "PAYMENTS_NOT_CONNECTED",
    "SLOT_TAKEN",
    "Handover",
    "RecurringResult",
    "SlotTaken",
    "availability_row_delete",
    "booking_cancel",
    "booking_create",
    "booking_hold_confirm",
    "booking_hold_release",
    "booking_hold_withdraw",
    "booking_link_save",
    "booking_links_close_for_coach",
    "coach_feeds_close",
    "booking_reschedule",
    "coach_handover",
    "coach_time_zone_set",
    "date_override_add",
    "engagement_create_monthly_package",
    "engagement_create_per_session",
    "engagement_create_team_workshop",
    "engagement_schedule_change",
    "external_calendar_add",
    "external_calendar_refresh",
    "external_calendar_refresh_task",
    "external_calendar_remove",
    "feed_token_for",
    "feed_token_rotate",
    "holds_release_expired",
    "recurring_sessions_generate",
    "recurring_summary",
    "reminder_send",
    "seat_booking_check",
    "session_cancel",
    "session_cancel_as_package_ended",
    "session_cancel_by_attendee",
    "session_coach_change",
    "session_create",
    "session_reschedule",
    "session_schedule",
    "session_status_set",
    "weekly_hours_add",
    "workshop_participants_add",
]
