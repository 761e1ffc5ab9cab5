"""Booking helpers: a link open around the clock, its public slots, and a visitor's booking."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django_scopes import scopes_disabled
from icalendar import Calendar

from sessions_app import services
from sessions_app.models import BookingLink, WeeklyHours

TOKYO = "Asia/Tokyo"


def open_all_week(practice, coach, *, notice_minutes: int = 0, **link_fields) -> BookingLink:
    """A link whose coach is bookable around the clock (so tests do not depend on 'now')."""
    with scopes_disabled():
        WeeklyHours.objects.filter(coach=coach).delete()
        for weekday in range(7):
            services.weekly_hours_add(
                practice=practice,
                actor=coach,
                coach=coach,
                weekday=weekday,
                starts=dt.time(0),
                ends=dt.time(0),
            )
        return services.booking_link_save(
            practice=practice,
            actor=coach,
            slug=link_fields.pop("slug", "open"),
            title=link_fields.pop("title", "Coaching call"),
            minimum_notice_minutes=notice_minutes,
            duration_minutes=link_fields.pop("duration_minutes", 60),
            step_minutes=60,
            buffer_after_minutes=0,
            **link_fields,
        )


def slots_url(link, **params) -> str:
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/book/{link.practice.slug}/{link.slug}/slots?{query}"


def first_slots(client, link, tz=TOKYO, days=3) -> list[str]:
    """The public slots from two days ahead, for `days` days, written on the `tz` clock."""
    today = dt.datetime.now(ZoneInfo(tz)).date()
    response = client.get(
        slots_url(
            link, start=today + dt.timedelta(days=2), end=today + dt.timedelta(days=days + 2), tz=tz
        )
    )
    assert response.status_code == 200, response.content
    return response.json()["slots"]


def book(client, link, start_iso: str, *, email="visitor@example.net", tz=TOKYO):
    """The visitor's confirm form for a time taken from the slots."""
    return client.post(
        f"/book/{link.practice.slug}/{link.slug}/confirm/",
        {"start": start_iso, "name": "Vera Visitor", "email": email, "tz": tz},
    )


def invite_of(message) -> Calendar:
    """The .ics invite attached to an e-mail."""
    (attachment,) = [a for a in message.attachments if a[0].endswith(".ics")]
    return Calendar.from_ical(attachment[1])
