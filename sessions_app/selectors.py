"""Reads for sessions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import TruncMonth
from django.http import Http404
from django_scopes import scopes_disabled

from coachhub.models import Membership, Practice, User
from coachhub.permissions import can, roles_with
from coachhub.timezones import last_months, local_day_start, months_span, zone_names

from .models import (
    STATUSES_THAT_BLOCK_TIME,
    STATUSES_THAT_USE_ALLOWANCE,
    BookingLink,
    BookingStatus,
    BusyInterval,
    DateOverride,
    Session,
    SessionStatus,
    WeeklyHours,
)
from .slots import MAX_SESSION_LENGTH, Availability, free_slots


def sessions_visible_to(membership: Membership) -> QuerySet[Session]:
    sessions = Session.objects.filter(practice=membership.practice)
    if can(membership, "clients.see_all"):
        return sessions
    return sessions.filter(coach_id=membership.user_id)


def upcoming_sessions(
    membership: Membership, *, now: dt.datetime, limit: int = 20
) -> list[Session]:
    return list(
        sessions_visible_to(membership)
        .filter(status=SessionStatus.SCHEDULED, starts_at__gte=now)
        .select_related("client", "coach", "engagement")
        .order_by("starts_at")[:limit]
    )


def session_get_for_member(membership: Membership, public_id) -> Session:
    try:
        return (
            sessions_visible_to(membership)
            .select_related(
                "client", "coach", "engagement", "collection", "seat__contract__organization"
            )
            .get(public_id=public_id)
        )
    except (Session.DoesNotExist, ValueError):
        raise Http404("No session found.") from None


# --- Availability and slots -------------------------------------------------------
MAX_SLOT_RANGE_DAYS = 92


class SlotQueryError(ValueError):
    """A slots request the visitor must fix (shown as a 400 with this message)."""


def parse_slot_query(
    start: str | None, end: str | None, tz: str | None
) -> tuple[dt.date, dt.date, ZoneInfo]:
    """Validate `start`, `end` (YYYY-MM-DD, inclusive) and `tz` from a query string."""
    if not start or not end:
        raise SlotQueryError("Give start and end dates as YYYY-MM-DD.")
    try:
        start_day = dt.date.fromisoformat(start)
        end_day = dt.date.fromisoformat(end)
    except ValueError:
        raise SlotQueryError("Dates must look like 2026-03-08 (YYYY-MM-DD).") from None
    if end_day < start_day:
        raise SlotQueryError("The end date is before the start date.")
    if (end_day - start_day).days + 1 > MAX_SLOT_RANGE_DAYS:
        raise SlotQueryError(f"Ask for at most {MAX_SLOT_RANGE_DAYS} days at a time.")
    zone_name = tz or "UTC"
    if zone_name not in zone_names():
        raise SlotQueryError(f"{zone_name} is not a known time zone; use one like Europe/London.")
    return start_day, end_day, ZoneInfo(zone_name)


def booking_link_for_page(practice_slug: str, link_slug: str) -> BookingLink:
    """The active link for a public page; a call inside the link's practice scope."""
    try:
        return BookingLink.objects.select_related("practice", "coach", "engagement", "offer").get(
            practice__slug=practice_slug, slug=link_slug, is_active=True
        )
    except BookingLink.DoesNotExist:
        raise Http404("No such booking link.") from None


def coach_availability(link: BookingLink, *, first_day: dt.date, last_day: dt.date) -> Availability:
    """Weekly hours and the overrides in [first_day, last_day] (two queries)."""
    weekly: dict[int, list[tuple[int, int]]] = {}
    for hours in WeeklyHours.objects.filter(practice_id=link.practice_id, coach_id=link.coach_id):
        weekly.setdefault(hours.weekday, []).append(hours.interval)
    overrides: dict[dt.date, list[tuple[int, int]]] = {}
    for override in DateOverride.objects.filter(
        practice_id=link.practice_id,
        coach_id=link.coach_id,
        date__gte=first_day,
        date__lte=last_day,
    ):
        day_hours = overrides.setdefault(override.date, [])
        if not override.is_day_off:
            day_hours.append(override.interval)
    return Availability(
        zone=ZoneInfo(link.coach.time_zone),
        weekly=weekly,
        overrides=overrides,
        duration_minutes=link.duration_minutes,
        step_minutes=link.step_minutes,
        buffer_before_minutes=link.buffer_before_minutes,
        buffer_after_minutes=link.buffer_after_minutes,
        max_per_day=link.max_per_day,
    )


@dataclass
class BusyTime:
    spans: list[tuple[dt.datetime, dt.datetime]]
    group_sessions: list[tuple[int, dt.datetime, int]]  # (session id, start, free places)


def coach_busy_time(
    *,
    link: BookingLink,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    ignore_session_id: int | None = None,
) -> BusyTime:
    """Sessions, live holds and external busy time overlapping [start, end): two queries.

    Each query reads only start/end through an index on (coach, time), so the cost
    follows the window, not the coach's history.
    """
    sessions = (
        Session.objects.filter(
            practice_id=link.practice_id,
            coach_id=link.coach_id,
            starts_at__lt=end,
            starts_at__gt=start - MAX_SESSION_LENGTH,
            ends_at__gt=start,
            status__in=STATUSES_THAT_BLOCK_TIME,
        )
        .exclude(status=SessionStatus.HELD, hold_expires_at__lte=now)
        .annotate(
            active_bookings=Count(
                "bookings",
                filter=Q(bookings__status__in=[BookingStatus.CONFIRMED, BookingStatus.HELD]),
            )
            if link.is_group
            else Value(0)
        )
        .values_list("pk", "starts_at", "ends_at", "booking_link_id", "active_bookings")
    )
    busy = BusyTime(spans=[], group_sessions=[])
    for pk, starts_at, ends_at, link_id, active in sessions:
        if pk == ignore_session_id:
            continue
        if link.is_group and link_id == link.pk and starts_at >= start:
            busy.group_sessions.append((pk, starts_at, link.capacity - active))
        busy.spans.append((starts_at, ends_at))
    busy.spans.extend(
        BusyInterval.objects.filter(
            practice_id=link.practice_id,
            coach_id=link.coach_id,
            ends_at__gt=start,
            starts_at__lt=end,
        ).values_list("starts_at", "ends_at")
    )
    return busy


def coach_day_starts(
    link: BookingLink,
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    ignore_session_id: int | None = None,
) -> list[dt.datetime]:
    """Starts of the coach's sessions and live holds on every day of the coach's own zone
    that [start, end) touches: what the daily maximum counts (one query).

    The whole local day counts, whatever window the visitor asked about, and a live
    checkout hold counts too: the slot is promised to someone paying for it.
    """
    zone = ZoneInfo(link.coach.time_zone)
    first_day = start.astimezone(zone).date()
    last_day = (end - dt.timedelta(microseconds=1)).astimezone(zone).date()
    return list(
        Session.objects.filter(
            practice_id=link.practice_id,
            coach_id=link.coach_id,
            starts_at__gte=local_day_start(first_day, zone),
            starts_at__lt=local_day_start(last_day + dt.timedelta(days=1), zone),
            status__in=STATUSES_THAT_BLOCK_TIME,
        )
        .exclude(status=SessionStatus.HELD, hold_expires_at__lte=now)
        .exclude(pk=ignore_session_id)
        .values_list("starts_at", flat=True)
    )


def link_slots(
    link: BookingLink,
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    now: dt.datetime,
    ignore_session_id: int | None = None,
) -> list[dt.datetime]:
    """Free start times of a booking link in [window_start, window_end), UTC.

    A group link also offers its own sessions in the window that still have room.
    """
    coach_zone = ZoneInfo(link.coach.time_zone)
    availability = coach_availability(
        link,
        first_day=(window_start - dt.timedelta(days=1)).astimezone(coach_zone).date(),
        last_day=(window_end + dt.timedelta(days=1)).astimezone(coach_zone).date(),
    )
    padding = dt.timedelta(
        minutes=link.duration_minutes + link.buffer_before_minutes + link.buffer_after_minutes
    )
    busy = coach_busy_time(
        link=link,
        start=window_start - padding,
        end=window_end + padding,
        now=now,
        ignore_session_id=ignore_session_id,
    )
    earliest = now + dt.timedelta(minutes=link.minimum_notice_minutes)
    latest = now + dt.timedelta(days=link.horizon_days)
    slots = free_slots(
        availability,
        window_start=window_start,
        window_end=window_end,
        earliest=earliest,
        latest=latest,
        busy=busy.spans,
        booked_starts=coach_day_starts(
            link, start=window_start, end=window_end, now=now, ignore_session_id=ignore_session_id
        )
        if link.max_per_day is not None
        else (),
    )
    if link.is_group:
        joinable = {
            starts_at
            for _, starts_at, places in busy.group_sessions
            if places > 0
            and window_start <= starts_at < window_end
            and earliest <= starts_at <= latest
        }
        slots = sorted(set(slots) | joinable)
    return slots


def feed_sessions(feed_token, *, now: dt.datetime) -> list[Session]:
    """What a subscription feed shows: live sessions from 60 days ago on (cancelled drop out)."""
    sessions = Session.objects.filter(
        practice_id=feed_token.practice_id,
        status__in=[SessionStatus.SCHEDULED, SessionStatus.COMPLETED],
        starts_at__gte=now - dt.timedelta(days=60),
    ).select_related("coach", "client", "practice")
    if feed_token.coach_id:
        sessions = sessions.filter(coach_id=feed_token.coach_id)
    else:
        sessions = sessions.filter(
            Q(client_id=feed_token.client_id)
            | Q(bookings__client_id=feed_token.client_id, bookings__status=BookingStatus.CONFIRMED)
        ).distinct()
    return list(sessions.order_by("starts_at")[:2000])


@dataclass(frozen=True)
class MonthSessions:
    month: dt.date  # the first day, in the practice's time zone
    held: int  # completed, no-show or late-cancelled: the time was used
    scheduled: int

    @property
    def total(self) -> int:
        return self.held + self.scheduled


def sessions_by_month(
    membership: Membership, *, now: dt.datetime, months: int = 12
) -> list[MonthSessions]:
    """Sessions that use a coach's time, per calendar month of the practice (one query)."""
    zone = membership.practice.zone
    calendar = last_months(now, zone, months)
    since, until = months_span(calendar, zone)
    counts: dict[tuple[int, int], dict[str, int]] = {}
    for row in (
        sessions_visible_to(membership)
        .filter(starts_at__gte=since, starts_at__lt=until, status__in=STATUSES_THAT_USE_ALLOWANCE)
        .annotate(month=TruncMonth("starts_at", tzinfo=zone))
        .values("month", "status")
        .annotate(n=Count("pk"))
    ):
        key = (row["month"].year, row["month"].month)
        counts.setdefault(key, {})[row["status"]] = row["n"]
    result = []
    for year, month in calendar:
        by_status = counts.get((year, month), {})
        scheduled = by_status.get(SessionStatus.SCHEDULED, 0)
        result.append(
            MonthSessions(
                month=dt.date(year, month, 1),
                held=sum(by_status.values()) - scheduled,
                scheduled=scheduled,
            )
        )
    return result


# --- Reminders --------------------------------------------------------------------
# Reminders run every few minutes; one that is this late is not worth sending.
REMINDER_GRACE = dt.timedelta(hours=2)


def practices_with_sessions_to_remind(*, now: dt.datetime) -> list[int]:
    """Practices with a scheduled session inside their longest reminder lead (beat's fan-out;
    the one read across practices, so it runs unscoped)."""
    leads = dict(Practice.objects.values_list("pk", "reminder_lead_minutes"))
    horizon = max((max(lead or [0]) for lead in leads.values()), default=0)
    with scopes_disabled():
        return sorted(
            set(
                Session.objects.filter(
                    status=SessionStatus.SCHEDULED,
                    starts_at__gt=now,
                    starts_at__lte=now + dt.timedelta(minutes=horizon),
                ).values_list("practice_id", flat=True)
            )
        )


def practices_with_expired_holds(*, now: dt.datetime) -> list[int]:
    """Practices with a hold past its expiry (beat's fan-out; reads across practices)."""
    with scopes_disabled():
        return sorted(
            set(
                Session.objects.filter(
                    status=SessionStatus.HELD, hold_expires_at__lte=now
                ).values_list("practice_id", flat=True)
            )
        )


def reminders_due(practice: Practice, *, now: dt.datetime) -> list[tuple[Session, int]]:
    """(session, lead minutes) of this practice whose reminder time has come. A session
    booked after a reminder's time skips that reminder (it was just confirmed)."""
    leads = [int(lead) for lead in practice.reminder_lead_minutes or []]
    if not leads:
        return []
    sessions = Session.objects.filter(
        practice=practice,
        status=SessionStatus.SCHEDULED,
        starts_at__gt=now,
        starts_at__lte=now + dt.timedelta(minutes=max(leads)),
    ).select_related("practice", "coach", "client", "engagement", "booking_link")
    due = []
    for session in sessions:
        for lead in leads:
            remind_at = session.starts_at - dt.timedelta(minutes=lead)
            booked_before = session.scheduled_at is None or session.scheduled_at <= remind_at
            if remind_at <= now < remind_at + REMINDER_GRACE and booked_before:
                due.append((session, lead))
    return due


def sessions_needing_a_coach(practice: Practice, *, now: dt.datetime) -> QuerySet[Session]:
    """Sessions still to come whose coach no longer coaches here (removed, or now an
    assistant): the owner gives each to another coach (Members page)."""
    coaching = Membership.objects.filter(
        practice=practice, role__in=roles_with("clients.coach")
    ).values("user_id")
    return (
        Session.objects.filter(practice=practice, status=SessionStatus.SCHEDULED, starts_at__gt=now)
        .exclude(coach_id__in=coaching)
        .select_related("coach", "client")
        .order_by("starts_at")
    )


def future_sessions_of(practice: Practice, coach_id: int, *, now: dt.datetime) -> QuerySet[Session]:
    """A coach's sessions still to come (what a removal leaves to reassign)."""
    return (
        Session.objects.filter(
            practice=practice, coach_id=coach_id, status=SessionStatus.SCHEDULED, starts_at__gt=now
        )
        .select_related("client")
        .order_by("starts_at")
    )


def former_coach_of(practice: Practice, user_id: int) -> User | None:
    """Someone who has coached sessions here (a member or not any more), whose sessions an
    owner hands to another coach."""
    return User.objects.filter(coach_sessions__practice=practice, pk=user_id).distinct().first()
