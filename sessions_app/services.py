"""Writes for sessions: create (with the seat rules) and recurring generation."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from coachhub.models import Practice, User
from coachhub.services import audit_record, coach_setup_authorize
from coachhub.tenancy import membership_of
from coachhub.timezones import local_month_of, validate_time_zone
from engagements.models import (
    Cadence,
    Client,
    Collection,
    Engagement,
    Funding,
    SeatAssignment,
)

from .models import (
    EXCLUSION_CONSTRAINT_NAME,
    STATUSES_THAT_BLOCK_TIME,
    Booking,
    BookingLink,
    BookingStatus,
    CalendarFeedToken,
    Consumes,
    DateOverride,
    Session,
    SessionSource,
    SessionStatus,
    WeeklyHours,
)
from .slot_cache import coach_availability_changed


def seat_booking_check(
    *,
    seat: SeatAssignment,
    starts_at: dt.datetime,
    now: dt.datetime,
    override_allowed: bool,
) -> None:
    """Refuse what a seat client may not book: the past, outside the contract, over allowance."""
    from engagements.selectors import seat_allowance

    if starts_at <= now:
        raise ValidationError(
            {"starts_at": "Seat clients cannot be booked into the past; choose a future time."}
        )
    local_day = starts_at.astimezone(seat.practice.zone).date()
    if not seat.contract.covers(local_day):
        raise ValidationError(
            {
                "starts_at": f"{seat.contract.organization}'s contract runs "
                f"{seat.contract.starts_on:%d %b %Y}–{seat.contract.ends_on:%d %b %Y}; "
                "this time is outside it."
            }
        )
    allowance = seat_allowance(seat, at=starts_at)
    if allowance.exhausted and not override_allowed:
        raise ValidationError(
            {
                "starts_at": f"{seat.client.name} has used all {allowance.allowed} sessions of "
                f"their allowance for {allowance.label}. Choose another month, or an owner "
                "can book beyond the allowance with a reason."
            }
        )


@transaction.atomic
def session_create(
    *,
    practice: Practice,
    actor: User,
    engagement: Engagement,
    collection: Collection | None = None,
    starts_at: dt.datetime | None,
    minutes: int,
    title: str = "",
    source: str = SessionSource.MANUAL,
    location: str = "",
    allowance_override_reason: str = "",
    now: dt.datetime | None = None,
) -> Session:
    """A session for an engagement; with no time yet it waits "to be scheduled"."""
    now = now or timezone.now()
    seat, consumes, override_reason = _funding_for(
        practice=practice,
        actor=actor,
        engagement=engagement,
        starts_at=starts_at,
        minutes=minutes,
        now=now,
        allowance_override_reason=allowance_override_reason,
    )
    session = Session(
        practice=practice,
        engagement=engagement,
        collection=collection or getattr(engagement, "collection", None),
        coach=engagement.coach,
        client=engagement.client,
        title=title or engagement.title,
        status=SessionStatus.TO_SCHEDULE,
        source=source,
        location=location,
        consumes=consumes,
        seat=seat,
        allowance_override_reason=override_reason,
    )
    if starts_at is None:
        session.validate_for_save()
        session.save()
    else:
        _claim_time(
            session, starts_at=starts_at, minutes=minutes, status=SessionStatus.SCHEDULED, now=now
        )
    audit_record(
        practice=practice,
        actor=actor,
        action="session.create",
        obj=session,
        override=override_reason,
    )
    return session


def _funding_for(
    *,
    practice: Practice,
    actor: User,
    engagement: Engagement,
    starts_at: dt.datetime | None,
    minutes: int,
    now: dt.datetime,
    allowance_override_reason: str,
) -> tuple[SeatAssignment | None, str, str]:
    """What a session at `starts_at` consumes, after the seat rules allow it.

    For seat-funded engagements the seat row is locked, so two bookings cannot
    both take the month's last session.
    """
    if starts_at is not None and timezone.is_naive(starts_at):
        raise ValueError("starts_at must be an aware datetime")
    if not 5 <= minutes <= 8 * 60:
        raise ValidationError({"minutes": "A session lasts between 5 minutes and 8 hours."})
    override_reason = allowance_override_reason.strip()
    membership = membership_of(practice, actor)
    if override_reason and not (membership and membership.is_owner):
        raise ValidationError(
            {"allowance_override_reason": "Only an owner can book beyond a seat's allowance."}
        )
    if engagement.funding != Funding.SEAT or not engagement.client_id:
        return None, Consumes.NOTHING, override_reason
    seat = (
        SeatAssignment.objects.select_for_update(of=("self",))
        .select_related("contract__organization", "client", "practice")
        .filter(practice=practice, client_id=engagement.client_id, ended_on__isnull=True)
        .first()
    )
    if seat is None:
        raise ValidationError("This client no longer has a company seat.")
    if starts_at is not None:
        seat_booking_check(
            seat=seat, starts_at=starts_at, now=now, override_allowed=bool(override_reason)
        )
    return seat, Consumes.SEAT_MONTH, override_reason


def _local_start(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """A wall-clock time in `zone`; a time inside a DST gap moves forward past the gap."""
    local = dt.datetime.combine(day, at, tzinfo=zone)
    round_trip = local.astimezone(dt.UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != local.replace(tzinfo=None):
        local = round_trip
    return local.astimezone(dt.UTC)


def recurring_dates(
    *, starts_on: dt.date, ends_on: dt.date, weekday: int, cadence: str, per_month: int
) -> list[dt.date]:
    """Session dates for a cadence, at most `per_month` in any calendar month."""
    first = starts_on + dt.timedelta(days=(weekday - starts_on.weekday()) % 7)
    candidates: list[dt.date] = []
    if cadence == Cadence.MONTHLY:
        day = first
        while day <= ends_on:
            candidates.append(day)
            next_month = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            day = next_month + dt.timedelta(days=(weekday - next_month.weekday()) % 7)
    else:
        step = dt.timedelta(days=7 if cadence == Cadence.WEEKLY else 14)
        day = first
        while day <= ends_on:
            candidates.append(day)
            day += step
    counts: dict[tuple[int, int], int] = {}
    dates = []
    for day in candidates:
        key = (day.year, day.month)
        if counts.get(key, 0) < per_month:
            counts[key] = counts.get(key, 0) + 1
            dates.append(day)
    return dates


@dataclass(frozen=True)
class RecurringResult:
    created: int
    clashes: list[dt.datetime]  # cadence dates skipped because the coach was already busy


@transaction.atomic
def recurring_sessions_generate(*, engagement: Engagement, actor: User) -> RecurringResult:
    """Schedule a monthly package's sessions from its cadence, within its monthly hours.

    Wall-clock times are the coach's; a future session already generated is replaced.
    """
    from engagements.services import sessions_per_month

    if engagement.preferred_weekday is None or engagement.preferred_time is None:
        raise ValidationError("Agree a day and time before generating sessions.")
    now = timezone.now()
    Session.objects.filter(
        practice_id=engagement.practice_id,
        engagement=engagement,
        source=SessionSource.RECURRING,
        status=SessionStatus.SCHEDULED,
        starts_at__gt=now,
    ).delete()
    coach_availability_changed(engagement.coach_id)
    zone = ZoneInfo(engagement.coach.time_zone)
    dates = recurring_dates(
        starts_on=engagement.starts_on,
        ends_on=engagement.ends_on,
        weekday=engagement.preferred_weekday,
        cadence=engagement.cadence,
        per_month=sessions_per_month(engagement.hours_per_month, engagement.session_minutes),
    )
    created, clashes = 0, []
    for day in dates:
        starts_at = _local_start(day, engagement.preferred_time, zone)
        if starts_at <= now:
            continue
        session = Session(
            practice_id=engagement.practice_id,
            engagement=engagement,
            collection=engagement.collection,
            coach_id=engagement.coach_id,
            client_id=engagement.client_id,
            title=engagement.title,
            source=SessionSource.RECURRING,
        )
        try:
            _claim_time(
                session,
                starts_at=starts_at,
                minutes=engagement.session_minutes,
                status=SessionStatus.SCHEDULED,
                now=now,
            )
        except SlotTaken:
            clashes.append(starts_at)
            continue
        created += 1
    audit_record(
        practice=engagement.practice,
        actor=actor,
        action="sessions.generate",
        obj=engagement,
        count=created,
        clashes=len(clashes),
    )
    return RecurringResult(created=created, clashes=clashes)


@transaction.atomic
def session_schedule(
    *,
    practice: Practice,
    actor: User,
    engagement: Engagement,
    starts_at: dt.datetime,
    minutes: int,
    location: str = "",
    allowance_override_reason: str = "",
    now: dt.datetime | None = None,
) -> Session:
    """Give a time to the session waiting to be scheduled, or add a new one.

    The first session of a per-session engagement or a workshop exists before it has
    a time; scheduling fills it rather than leaving a second record behind.
    """
    from engagements.models import EngagementKind, StepState
    from engagements.services import checklist_mark

    waiting = (
        Session.objects.select_for_update()
        .filter(practice=practice, engagement=engagement, status=SessionStatus.TO_SCHEDULE)
        .order_by("created_at")
        .first()
    )
    if waiting is None:
        scheduled = session_create(
            practice=practice,
            actor=actor,
            engagement=engagement,
            starts_at=starts_at,
            minutes=minutes,
            location=location,
            allowance_override_reason=allowance_override_reason,
            now=now,
        )
    else:
        # Keep the waiting session's identity: its URL may already be in an invite.
        seat, consumes, override_reason = _funding_for(
            practice=practice,
            actor=actor,
            engagement=engagement,
            starts_at=starts_at,
            minutes=minutes,
            now=now or timezone.now(),
            allowance_override_reason=allowance_override_reason,
        )
        waiting.location = location or waiting.location
        waiting.consumes, waiting.seat = consumes, seat
        waiting.allowance_override_reason = override_reason
        _claim_time(
            waiting,
            starts_at=starts_at,
            minutes=minutes,
            status=SessionStatus.SCHEDULED,
            now=now or timezone.now(),
            update_fields=["location", "consumes", "seat", "allowance_override_reason"],
        )
        audit_record(
            practice=practice,
            actor=actor,
            action="session.schedule",
            obj=waiting,
            override=override_reason,
        )
        scheduled = waiting
    if engagement.kind == EngagementKind.TEAM_WORKSHOP:
        checklist_mark(engagement=engagement, key="workshop_session", state=StepState.DONE)
    return scheduled


# --- Claiming coach time: the one place that writes a session's time -------------
SLOT_TAKEN = "That time was just taken. Please choose another time."
# A hold lasts exactly as long as its checkout. Stripe refuses an expiry under 30
# minutes from when *it* receives the call; the extra minute covers the trip.
HOLD_MINUTES = 31
PAYMENTS_NOT_CONNECTED = (
    "This session is paid, and online payment is not set up for this practice yet, "
    "so it cannot be booked online. Please contact the coach to book it."
)


class SlotTaken(ValidationError):
    """Someone else holds or booked that time (or it is no longer offered)."""

    def __init__(self, message: str = SLOT_TAKEN):
        super().__init__(message, code="slot_taken")


def _release_expired_holds(*, coach_id: int, start: dt.datetime, end: dt.datetime, now) -> None:
    """Free holds past their expiry that overlap [start, end), so they stop blocking."""
    expired = Session.objects.filter(
        coach_id=coach_id,
        status=SessionStatus.HELD,
        hold_expires_at__lte=now,
        starts_at__lt=end,
        ends_at__gt=start,
    )
    _release(expired, now=now)


def _release(holds, *, now: dt.datetime) -> int:
    from .models import Booking, BookingStatus

    released = list(holds.values_list("pk", "coach_id"))
    if not released:
        return 0
    ids = [pk for pk, _ in released]
    for coach_id in {coach_id for _, coach_id in released}:
        coach_availability_changed(coach_id)
    Booking.objects.filter(session_id__in=ids, status=BookingStatus.HELD).update(
        status=BookingStatus.CANCELLED, cancelled_at=now
    )
    return Session.objects.filter(pk__in=ids, status=SessionStatus.HELD).update(
        status=SessionStatus.RELEASED, cancelled_at=now
    )


def _claim_time(
    session: Session,
    *,
    starts_at: dt.datetime,
    minutes: int,
    status: str,
    now: dt.datetime,
    hold_expires_at: dt.datetime | None = None,
    update_fields: Sequence[str] = (),
) -> Session:
    """Give `session` a time that no other live session or hold of the coach overlaps.

    The re-check gives the clean message on SQLite (where IMMEDIATE transactions
    serialise writers); on PostgreSQL the exclusion constraint is the last word, and
    its violation becomes the same message.
    """
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    _release_expired_holds(coach_id=session.coach_id, start=starts_at, end=ends_at, now=now)
    clash = (
        Session.objects.filter(
            coach_id=session.coach_id,
            status__in=STATUSES_THAT_BLOCK_TIME,
            starts_at__lt=ends_at,
            ends_at__gt=starts_at,
        )
        .exclude(pk=session.pk)
        .exists()
    )
    if clash:
        raise SlotTaken()
    session.starts_at, session.ends_at = starts_at, ends_at
    session.status = status
    session.hold_expires_at = hold_expires_at
    session.scheduled_at = now
    session.full_clean(exclude=["engagement", "coach", "practice", "collection", "client", "seat"])
    try:
        with transaction.atomic():
            if session.pk is None:
                session.save()
            else:
                session.save(
                    update_fields=[
                        "starts_at",
                        "ends_at",
                        "status",
                        "hold_expires_at",
                        "scheduled_at",
                        *update_fields,
                    ]
                )
    except IntegrityError as error:
        if EXCLUSION_CONSTRAINT_NAME in str(error):
            raise SlotTaken() from None
        raise
    coach_availability_changed(session.coach_id)
    return session


def _notify(session: Session, kind: str) -> None:
    """Send the e-mails (with invites) for a change, once the transaction has committed."""
    from .tasks import session_notify

    session_id = session.pk
    transaction.on_commit(lambda: session_notify.delay(session_id, kind))


# --- Public booking -------------------------------------------------------------
def _offered(link: BookingLink, starts_at: dt.datetime, now: dt.datetime, **kwargs) -> bool:
    from .selectors import link_slots

    return starts_at in link_slots(
        link,
        window_start=starts_at,
        window_end=starts_at + dt.timedelta(minutes=1),
        now=now,
        **kwargs,
    )


def _waiting_or_new_engagement(*, link: BookingLink, client: Client, actor: User | None):
    """The client's session waiting for a time with this coach, or a new per-session
    engagement (collection, checklist, first session) created for this booking."""
    from engagements.models import EngagementKind, EngagementStatus
    from engagements.services import engagement_create_per_session

    waiting = (
        Session.objects.select_for_update(of=("self",))
        .filter(
            practice_id=link.practice_id,
            client=client,
            coach_id=link.coach_id,
            status=SessionStatus.TO_SCHEDULE,
            engagement__kind=EngagementKind.PER_SESSION,
            engagement__status__in=[EngagementStatus.PROPOSED, EngagementStatus.ACTIVE],
        )
        .select_related("engagement")
        .order_by("created_at")
        .first()
    )
    if waiting is not None:
        return waiting
    from billing.ledger import engagement_with_credit

    prepaid = (
        engagement_with_credit(client=client, coach_id=link.coach_id)
        if link.requires_payment
        else None
    )
    if prepaid is not None:  # a package with sessions left: the next one of it
        return session_create(
            practice=link.practice,
            actor=actor,
            engagement=prepaid,
            starts_at=None,
            minutes=link.duration_minutes,
        )
    engagement = engagement_create_per_session(
        practice=link.practice,
        actor=actor,
        client=client,
        coach=link.coach,
        session_minutes=link.duration_minutes,
    )
    return engagement.sessions.get(status=SessionStatus.TO_SCHEDULE)


@transaction.atomic
def booking_create(
    *,
    link: BookingLink,
    name: str,
    email: str,
    starts_at: dt.datetime,
    time_zone: str,
    actor: User | None = None,
    now: dt.datetime | None = None,
    checkout_ready: bool | None = None,
) -> Booking:
    """Book (or hold, when payment is due) `starts_at` on a public link.

    Seat clients use their monthly allowance; a paid link holds the slot for
    HOLD_MINUTES while the visitor pays. `checkout_ready` defaults to whether the
    practice takes payments online.
    """
    from engagements.services import client_find_or_create, participants_link

    now = now or timezone.now()
    practice = link.practice
    validate_time_zone(time_zone)
    if not _offered(link, starts_at, now):
        raise SlotTaken()
    client, _ = client_find_or_create(
        practice=practice,
        actor=actor,
        email=email,
        name=name.strip(),
        time_zone=time_zone,
        coach=link.coach,
    )
    if link.is_group:
        session = _group_session_place(link=link, starts_at=starts_at, now=now)
        booking = Booking.objects.create(
            practice=practice, session=session, client=client, time_zone=time_zone
        )
        if session.collection_id:
            participants_link(collection=session.collection, clients=[client])
        coach_availability_changed(session.coach_id)  # one place fewer
        audit_record(practice=practice, actor=actor, action="booking.create", obj=booking)
        _notify(session, "confirmed")
        return booking
    session = _waiting_or_new_engagement(link=link, client=client, actor=actor)
    seat, consumes, _ = _funding_for(
        practice=practice,
        actor=actor,
        engagement=session.engagement,
        starts_at=starts_at,
        minutes=link.duration_minutes,
        now=now,
        allowance_override_reason="",
    )
    from billing.ledger import credit_balance, credit_consume_for_session

    pays_with_credit = (
        link.requires_payment and seat is None and credit_balance(session.engagement) > 0
    )
    if pays_with_credit:
        consumes = Consumes.CREDIT
    needs_payment = link.requires_payment and seat is None and not pays_with_credit
    if needs_payment and not (
        (practice.payments_connected and link.offer_id is not None)
        if checkout_ready is None
        else checkout_ready
    ):
        raise ValidationError(PAYMENTS_NOT_CONNECTED, code="payments_not_connected")
    session.seat, session.consumes = seat, consumes
    session.booking_link = link
    session.source = SessionSource.BOOKING_LINK
    session.title = link.title
    session.location = link.location or session.location
    _claim_time(
        session,
        starts_at=starts_at,
        minutes=link.duration_minutes,
        status=SessionStatus.HELD if needs_payment else SessionStatus.SCHEDULED,
        hold_expires_at=now + dt.timedelta(minutes=HOLD_MINUTES) if needs_payment else None,
        now=now,
        update_fields=["seat", "consumes", "booking_link", "source", "title", "location"],
    )
    if pays_with_credit:
        credit_consume_for_session(session)
    booking = Booking.objects.create(
        practice=practice,
        session=session,
        client=client,
        time_zone=time_zone,
        status=BookingStatus.HELD if needs_payment else BookingStatus.CONFIRMED,
    )
    audit_record(
        practice=practice,
        actor=actor,
        action="booking.hold" if needs_payment else "booking.create",
        obj=booking,
    )
    if not needs_payment:
        _invite_step_done(session)
        _notify(session, "confirmed")
    return booking


def _group_session_place(*, link: BookingLink, starts_at: dt.datetime, now) -> Session:
    """The link's session at `starts_at` with a free place, created by the first booker."""
    if link.engagement_id is None:
        raise ValidationError("This group link is not attached to a workshop yet.")
    existing = (
        Session.objects.select_for_update(of=("self",))
        .filter(
            booking_link=link,
            starts_at=starts_at,
            status=SessionStatus.SCHEDULED,
        )
        .first()
    )
    if existing is not None:
        taken = existing.bookings.filter(status=BookingStatus.CONFIRMED).count()
        if taken >= link.capacity:
            raise SlotTaken("That session just filled up. Please choose another time.")
        return existing
    engagement = link.engagement
    session = Session(
        practice=link.practice,
        engagement=engagement,
        collection=getattr(engagement, "collection", None),
        coach=link.coach,
        title=link.title,
        source=SessionSource.BOOKING_LINK,
        booking_link=link,
        location=link.location,
    )
    return _claim_time(
        session,
        starts_at=starts_at,
        minutes=link.duration_minutes,
        status=SessionStatus.SCHEDULED,
        now=now,
    )


def _invite_step_done(session: Session) -> None:
    from engagements.models import EngagementKind, StepState
    from engagements.services import checklist_mark

    engagement = session.engagement
    if engagement.kind == EngagementKind.PER_SESSION and engagement.send_platform_invite:
        checklist_mark(
            engagement=engagement,
            key="calendar_invite",
            state=StepState.DONE,
            reason="Invite e-mailed with the booking confirmation.",
        )


@transaction.atomic
def booking_hold_confirm(*, booking: Booking, now: dt.datetime | None = None) -> Booking:
    """Turn a held slot into a booked session (the paid checkout's last step)."""
    now = now or timezone.now()
    booking = (
        Booking.objects.select_for_update(of=("self",)).select_related("session").get(pk=booking.pk)
    )
    session = Session.objects.select_for_update(of=("self",)).get(pk=booking.session_id)
    if booking.status == BookingStatus.CONFIRMED:
        return booking  # idempotent: a second confirmation changes nothing
    if booking.status != BookingStatus.HELD or session.status != SessionStatus.HELD:
        raise ValidationError("This hold has expired and its time was released.")
    # An expired hold whose time nobody took is still honoured: re-claim it.
    _claim_time(
        session,
        starts_at=session.starts_at,
        minutes=int(session.duration.total_seconds() // 60),
        status=SessionStatus.SCHEDULED,
        now=now,
    )
    booking.status = BookingStatus.CONFIRMED
    booking.save(update_fields=["status"])
    audit_record(practice=booking.practice, actor=None, action="booking.confirm", obj=booking)
    _invite_step_done(session)
    _notify(session, "confirmed")
    return booking


@transaction.atomic
def booking_hold_release(*, booking: Booking, now: dt.datetime | None = None) -> None:
    """The checkout behind a hold expired or failed: free its time now."""
    now = now or timezone.now()
    _release(Session.objects.filter(pk=booking.session_id, status=SessionStatus.HELD), now=now)


@transaction.atomic
def cancel_for_billing(*, session: Session, now: dt.datetime | None = None) -> Session:
    """A package ended (subscription over): a future session is cancelled, no charge."""
    now = now or timezone.now()
    session = Session.objects.select_for_update(of=("self",)).get(pk=session.pk)
    if session.status in (SessionStatus.SCHEDULED, SessionStatus.TO_SCHEDULE):
        _session_cancel(session, late=False, now=now)
        audit_record(
            practice=session.practice, actor=None, action="session.cancel.billing", obj=session
        )
    return session


def holds_release_expired(*, now: dt.datetime | None = None) -> int:
    """Free every hold past its expiry (the beat task; booking also does it in place)."""
    now = now or timezone.now()
    with transaction.atomic():
        return _release(
            Session.objects.filter(status=SessionStatus.HELD, hold_expires_at__lte=now), now=now
        )


def _lock_booking(booking: Booking) -> tuple[Booking, Session]:
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("practice", "booking_link", "engagement")
        .get(pk=booking.session_id)
    )
    booking = Booking.objects.select_for_update(of=("self",)).get(pk=booking.pk)
    booking.session = session
    return booking, session


@transaction.atomic
def booking_cancel(
    *, booking: Booking, actor: User | None = None, now: dt.datetime | None = None
) -> Booking:
    """Cancel one person's booking; inside the cancellation window it counts as used.

    A 1:1 booking cancels its session; a group booking frees one place.
    A coach cancelling never charges the client.
    """
    now = now or timezone.now()
    booking, session = _lock_booking(booking)
    if not booking.is_active:
        raise ValidationError("This booking is already cancelled.")
    if session.starts_at and session.ends_at <= now:
        raise ValidationError("This session is over; it can no longer be cancelled.")
    late = actor is None and session.is_late_cancel(at=now)
    booking.status = BookingStatus.LATE_CANCELLED if late else BookingStatus.CANCELLED
    booking.cancelled_at = now
    booking.save(update_fields=["status", "cancelled_at"])
    if not session.booking_link_id or not session.booking_link.is_group:
        _session_cancel(session, late=late, now=now)
    coach_availability_changed(session.coach_id)  # a group session has a place again
    audit_record(
        practice=booking.practice, actor=actor, action="booking.cancel", obj=booking, late=late
    )
    return booking


def _session_cancel(session: Session, *, late: bool, now: dt.datetime) -> None:
    """Cancel; in time, a session paid with a credit gives the credit back."""
    from billing.ledger import credit_restore_for_session

    if not late and session.consumes == Consumes.CREDIT:
        credit_restore_for_session(session)
    session.status = SessionStatus.LATE_CANCELLED if late else SessionStatus.CANCELLED
    session.cancelled_at = now
    session.sequence += 1
    session.save(update_fields=["status", "cancelled_at", "sequence"])
    coach_availability_changed(session.coach_id)
    session.bookings.filter(status__in=[BookingStatus.CONFIRMED, BookingStatus.HELD]).update(
        status=BookingStatus.LATE_CANCELLED if late else BookingStatus.CANCELLED, cancelled_at=now
    )
    _notify(session, "cancelled")


@transaction.atomic
def session_cancel(
    *, session: Session, actor: User, late: bool = False, now: dt.datetime | None = None
) -> Session:
    """A coach cancels from the dashboard; `late` counts it as used (a client's late notice)."""
    now = now or timezone.now()
    session = Session.objects.select_for_update(of=("self",)).get(pk=session.pk)
    if session.status not in (
        SessionStatus.SCHEDULED,
        SessionStatus.HELD,
        SessionStatus.TO_SCHEDULE,
    ):
        raise ValidationError(
            f"A {session.get_status_display().lower()} session cannot be cancelled."
        )
    _session_cancel(session, late=late, now=now)
    audit_record(
        practice=session.practice, actor=actor, action="session.cancel", obj=session, late=late
    )
    return session


def _move(session: Session, *, starts_at: dt.datetime, actor: User | None, now) -> Session:
    """Move a session in time: the same record, UID and funding; SEQUENCE goes up."""
    if session.status != SessionStatus.SCHEDULED:
        raise ValidationError("Only a scheduled session can be moved.")
    if session.seat_id:
        seat = (
            SeatAssignment.objects.select_for_update(of=("self",))
            .select_related("contract__organization", "client", "practice")
            .get(pk=session.seat_id)
        )
        zone = session.practice.zone
        same_month = local_month_of(starts_at, zone) == local_month_of(session.starts_at, zone)
        # Within the same month the session already counts; it never takes a second one.
        seat_booking_check(
            seat=seat,
            starts_at=starts_at,
            now=now,
            override_allowed=same_month or bool(session.allowance_override_reason),
        )
    session.sequence += 1
    return _claim_time(
        session,
        starts_at=starts_at,
        minutes=int(session.duration.total_seconds() // 60),
        status=SessionStatus.SCHEDULED,
        now=now,
        update_fields=["sequence"],
    )


@transaction.atomic
def booking_reschedule(
    *, booking: Booking, starts_at: dt.datetime, now: dt.datetime | None = None
) -> Booking:
    """A client moves their booking through the link in their confirmation.

    Limited by the link's cut-off and maximum number of reschedules; the new time
    must be one the link offers.
    """
    now = now or timezone.now()
    booking, session = _lock_booking(booking)
    link = session.booking_link
    if refusal := booking.reschedule_refusal(at=now):
        raise ValidationError(refusal)
    if link.is_group:
        if not _offered(link, starts_at, now):
            raise SlotTaken()
        booking.session = _group_session_place(link=link, starts_at=starts_at, now=now)
        booking.reschedule_count += 1
        booking.save(update_fields=["session", "reschedule_count"])
        _notify(booking.session, "confirmed")
    else:
        if not _offered(link, starts_at, now, ignore_session_id=session.pk):
            raise SlotTaken()
        _move(session, starts_at=starts_at, actor=None, now=now)
        booking.reschedule_count += 1
        booking.save(update_fields=["reschedule_count"])
        _notify(session, "rescheduled")
    audit_record(practice=booking.practice, actor=None, action="booking.reschedule", obj=booking)
    return booking


@transaction.atomic
def session_reschedule(
    *, session: Session, actor: User, starts_at: dt.datetime, now: dt.datetime | None = None
) -> Session:
    """A coach moves a session from the dashboard (any free time; no cut-off)."""
    now = now or timezone.now()
    if timezone.is_naive(starts_at):
        raise ValueError("starts_at must be an aware datetime")
    if starts_at <= now:
        raise ValidationError({"starts_at": "Choose a time in the future."})
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("practice")
        .get(pk=session.pk)
    )
    _move(session, starts_at=starts_at, actor=actor, now=now)
    audit_record(practice=session.practice, actor=actor, action="session.reschedule", obj=session)
    _notify(session, "rescheduled")
    return session


ALLOWED_TRANSITIONS = {
    SessionStatus.SCHEDULED: {
        SessionStatus.COMPLETED,
        SessionStatus.CANCELLED,
        SessionStatus.LATE_CANCELLED,
        SessionStatus.NO_SHOW,
    },
    SessionStatus.COMPLETED: {SessionStatus.NO_SHOW},
    SessionStatus.NO_SHOW: {SessionStatus.COMPLETED},
}


@transaction.atomic
def session_status_set(
    *, session: Session, actor: User, status: str, now: dt.datetime | None = None
) -> Session:
    """Record what happened: completed / no-show after the start; cancels via session_cancel."""
    now = now or timezone.now()
    if status in (SessionStatus.CANCELLED, SessionStatus.LATE_CANCELLED):
        return session_cancel(
            session=session, actor=actor, late=status == SessionStatus.LATE_CANCELLED, now=now
        )
    if status not in ALLOWED_TRANSITIONS.get(session.status, set()):
        raise ValidationError(
            f"A {session.get_status_display().lower()} session cannot become "
            f"{SessionStatus(status).label.lower()}."
        )
    if session.starts_at is None or session.starts_at > now:
        raise ValidationError("A session can be marked completed or no-show once it has started.")
    session.status = status
    session.save(update_fields=["status"])
    coach_availability_changed(session.coach_id)
    audit_record(
        practice=session.practice, actor=actor, action="session.status", obj=session, status=status
    )
    return session


def recurring_summary(result: RecurringResult, time_zone: str) -> str:
    text = f"{result.created} sessions scheduled."
    if result.clashes:
        zone = ZoneInfo(time_zone)
        skipped = ", ".join(f"{c.astimezone(zone):%a %d %b %H:%M}" for c in result.clashes[:5])
        text += f" Skipped because the coach is already booked then: {skipped}."
    return text


# --- Availability, links and feeds (the coach's own set-up) ----------------------
def weekly_hours_add(
    *, practice: Practice, actor: User, coach: User, weekday: int, starts: dt.time, ends: dt.time
) -> WeeklyHours:
    coach_setup_authorize(practice, actor, coach)
    hours = WeeklyHours(practice=practice, coach=coach, weekday=weekday, starts=starts, ends=ends)
    hours.full_clean()
    start, end = hours.interval
    for other in WeeklyHours.objects.filter(practice=practice, coach=coach, weekday=weekday):
        other_start, other_end = other.interval
        if start < other_end and other_start < end:
            raise ValidationError(f"These hours overlap {other} already set.")
    hours.save()
    coach_availability_changed(coach.pk)
    audit_record(practice=practice, actor=actor, action="availability.hours_add", obj=hours)
    return hours


def date_override_add(
    *,
    practice: Practice,
    actor: User,
    coach: User,
    date: dt.date,
    starts: dt.time | None = None,
    ends: dt.time | None = None,
) -> DateOverride:
    coach_setup_authorize(practice, actor, coach)
    override = DateOverride(practice=practice, coach=coach, date=date, starts=starts, ends=ends)
    override.full_clean()
    existing = DateOverride.objects.filter(practice=practice, coach=coach, date=date)
    if override.is_day_off:
        existing.delete()  # a day off replaces any hours set for that date
    else:
        existing.filter(starts__isnull=True).delete()
    override.save()
    coach_availability_changed(coach.pk)
    audit_record(practice=practice, actor=actor, action="availability.override_add", obj=override)
    return override


def availability_row_delete(*, row: WeeklyHours | DateOverride, actor: User) -> None:
    coach_setup_authorize(row.practice, actor, row.coach)
    audit_record(practice=row.practice, actor=actor, action="availability.delete", obj=row)
    row.delete()
    coach_availability_changed(row.coach_id)


def booking_link_save(
    *, practice: Practice, actor: User, link: BookingLink | None = None, **fields
) -> BookingLink:
    """Create or update a booking link; new links take the practice's policy defaults."""
    if link is None:
        link = BookingLink(
            practice=practice,
            coach=fields.pop("coach", actor),
            duration_minutes=practice.default_session_minutes,
            buffer_before_minutes=practice.buffer_before_minutes,
            buffer_after_minutes=practice.buffer_after_minutes,
            minimum_notice_minutes=practice.minimum_notice_minutes,
            horizon_days=practice.booking_horizon_days,
        )
    coach_setup_authorize(practice, actor, link.coach)
    previous_coach = [link.coach_id] if link.pk else []
    for name, value in fields.items():
        setattr(link, name, value)
    if link.engagement_id and link.engagement.practice_id != practice.pk:
        raise ValidationError({"engagement": "Choose a workshop of this practice."})
    if link.offer_id and link.offer.practice_id != practice.pk:
        raise ValidationError({"offer": "Choose an offer of this practice."})
    if link.is_group and link.engagement_id is None:
        raise ValidationError(
            {"engagement": "A group link needs the team workshop its sessions belong to."}
        )
    link.full_clean()
    link.save()
    for coach_id in {link.coach_id, *previous_coach}:
        coach_availability_changed(coach_id)  # its page shows the new settings at once
    audit_record(practice=practice, actor=actor, action="booking_link.save", obj=link)
    return link


def feed_token_for(
    *, practice: Practice, coach: User | None = None, client=None
) -> CalendarFeedToken:
    """The coach's or client's feed token, created on first use."""
    lookup = {"coach": coach} if coach is not None else {"client": client}
    token, _ = CalendarFeedToken.objects.get_or_create(
        practice=practice, **lookup, defaults={"token": secrets.token_urlsafe(32)}
    )
    return token


def feed_token_rotate(*, feed_token: CalendarFeedToken, actor: User) -> CalendarFeedToken:
    """A new secret: the old feed URL stops working at once (404)."""
    feed_token.token = secrets.token_urlsafe(32)
    feed_token.save(update_fields=["token"])
    audit_record(practice=feed_token.practice, actor=actor, action="feed.rotate", obj=feed_token)
    return feed_token
