"""E-mails about sessions, each with its RFC 5545 invite, the task that sends them, and the
contents of subscription feeds.

Each attendee gets their own invite (their own reschedule/cancel link in it); the
coach gets one too. The engagement option "do not send our invite" (the booking
tool sends its own) keeps the e-mail but leaves the .ics out.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal
from zoneinfo import ZoneInfo

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from coachhub.links import absolute
from coachhub.tasks import PracticeTask
from engagements.models import Engagement
from integrations.calendar import ics

from .booking_tokens import manage_token
from .models import Booking, BookingStatus, Session, SessionSource, SessionStatus

NoticeKind = Literal["confirmed", "rescheduled", "cancelled", "reminder"]

SUBJECTS: dict[str, str] = {
    "confirmed": "Confirmed: {title}, {when}",
    "rescheduled": "Moved: {title}, now {when}",
    "cancelled": "Cancelled: {title}, {when}",
    "reminder": "Reminder: {title}, {when}",
}


def manage_url(booking: Booking, *, now: dt.datetime) -> str:
    return absolute(reverse("booking_manage", kwargs={"token": manage_token(booking, now=now)}))


def event_data(
    session: Session, *, attendees: list[ics.Person], description: str = ""
) -> ics.EventData:
    coach = session.coach
    return ics.EventData(
        uid=session.ics_uid(),
        sequence=session.sequence,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        zone=ZoneInfo(coach.time_zone),
        summary=session.title,
        description=description,
        url=absolute(session.get_absolute_url()),
        location=session.location,
        organizer=ics.Person(coach.display_name, coach.email),
        attendees=attendees,
        cancelled=session.status
        in (SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED, SessionStatus.RELEASED),
    )


def _bookings_to_tell(session: Session, kind: str) -> list[Booking]:
    wanted = (
        [BookingStatus.CANCELLED, BookingStatus.LATE_CANCELLED]
        if kind == "cancelled"
        else [BookingStatus.CONFIRMED]
    )
    bookings = list(session.bookings.filter(status__in=wanted).select_related("client"))
    if kind == "cancelled" and session.booking_link_id and session.booking_link.is_group:
        # A group booking cancelled alone: only that person (the latest) hears about it.
        bookings = sorted(bookings, key=lambda b: b.cancelled_at or b.created_at)[-1:]
    return bookings


def session_emails(session: Session, kind: NoticeKind, *, now: dt.datetime | None = None) -> list:
    """The messages for one change to a session: one per attendee, one for the coach."""
    now = now or timezone.now()
    with_invite = session.engagement.send_platform_invite
    # (client, the zone they see times in, their manage link) for everyone to tell.
    recipients = [
        (b.client, ZoneInfo(b.time_zone), manage_url(b, now=now) if kind != "cancelled" else "")
        for b in _bookings_to_tell(session, kind)
    ]
    if not recipients and session.client_id and kind != "reminder":
        # A session scheduled from the dashboard: its client, without a manage link.
        recipients = [(session.client, ZoneInfo(session.client.time_zone), "")]
    people = [ics.Person(client.name, client.email) for client, _, _ in recipients]
    messages = [
        _message(
            session,
            kind,
            to=person.email,
            zone=zone,
            manage_link=link,
            invite=with_invite,
            attendees=[person],
            now=now,
        )
        for person, (_, zone, link) in zip(people, recipients, strict=True)
    ]
    if kind != "reminder":
        messages.append(
            _message(
                session,
                kind,
                to=session.coach.email,
                zone=ZoneInfo(session.coach.time_zone),
                manage_link=absolute(session.get_absolute_url()),
                invite=with_invite,
                attendees=people,
                now=now,
            )
        )
    return messages


def _message(session, kind, *, to, zone, manage_link, invite, attendees, now):
    local_start = session.starts_at.astimezone(zone)
    when = f"{local_start:%a %d %b %Y, %H:%M} ({zone.key})"
    context = {
        "session": session,
        "kind": kind,
        "when": when,
        "manage_link": manage_link,
        "practice": session.practice,
        "with_invite": invite,
    }
    message = EmailMultiAlternatives(
        subject=SUBJECTS[kind].format(title=session.title, when=when),
        body=render_to_string("sessions_app/email/session_change.txt", context),
        to=[to],
    )
    if invite and kind != "reminder":
        description = f"Reschedule or cancel: {manage_link}" if manage_link else ""
        data = event_data(session, attendees=attendees, description=description)
        method = "CANCEL" if data.cancelled else "REQUEST"
        message.attach(
            "invite.ics",
            ics.invite(data, now=now),
            f"text/calendar; method={method}; charset=UTF-8",
        )
    return message


def feed_events(sessions, *, for_client: bool = False) -> list[ics.EventData]:
    events = []
    for session in sessions:
        attendees = []
        if session.client_id:
            attendees = [ics.Person(session.client.name, session.client.email)]
        events.append(event_data(session, attendees=[] if for_client else attendees))
    return events


CADENCE_RULES = {"weekly": "FREQ=WEEKLY;INTERVAL=1", "biweekly": "FREQ=WEEKLY;INTERVAL=2"}
BYDAY = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def schedule_invite(engagement: Engagement, *, now: dt.datetime | None = None) -> bytes | None:
    """The recurring schedule of a monthly package as one RRULE event, whose EXDATEs and
    RDATEs make it produce exactly the sessions generated (months capped by hours)."""
    now = now or timezone.now()
    sessions = list(
        Session.objects.filter(
            practice_id=engagement.practice_id,
            engagement=engagement,
            source=SessionSource.RECURRING,
            status__in=[SessionStatus.SCHEDULED, SessionStatus.COMPLETED],
        )
        .select_related("coach", "client", "practice")
        .order_by("starts_at")
    )
    if not sessions or engagement.preferred_weekday is None:
        return None
    zone = ZoneInfo(engagement.coach.time_zone)
    rule = CADENCE_RULES.get(
        engagement.cadence, f"FREQ=MONTHLY;BYDAY=1{BYDAY[engagement.preferred_weekday]}"
    )
    full_rule, exdates, rdates = ics.rrule_for_dates(
        [s.starts_at for s in sessions], rule=rule, zone=zone
    )
    first = sessions[0]
    attendees = [ics.Person(first.client.name, first.client.email)] if first.client_id else []
    data = ics.EventData(
        uid=f"schedule-{engagement.pk}-{engagement.practice.public_id}@coachhub",
        sequence=int(now.timestamp()) // 60,  # a later export always supersedes an earlier one
        starts_at=first.starts_at,
        ends_at=first.ends_at,
        zone=zone,
        summary=engagement.title,
        description=(
            f"{engagement.get_cadence_display()} sessions, {engagement.session_minutes} min."
        ),
        url=absolute(engagement.get_absolute_url()),
        location=first.location,
        organizer=ics.Person(engagement.coach.display_name, engagement.coach.email),
        attendees=attendees,
        rrule=full_rule,
        exdates=exdates,
        rdates=rdates,
    )
    return ics.invite(data, now=now)


@shared_task(base=PracticeTask, bind=True, max_retries=5)
def session_notify(self, *, practice_id: int, session_id: int, kind: NoticeKind) -> int:
    """E-mail attendees and the coach about a change, with the invite attached."""
    session = (
        Session.objects.select_related("practice", "coach", "client", "engagement", "booking_link")
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        return 0
    messages = session_emails(session, kind)
    try:
        for message in messages:
            message.send()
    except OSError as error:  # SMTP down: try again later rather than lose it
        raise self.retry_later(error) from error
    return len(messages)
