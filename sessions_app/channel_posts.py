"""What CoachHub posts in a collection's Slack channel between sessions: a reminder before
each session and the session's time and link once it has one. Both go through
`chat.services.slack_post_queue`, keyed so each is posted once; the practice turns either
kind off on its Slack connection (`post_reminders`, `post_session_links`)."""

from __future__ import annotations

import datetime as dt

from chat import services as chat_services
from chat.models import SlackPost

from .models import Session, SessionStatus

# Slack shows `<!date^…>` in each reader's own time zone; the fallback is for old clients.
DATE_FORMAT = "{date_long_pretty} at {time}"


def slack_time(moment: dt.datetime) -> str:
    """A time every member reads in their own zone."""
    fallback = moment.astimezone(dt.UTC).strftime("%A %d %B %Y, %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{DATE_FORMAT}|{fallback}>"


def _where(session: Session) -> str:
    return f"\nJoin here: {session.location}" if session.location else ""


def reminder_text(session: Session, *, lead_minutes: int) -> str:
    hours, minutes = divmod(lead_minutes, 60)
    soon = f"{hours} h" if hours and not minutes else f"{lead_minutes} min"
    if lead_minutes >= 24 * 60 and not lead_minutes % (24 * 60):
        soon = "tomorrow" if lead_minutes == 24 * 60 else f"in {lead_minutes // (24 * 60)} days"
    else:
        soon = f"in {soon}"
    return (
        f":alarm_clock: Reminder: *{session.title}* with {session.coach.display_name} "
        f"is {soon}, {slack_time(session.starts_at)}.{_where(session)}"
    )


def session_link_text(session: Session, *, rescheduled: bool) -> str:
    verb = "has moved to" if rescheduled else "is scheduled for"
    return (
        f":calendar: *{session.title}* with {session.coach.display_name} {verb} "
        f"{slack_time(session.starts_at)}.{_where(session)}"
    )


def reminder_post(*, session: Session, lead_minutes: int) -> SlackPost | None:
    """The channel's reminder before a session, once per lead time and start time (a
    rescheduled session is reminded again, as its e-mail reminder is)."""
    if not session.collection_id or session.status != SessionStatus.SCHEDULED:
        return None
    return chat_services.slack_post_queue(
        practice=session.practice,
        collection=session.collection,
        key=f"reminder:{session.pk}:{lead_minutes}:{int(session.starts_at.timestamp())}",
        kind="reminder",
        text=reminder_text(session, lead_minutes=lead_minutes),
        not_after=session.starts_at,  # a reminder sent once it has started is noise
    )


def session_link_post(*, session: Session, rescheduled: bool = False) -> SlackPost | None:
    """The session's time and link in its channel when it gets a time, once per change
    (the key carries the session's iCalendar sequence, which each change raises)."""
    if not session.collection_id or session.status != SessionStatus.SCHEDULED:
        return None
    if session.starts_at is None:
        return None
    if not chat_services.slack_posts_wanted(session.practice, "post_session_links"):
        return None
    return chat_services.slack_post_queue(
        practice=session.practice,
        collection=session.collection,
        key=f"session:{session.pk}:scheduled:{session.sequence}",
        kind="session_link",
        text=session_link_text(session, rescheduled=rescheduled),
    )
