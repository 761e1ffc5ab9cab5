"""RFC 5545 output: invites (REQUEST/CANCEL) and subscription feeds.

Every TZID we write gets its VTIMEZONE (`add_missing_timezones`): without one,
Outlook shows times an hour off across DST. Times are written in the coach's zone
so a calendar shows them the way the coach set them; UNTIL is in UTC as RFC 5545
requires when DTSTART has a TZID.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from icalendar import Calendar, Event, vCalAddress, vRecur, vText

PRODID = "-//CoachHub//Sessions//EN"


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True)
class EventData:
    """What a calendar needs to know about one session (no ORM objects here)."""

    uid: str
    sequence: int
    starts_at: dt.datetime  # aware, any zone
    ends_at: dt.datetime
    zone: ZoneInfo  # the zone the event is written in
    summary: str
    description: str
    url: str
    location: str
    organizer: Person
    attendees: Sequence[Person]
    cancelled: bool = False
    rrule: str = ""  # e.g. "FREQ=WEEKLY;INTERVAL=2;UNTIL=20270101T000000Z"
    exdates: Sequence[dt.datetime] = ()
    rdates: Sequence[dt.datetime] = ()


def _address(person: Person, role: str | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = vText(person.name or person.email)
    if role:
        address.params["ROLE"] = vText(role)
        address.params["PARTSTAT"] = vText("NEEDS-ACTION")
        address.params["RSVP"] = vText("TRUE")
    return address


def _event(data: EventData, *, stamp: dt.datetime) -> Event:
    event = Event()
    event.add("uid", data.uid)
    event.add("sequence", data.sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", data.starts_at.astimezone(data.zone))
    event.add("dtend", data.ends_at.astimezone(data.zone))
    event.add("summary", data.summary)
    description = data.description
    if data.url:
        if data.url not in description:
            description = f"{description}\n\nSession page: {data.url}".strip()
        event.add("url", data.url)
    event.add("description", description)
    if data.location:
        event.add("location", data.location)
    event.add("organizer", _address(data.organizer))
    for attendee in data.attendees:
        event.add("attendee", _address(attendee, role="REQ-PARTICIPANT"))
    event.add("status", "CANCELLED" if data.cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if data.rrule:
        event.add("rrule", vRecur.from_ical(data.rrule))
        for exdate in data.exdates:
            event.add("exdate", exdate.astimezone(data.zone))
        for rdate in data.rdates:
            event.add("rdate", rdate.astimezone(data.zone))
    return event


def _calendar(method: str | None, events: Iterable[Event], name: str = "") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    if name:
        calendar.add("x-wr-calname", name)
    for event in events:
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def invite(data: EventData, *, now: dt.datetime) -> bytes:
    """An invite to attach to an e-mail: REQUEST, or CANCEL for the same UID."""
    return _calendar("CANCEL" if data.cancelled else "REQUEST", [_event(data, stamp=now)])


def feed(name: str, events: Iterable[EventData], *, now: dt.datetime) -> bytes:
    """A subscription feed (no METHOD: calendars treat it as a published calendar)."""
    return _calendar(None, (_event(data, stamp=now) for data in events), name=name)


def rrule_for_dates(
    dates: Sequence[dt.datetime], *, rule: str, zone: ZoneInfo
) -> tuple[str, list[dt.datetime], list[dt.datetime]]:
    """RRULE (with UNTIL in UTC) plus the EXDATEs/RDATEs that make it produce exactly
    `dates`. A monthly-hours cap skips some cadence dates; EXDATE says which."""
    if not dates:
        return "", [], []
    first = dates[0].astimezone(zone)
    last = dates[-1]
    until = last.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    full_rule = f"{rule};UNTIL={until}"
    expanded = {occurrence.astimezone(dt.UTC) for occurrence in rrulestr(full_rule, dtstart=first)}
    wanted = {date.astimezone(dt.UTC) for date in dates}
    exdates = sorted(expanded - wanted)
    rdates = sorted(wanted - expanded)
    return full_rule, exdates, rdates
