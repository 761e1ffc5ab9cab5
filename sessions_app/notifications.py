"""E-mails about sessions, each with its RFC 5545 invite, the task that sends them, and the
contents of subscription feeds.

Each attendee gets their own invite (their own reschedule/cancel link in it); the
coach gets one too. The engagement option "do not send our invite" (the booking
tool sends its own) keeps the e-mail but leaves the .ics out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from coachhub.links import absolute
from coachhub.mail import email_send
from coachhub.models import User
from coachhub.tasks import PracticeTask
from engagements.models import Client, Engagement, EngagementKind
from engagements.portal import portal_home_path, portal_link, portal_session_path
from engagements.services import checklist_step_done, clients_portal_users_ensure
from integrations.calendar import ics

from .booking_tokens import attendee_token, manage_token
from .channel_posts import session_link_post
from .models import Booking, BookingStatus, Session, SessionSource, SessionStatus

logger = logging.getLogger(__name__)

NoticeKind = Literal["confirmed", "rescheduled", "cancelled", "reminder", "reassigned"]

SUBJECTS: dict[str, str] = {
    "confirmed": "Confirmed: {title}, {when}",
    "rescheduled": "Moved: {title}, now {when}",
    "cancelled": "Cancelled: {title}, {when}",
    "reminder": "Reminder: {title}, {when}",
    "reassigned": "Now with {coach}: {title}, {when}",
}

# The coach's copy names who the session is with ("Jonas Berg booked Free intro call").
COACH_SUBJECTS: dict[str, str] = {
    "booked": "{names} booked {title}, {when}",
    "confirmed": "Confirmed: {title}{with_names}, {when}",
    "rescheduled": "Moved: {title}{with_names}, now {when}",
    "cancelled": "Cancelled: {title}{with_names}, {when}",
    "reassigned": "Handed to you: {title}{with_names}, {when}",
    "handed_over": "Now with {coach}: {title}{with_names}, {when}",
}


@dataclass(frozen=True)
class Attendee:
    """Someone to tell about a session: the zone they read times in and their own page."""

    client: Client
    zone: ZoneInfo
    link: str  # their portal page for this session, signed in by the link (e-mail bodies)
    link_label: str
    page: str = ""  # the same page without a way in (invites: calendars keep them)
    booked: bool = False


def manage_url(booking: Booking, *, now: dt.datetime) -> str:
    return absolute(reverse("booking_manage", kwargs={"token": manage_token(booking, now=now)}))


def attendee_url(session: Session, client_id: int, *, now: dt.datetime) -> str:
    """The signed page of one attendee without a booking (see, add to calendar, cancel)."""
    token = attendee_token(session, client_id, now=now)
    return absolute(reverse("attendee_session", kwargs={"token": token}))


def portal_url(session: Session, client: Client, *, live: bool = True) -> str:
    """Where a client's e-mail leads: that session in their portal, signed in by the link
    (their sessions there once it is cancelled). The client's account must exist
    (`clients_portal_users_ensure`)."""
    path = portal_session_path(session.practice, session.public_id) if live else None
    return portal_link(client, path=path)


def portal_page_url(session: Session, *, live: bool = True) -> str:
    """The same portal page without a sign-in token: what an invite or an .ics file
    carries, since calendars keep (and share) them long after the e-mail."""
    if live:
        return absolute(portal_session_path(session.practice, session.public_id))
    return absolute(portal_home_path(session.practice))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # a zone name the system no longer knows
        return ZoneInfo("UTC")


def event_data(
    session: Session,
    *,
    attendees: list[ics.Person],
    description: str = "",
    url: str | None = None,
    summary: str | None = None,
) -> ics.EventData:
    """The session as a calendar event; `url` is the reader's own page (the coach's session
    page unless given: an attendee's invite links their manage page instead)."""
    coach = session.coach
    return ics.EventData(
        uid=session.ics_uid(),
        sequence=session.sequence,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        zone=ZoneInfo(coach.time_zone),
        summary=summary or session.title,
        description=description,
        url=url if url is not None else absolute(session.get_absolute_url()),
        location=session.location,
        organizer=ics.Person(coach.display_name, coach.email),
        attendees=attendees,
        cancelled=session.status
        in (SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED, SessionStatus.RELEASED),
    )


def _bookings_to_tell(session: Session, kind: str, booking_id: int | None = None) -> list[Booking]:
    wanted = (
        [BookingStatus.CANCELLED, BookingStatus.LATE_CANCELLED]
        if kind == "cancelled"
        else [BookingStatus.CONFIRMED]
    )
    bookings = session.bookings.filter(status__in=wanted).select_related("client__user")
    if booking_id is not None:  # one person took a place: only they (and the coach) hear
        bookings = bookings.filter(pk=booking_id)
    bookings = list(bookings)
    if kind == "cancelled" and session.booking_link_id and session.booking_link.is_group:
        # A group booking cancelled alone: only that person (the latest) hears about it.
        bookings = sorted(bookings, key=lambda b: b.cancelled_at or b.created_at)[-1:]
    return bookings


def _attendee_people(
    session: Session, kind: str, booking_id: int | None
) -> list[tuple[Client, ZoneInfo, str, bool]]:
    """(client, zone, link label, booked) for each attendee: the people who booked it, else
    the session's client (scheduled by the coach or generated by a package), else a
    workshop's participants."""
    live = kind != "cancelled"
    bookings = _bookings_to_tell(session, kind, booking_id)
    if bookings:
        label = "Reschedule or cancel" if live else "Your sessions"
        return [(b.client, _zone(b.time_zone), label, True) for b in bookings]
    if session.booking_link_id and session.booking_link.is_group:
        return []  # a group slot's people are its bookings; nobody holds a place now
    if session.client_id:
        clients, label = [session.client], "See or cancel this session"
    elif session.collection_id:
        participants = session.collection.participants.select_related("user").order_by("name")
        clients, label = list(participants), "This session"
    else:
        clients, label = [], ""
    label = label if live else "Your sessions"
    return [(client, _zone(client.time_zone), label, False) for client in clients]


def session_attendees(
    session: Session,
    kind: str,
    *,
    now: dt.datetime,
    booking_id: int | None = None,
    client_ids: list[int] | None = None,
) -> list[Attendee]:
    """Who attends (only those in `client_ids` when given), each with their links; the
    portal accounts their links sign in to are made here, once per client told."""
    people = _attendee_people(session, kind, booking_id)
    if client_ids is not None:
        people = [person for person in people if person[0].pk in client_ids]
    clients_portal_users_ensure(clients=[person[0] for person in people])
    live = kind != "cancelled"
    page = portal_page_url(session, live=live)
    return [
        Attendee(
            client, zone, portal_url(session, client, live=live), label, page=page, booked=booked
        )
        for client, zone, label, booked in people
    ]


def _names(clients: list[Client]) -> str:
    names = [client.name for client in clients]
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]}, {names[1]} and {len(names) - 2} more"


def session_emails(
    session: Session,
    kind: NoticeKind,
    *,
    now: dt.datetime | None = None,
    client_ids: list[int] | None = None,
    previous_coach: User | None = None,
    booking_id: int | None = None,
) -> list:
    """The messages for one change to a session: one per attendee, one for the coach
    (none at all for a session without a time or without attendees). With `client_ids`,
    only those attendees (people just added to a workshop), and no copy for the coach.
    A session handed to another coach also takes it off the `previous_coach`'s calendar;
    with `booking_id` (a place just taken in a group slot) only that person is told."""
    now = now or timezone.now()
    if session.starts_at is None:
        return []
    attendees = session_attendees(
        session, kind, now=now, booking_id=booking_id, client_ids=client_ids
    )
    if not attendees:
        return []
    with_invite = session.engagement.send_platform_invite
    people = [ics.Person(a.client.name, a.client.email) for a in attendees]
    messages = [
        _attendee_message(session, kind, attendee, invite=with_invite, now=now)
        for attendee in attendees
    ]
    if kind != "reminder" and client_ids is None:
        messages.append(
            _coach_message(session, kind, attendees, people, invite=with_invite, now=now)
        )
    if kind == "reassigned" and previous_coach is not None and client_ids is None:
        messages.append(
            _coach_message(
                session,
                "handed_over",
                attendees,
                people,
                invite=with_invite,
                now=now,
                recipient=previous_coach,
            )
        )
    return messages


def _when(session: Session, zone: ZoneInfo) -> str:
    local_start = session.starts_at.astimezone(zone)
    return f"{local_start:%a %d %b %Y, %H:%M} ({zone.key})"


def _attach_invite(
    message, session, *, attendees, description, url, summary=None, now, cancelled=False
):
    data = event_data(
        session, attendees=attendees, description=description, url=url, summary=summary
    )
    if cancelled:  # off this reader's calendar, though the session itself goes on
        data = dataclasses.replace(data, cancelled=True)
    method = "CANCEL" if data.cancelled else "REQUEST"
    message.attach(
        "invite.ics", ics.invite(data, now=now), f"text/calendar; method={method}; charset=UTF-8"
    )


def _attendee_message(session, kind, attendee: Attendee, *, invite, now):
    when = _when(session, attendee.zone)
    context = {
        "session": session,
        "kind": kind,
        "when": when,
        "manage_link": attendee.link,
        "manage_label": attendee.link_label,
        "booked": attendee.booked,
        "practice": session.practice,
        "with_invite": invite,
    }
    message = EmailMultiAlternatives(
        subject=SUBJECTS[kind].format(
            title=session.title, when=when, coach=session.coach.display_name
        ),
        body=render_to_string("sessions_app/email/session_change.txt", context),
        to=[attendee.client.email],
    )
    if invite and kind != "reminder":
        _attach_invite(
            message,
            session,
            attendees=[ics.Person(attendee.client.name, attendee.client.email)],
            description=f"{attendee.link_label}: {attendee.page}" if attendee.page else "",
            url=attendee.page,
            now=now,
        )
    return message


def _coach_message(
    session, kind, attendees: list[Attendee], people, *, invite, now, recipient=None
):
    """The coach's copy; `recipient` is a coach the session was taken from ("handed_over")."""
    recipient = recipient or session.coach
    zone = _zone(recipient.time_zone)
    when = _when(session, zone)
    clients = [a.client for a in attendees]
    names = _names(clients)
    booked = kind == "confirmed" and session.source == SessionSource.BOOKING_LINK
    booked = booked and any(a.booked for a in attendees)
    if booked and session.booking_link_id and session.booking_link.is_group:
        names = clients[-1].name  # the one who just took a place
    in_title = all(client.name in session.title for client in clients)
    subject = COACH_SUBJECTS["booked" if booked else kind].format(
        names=names,
        title=session.title,
        when=when,
        with_names="" if in_title else f" with {names}",
        coach=session.coach.display_name,
    )
    page = absolute(session.get_absolute_url())
    context = {
        "session": session,
        "kind": "booked" if booked else kind,
        "when": when,
        "names": names,
        "attendees": clients,
        "session_page": page,
        "practice": session.practice,
        "with_invite": invite,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("sessions_app/email/session_change_coach.txt", context),
        to=[recipient.email],
    )
    if invite:
        _attach_invite(
            message,
            session,
            attendees=people,
            description=f"Session page: {page}",
            url=page,
            summary=coach_event_title(session),
            now=now,
            cancelled=kind == "handed_over",
        )
    return message


def coach_event_title(session: Session, clients: list[Client] | None = None) -> str:
    """The coach's calendar names who a session is with ("Free intro call — Jonas Berg")."""
    if clients is None:
        clients = [session.client] if session.client_id else []
    names = _names(clients)
    if not names or all(client.name in session.title for client in clients):
        return session.title
    return f"{session.title} — {names}"


def feed_events(
    sessions, *, client: Client | None = None, now: dt.datetime | None = None
) -> list[ics.EventData]:
    """A feed's events: the coach's name who each session is with and link the coach's
    session page; a client's link that session in their portal (no sign-in token: a feed
    is fetched and kept by calendar servers, so it carries no way in)."""
    events = []
    for session in sessions:
        if client is not None:
            url = absolute(portal_session_path(session.practice, session.public_id))
            events.append(event_data(session, attendees=[], url=url))
            continue
        attendees = []
        if session.client_id:
            attendees = [ics.Person(session.client.name, session.client.email)]
        events.append(event_data(session, attendees=attendees, summary=coach_event_title(session)))
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
def session_notify(
    self,
    *,
    practice_id: int,
    session_id: int,
    kind: NoticeKind,
    client_ids: list[int] | None = None,
    previous_coach_id: int | None = None,
    booking_id: int | None = None,
    still_to: list[str] | None = None,
) -> int:
    """E-mail attendees and the coach about a change, with the invite attached (only the
    attendees in `client_ids` when given; a coach it was taken from gets a CANCEL).

    Each message is handed over on its own: when the mail server fails part-way, the next
    attempt sends only the ones still owed (`still_to`), so nobody gets a change twice."""
    session = (
        Session.objects.select_related(
            "practice", "coach", "client__user", "engagement", "booking_link"
        )
        .filter(pk=session_id)
        .first()
    )
    if session is None:
        return 0
    if kind in ("confirmed", "rescheduled") and client_ids is None:
        session_link_post(session=session, rescheduled=kind == "rescheduled")
    previous_coach = (
        User.objects.filter(pk=previous_coach_id).first() if previous_coach_id else None
    )
    messages = session_emails(
        session,
        kind,
        client_ids=client_ids,
        previous_coach=previous_coach,
        booking_id=booking_id,
    )
    if still_to is not None:
        messages = [message for message in messages if message.to[0] in still_to]
    for number, message in enumerate(messages):
        try:
            email_send(
                message,
                practice_id=practice_id,
                kind=f"session.{kind}",
                subject=session,
                engagement_id=session.engagement_id,
                attempt=self.attempt,
                will_retry=False if self.last_attempt else None,
            )
        except OSError as error:  # SMTP down: the rest later rather than lost
            owed = [later.to[0] for later in messages[number:]]
            if self.is_eager:  # in-process: no worker to try again later; say so
                logger.warning("Session %s: %d e-mails not sent: %s", session_id, len(owed), error)
                return number
            raise self.retry_later(error, still_to=owed) from error
    attendees = [m.to[0] for m in messages if m.to[0] != session.coach.email]
    if attendees and kind in ("confirmed", "rescheduled") and client_ids is None:
        invite_step_done(session, attendees=attendees)
    return len(messages)


def invite_step_done(session: Session, *, attendees: list[str]) -> None:
    """The checklist's "calendar invite sent" step turns done once an invite was handed to
    the e-mail backend (only then, and only when CoachHub sends its own invite)."""
    engagement = session.engagement
    if not engagement.send_platform_invite or engagement.kind != EngagementKind.PER_SESSION:
        return
    local = session.starts_at.astimezone(ZoneInfo(session.coach.time_zone))
    checklist_step_done(
        engagement=engagement,
        key="calendar_invite",
        reason=(
            f"Invite for {local:%a %d %b %Y, %H:%M} ({session.coach.time_zone}) e-mailed to "
            f"{', '.join(attendees)}."
        ),
    )
