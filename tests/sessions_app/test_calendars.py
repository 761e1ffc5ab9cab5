"""Calendars: invites round-trip through icalendar, RRULE export, external feeds read
from a local HTTP server, reminders once each, and the slots view's query budget."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled
from icalendar import Calendar

from integrations.calendar import ics
from sessions_app import services
from sessions_app.models import BusyInterval, ExternalCalendar, ReminderSent, Session, SessionStatus
from sessions_app.services import external_calendar_refresh
from sessions_app.tasks import reminders_send

from ..kit.booking import open_all_week

NEW_YORK = ZoneInfo("America/New_York")


def _event(**overrides) -> ics.EventData:
    fields = dict(
        uid="session-1@coachhub",
        sequence=3,
        starts_at=dt.datetime(2027, 3, 14, 10, tzinfo=NEW_YORK),  # the day clocks change
        ends_at=dt.datetime(2027, 3, 14, 11, tzinfo=NEW_YORK),
        zone=NEW_YORK,
        summary="Coaching",
        description="Bring your notes",
        url="https://coachhub.example/sessions/1/",
        location="Zoom",
        organizer=ics.Person("Coach", "coach@example.com"),
        attendees=[ics.Person("Client", "client@example.com")],
    )
    fields.update(overrides)
    return ics.EventData(**fields)


def test_invite_round_trips_uid_sequence_and_times_with_a_vtimezone():
    now = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    calendar = Calendar.from_ical(ics.invite(_event(), now=now))
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == "session-1@coachhub"
    assert event.decoded("SEQUENCE") == 3
    assert event["DTSTART"].dt == dt.datetime(2027, 3, 14, 10, tzinfo=NEW_YORK)
    assert event["DTSTART"].dt.utcoffset() == dt.timedelta(hours=-4)  # EDT, after the change
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(event["ORGANIZER"]) == "mailto:coach@example.com"
    assert "https://coachhub.example/sessions/1/" in str(event["DESCRIPTION"])

    cancel = Calendar.from_ical(ics.invite(_event(sequence=4, cancelled=True), now=now))
    assert str(cancel["METHOD"]) == "CANCEL"
    (cancelled,) = cancel.walk("VEVENT")
    assert str(cancelled["UID"]) == "session-1@coachhub"
    assert cancelled.decoded("SEQUENCE") == 4
    assert str(cancelled["STATUS"]) == "CANCELLED"


def test_rrule_export_with_until_in_utc_reproduces_the_generated_dates():
    import recurring_ical_events

    # Bi-weekly Tuesdays at 09:00 New York, the 5th-week date skipped by the monthly cap.
    dates = [
        dt.datetime(2027, 3, 2, 9, tzinfo=NEW_YORK),
        dt.datetime(2027, 3, 16, 9, tzinfo=NEW_YORK),  # after the DST change: still 09:00
        dt.datetime(2027, 4, 13, 9, tzinfo=NEW_YORK),
    ]
    rule, exdates, rdates = ics.rrule_for_dates(dates, rule="FREQ=WEEKLY;INTERVAL=2", zone=NEW_YORK)
    assert rule.endswith("UNTIL=20270413T130000Z")
    assert exdates == [dt.datetime(2027, 3, 30, 13, tzinfo=dt.UTC)]
    assert rdates == []
    data = _event(
        starts_at=dates[0],
        ends_at=dates[0] + dt.timedelta(hours=1),
        rrule=rule,
        exdates=exdates,
    )
    calendar = Calendar.from_ical(ics.invite(data, now=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)))
    assert "UNTIL=20270413T130000Z" in calendar.to_ical().decode()
    expanded = recurring_ical_events.of(calendar).between(
        dt.datetime(2027, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 12, 31, tzinfo=dt.UTC)
    )
    assert [e["DTSTART"].dt for e in expanded] == dates


@pytest.mark.django_db
def test_engagement_schedule_download_is_a_recurring_event(world, as_member):

    home = world.home
    with scopes_disabled():
        client = home.objects["client"]
        engagement = services.engagement_create_monthly_package(
            practice=home.practice,
            actor=home.owner,
            client=client,
            coach=home.coach,
            hours_per_month=2,
            cadence="biweekly",
            session_minutes=60,
            preferred_weekday=2,
            preferred_time=dt.time(7, 0),
            starts_on=dt.date.today() + dt.timedelta(days=1),
            months=3,
        )
        generated = list(
            Session.objects.filter(engagement=engagement, status=SessionStatus.SCHEDULED)
            .order_by("starts_at")
            .values_list("starts_at", flat=True)
        )
    response = as_member("owner").get(f"/engagements/{engagement.pk}/schedule.ics")
    assert response.status_code == 200
    import recurring_ical_events

    calendar = Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert "RRULE" in event
    expanded = recurring_ical_events.of(calendar).between(
        generated[0] - dt.timedelta(days=1), generated[-1] + dt.timedelta(days=1)
    )
    assert [e["DTSTART"].dt.astimezone(dt.UTC) for e in expanded] == generated


# --- External calendar import --------------------------------------------------
# `feed_server` (sessions_app/conftest.py) serves the sample FEED of tests/kit/feeds.py.
@pytest.mark.django_db
def test_external_feed_expands_recurrences_and_honours_the_coach_choices(world, feed_server):
    coach = world.home.coach
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with scopes_disabled():
        calendar = ExternalCalendar.objects.create(
            practice=world.home.practice, coach=coach, url=feed_server.url
        )
        assert external_calendar_refresh(calendar=calendar, now=now) == "updated"
        spans = sorted(
            BusyInterval.objects.filter(calendar=calendar).values_list("starts_at", "ends_at")
        )
    utc = dt.UTC
    assert spans == [
        (dt.datetime(2026, 11, 2, 10, tzinfo=utc), dt.datetime(2026, 11, 2, 11, tzinfo=utc)),
        # 9 November is an EXDATE; the transparent event is ignored by default.
        (dt.datetime(2026, 11, 16, 10, tzinfo=utc), dt.datetime(2026, 11, 16, 11, tzinfo=utc)),
        # The all-day holiday blocks the coach's whole local day (coach is in London).
        (dt.datetime(2026, 11, 20, 0, tzinfo=utc), dt.datetime(2026, 11, 21, 0, tzinfo=utc)),
        (dt.datetime(2026, 11, 23, 10, tzinfo=utc), dt.datetime(2026, 11, 23, 11, tzinfo=utc)),
    ]
    # Unchanged feed (ETag): skipped, busy time untouched.
    assert external_calendar_refresh(calendar=calendar, now=now) == "unchanged"
    # Free events can be made to block, all-day ones ignored.
    with scopes_disabled():
        calendar.transparent_events_block = True
        calendar.all_day_events = "ignore"
        calendar.etag = calendar.content_hash = ""
        calendar.save()
        external_calendar_refresh(calendar=calendar, now=now)
        starts = set(
            BusyInterval.objects.filter(calendar=calendar).values_list("starts_at", flat=True)
        )
    assert dt.datetime(2026, 11, 18, 15, tzinfo=utc) in starts
    assert dt.datetime(2026, 11, 20, 0, tzinfo=utc) not in starts


@pytest.mark.django_db
def test_a_failed_fetch_is_recorded_and_old_busy_time_kept(world, feed_server):
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with scopes_disabled():
        calendar = ExternalCalendar.objects.create(
            practice=world.home.practice, coach=world.home.coach, url=feed_server.url
        )
        external_calendar_refresh(calendar=calendar, now=now)
        kept = BusyInterval.objects.filter(calendar=calendar).count()
        feed_server.status = 404
        calendar.etag = ""
        assert external_calendar_refresh(calendar=calendar, now=now) == "failed"
        assert "secret address may have been reset" in calendar.last_error
        assert BusyInterval.objects.filter(calendar=calendar).count() == kept
        feed_server.status, feed_server.body = 200, b"this is not a calendar"
        assert external_calendar_refresh(calendar=calendar, now=now) == "failed"
        assert "could not be read" in calendar.last_error
        assert BusyInterval.objects.filter(calendar=calendar).count() == kept


def test_private_addresses_are_refused_when_not_allowed():
    from integrations.calendar.feeds import FeedError, fetch

    with pytest.raises(FeedError, match="private network"):
        fetch("http://127.0.0.1:6379/x.ics", allow_private=False)
    with pytest.raises(FeedError, match="https://"):
        fetch("file:///etc/passwd", allow_private=True)


@pytest.mark.django_db
def test_external_busy_time_removes_slots(world, client):
    home = world.home
    link = open_all_week(home.practice, home.coach)
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    with scopes_disabled():
        calendar = ExternalCalendar.objects.create(
            practice=home.practice, coach=home.coach, url="https://example.org/x.ics"
        )
        BusyInterval.objects.create(
            practice=home.practice,
            calendar=calendar,
            coach=home.coach,
            starts_at=tomorrow,
            ends_at=tomorrow + dt.timedelta(hours=2),
        )
    day = tomorrow.date().isoformat()
    slots = client.get(
        f"/book/{link.practice.slug}/{link.slug}/slots?start={day}&end={day}&tz=UTC"
    ).json()["slots"]
    taken = {f"{day}T12:00:00+00:00", f"{day}T13:00:00+00:00"}
    assert not taken & set(slots)
    assert f"{day}T14:00:00+00:00" in slots


# --- Reminders ---------------------------------------------------------------
@pytest.mark.django_db
def test_reminders_go_once_each_never_for_cancelled_and_follow_a_reschedule(world):
    home = world.home
    link = open_all_week(home.practice, home.coach)
    booked_at = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    start = booked_at + dt.timedelta(days=10)  # clear of the world's own sessions
    with scopes_disabled():
        booking = services.booking_create(
            link=link,
            name="R",
            email="remind@example.net",
            starts_at=start,
            time_zone="UTC",
            now=booked_at,
        )
        other = services.booking_create(
            link=link,
            name="X",
            email="cancelled@example.net",
            starts_at=start + dt.timedelta(hours=2),
            time_zone="UTC",
            now=booked_at,
        )
        services.booking_cancel(booking=other, now=booked_at)
    mail.outbox.clear()

    def reminders_at(moment):
        """Beat's sweep at that moment; how many reminders went out (claimed and sent)."""
        with scopes_disabled():
            before = ReminderSent.objects.count()
        reminders_send(moment.isoformat())
        with scopes_disabled():
            return ReminderSent.objects.count() - before

    day_before = start - dt.timedelta(hours=24) + dt.timedelta(minutes=2)
    assert reminders_at(day_before) == 1
    assert reminders_at(day_before + dt.timedelta(minutes=5)) == 0  # ran twice: sent once
    hour_before = start - dt.timedelta(minutes=58)
    assert reminders_at(hour_before) == 1
    to = [m.to for m in mail.outbox]
    assert to == [["remind@example.net"], ["remind@example.net"]]
    assert all("Reminder" in m.subject for m in mail.outbox)

    # Moved two days later: reminded again at the new time.
    with scopes_disabled():
        services.booking_reschedule(
            booking=booking, starts_at=start + dt.timedelta(days=2), now=booked_at
        )
    assert reminders_at(start + dt.timedelta(days=1, minutes=2)) == 1
    assert reminders_at(start + dt.timedelta(days=1, minutes=3)) == 0


# --- Slots view: constant queries --------------------------------------------
def _count_slot_queries(client, link) -> int:
    day = dt.date.today() + dt.timedelta(days=2)
    cache.clear()  # count the computing path, not a cached answer
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            f"/book/{link.practice.slug}/{link.slug}/slots"
            f"?start={day}&end={day + dt.timedelta(days=89)}&tz=Europe/Paris"
        )
    assert response.status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_slots_view_queries_stay_the_same_whatever_the_volume(world, client):
    home = world.home
    link = open_all_week(home.practice, home.coach)
    baseline = _count_slot_queries(client, link)
    assert baseline <= 6
    now = dt.datetime.now(dt.UTC)
    with scopes_disabled():
        engagement = home.objects["engagement"]
        Session.objects.bulk_create(
            Session(
                practice=home.practice,
                engagement=engagement,
                coach=home.coach,
                title="Bulk",
                status=SessionStatus.SCHEDULED,
                # After the world's own sessions (days 2 and 5): no overlap on PostgreSQL.
                starts_at=now + dt.timedelta(days=6, hours=3 * i),
                ends_at=now + dt.timedelta(days=6, hours=3 * i, minutes=55),
            )
            for i in range(200)
        )
        for feed_number in range(3):
            calendar = ExternalCalendar.objects.create(
                practice=home.practice,
                coach=home.coach,
                url=f"https://example.org/{feed_number}.ics",
            )
            BusyInterval.objects.bulk_create(
                BusyInterval(
                    practice=home.practice,
                    calendar=calendar,
                    coach=home.coach,
                    starts_at=now + dt.timedelta(days=4, hours=5 * i + feed_number),
                    ends_at=now + dt.timedelta(days=4, hours=5 * i + feed_number, minutes=30),
                )
                for i in range(100)
            )
        for day in range(10):
            services.date_override_add(
                practice=home.practice,
                actor=home.coach,
                coach=home.coach,
                date=dt.date.today() + dt.timedelta(days=5 + day),
            )
    assert _count_slot_queries(client, link) == baseline


@pytest.mark.django_db
def test_changing_the_cadence_regenerates_future_sessions_only(world, as_member):

    home = world.home
    with scopes_disabled():
        engagement = services.engagement_create_monthly_package(
            practice=home.practice,
            actor=home.owner,
            client=home.objects["client"],
            coach=home.coach,
            hours_per_month=4,
            cadence="biweekly",
            session_minutes=60,
            preferred_weekday=3,
            preferred_time=dt.time(8, 0),
            starts_on=dt.date.today() + dt.timedelta(days=1),
            months=3,
        )
        past = Session.objects.create(
            practice=home.practice,
            engagement=engagement,
            coach=home.coach,
            client=home.objects["client"],
            title="Earlier",
            status=SessionStatus.COMPLETED,
            source="recurring",
            starts_at=dt.datetime(2020, 1, 2, 8, tzinfo=dt.UTC),
            ends_at=dt.datetime(2020, 1, 2, 9, tzinfo=dt.UTC),
        )
        before = Session.objects.filter(engagement=engagement, status="scheduled").count()
    response = as_member("coach").post(
        f"/engagements/{engagement.pk}/schedule/",
        {"cadence": "weekly", "preferred_weekday": 0, "preferred_time": "07:30"},
    )
    assert response.status_code == 302
    with scopes_disabled():
        future = list(Session.objects.filter(engagement=engagement, status="scheduled"))
        assert Session.objects.filter(pk=past.pk).exists()
    assert len(future) > before
    coach_zone = ZoneInfo(home.coach.time_zone)
    assert {s.starts_at.astimezone(coach_zone).strftime("%a %H:%M") for s in future} == {
        "Mon 07:30"
    }
    assert as_member("assistant").post(
        f"/engagements/{engagement.pk}/schedule/",
        {"cadence": "weekly", "preferred_weekday": 0, "preferred_time": "07:30"},
    ).status_code in (403, 404)


@pytest.mark.django_db
def test_a_webcal_address_is_stored_as_https(world):
    from sessions_app.services import external_calendar_add

    home = world.home
    with scopes_disabled():
        calendar = external_calendar_add(
            practice=home.practice,
            actor=home.coach,
            coach=home.coach,
            name="Google",
            url=" webcal://calendar.example.org/private-abc/basic.ics ",
        )
    assert calendar.url == "https://calendar.example.org/private-abc/basic.ics"
