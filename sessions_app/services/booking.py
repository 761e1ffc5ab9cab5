"""Public booking: book or hold a slot on a calendar link, confirm a paid hold, cancel, move.

Visitors book through a link; a seat client uses the month's allowance, a client with
credits left uses one, and a paid link holds the slot while the visitor pays.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chat.services import slack_invites_add
from coachhub.audit import audit_record
from coachhub.models import User
from coachhub.tenancy import practice_contact_email
from coachhub.timezones import validate_time_zone
from engagements.models import (
    OPEN_ENGAGEMENT_STATUSES,
    Client,
    ClientStatus,
    Engagement,
    EngagementKind,
    EngagementStatus,
)
from engagements.services import client_find_or_create, engagement_add, participants_link

from ..ledger import credit_balance, credit_consume_for_session, engagement_with_credit
from ..models import (
    Booking,
    BookingLink,
    BookingStatus,
    Consumption,
    Session,
    SessionSource,
    SessionStatus,
)
from ..selectors import link_slots
from ..slot_cache import coach_availability_changed
from .claims import HOLD_MINUTES, SlotTaken, coach_bookings_lock, holds_release, time_claim
from .engagement_setup import engagement_create_per_session
from .invites import attendees_notify
from .scheduling import funding_for, session_cancel_step, session_create, session_move

PAYMENTS_NOT_CONNECTED = (
    "This session is paid, and online payment is not set up for this practice yet, "
    "so it cannot be booked online. To book it, write to {contact}."
)


def _offered(link: BookingLink, starts_at: dt.datetime, now: dt.datetime, **kwargs) -> bool:
    return starts_at in link_slots(
        link,
        window_start=starts_at,
        window_end=starts_at + dt.timedelta(minutes=1),
        now=now,
        **kwargs,
    )


def _waiting_or_new_engagement(
    *, link: BookingLink, client: Client, client_is_new: bool, actor: User | None
) -> Session:
    """The client's session waiting for a time with this coach, or a new per-session
    engagement (collection, checklist, first session) created for this booking."""
    waiting = (
        Session.objects.select_for_update(of=("self",))
        .filter(
            practice_id=link.practice_id,
            client=client,
            coach_id=link.coach_id,
            status=SessionStatus.TO_SCHEDULE,
            engagement__kind=EngagementKind.PER_SESSION,
            engagement__status__in=OPEN_ENGAGEMENT_STATUSES,
        )
        .select_related("engagement")
        .order_by("created_at")
        .first()
    )
    if waiting is not None:
        return waiting
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
    if not link.requires_payment and client.status == ClientStatus.LEAD:
        return _intro_call(link=link, client=client, actor=actor)
    engagement = engagement_create_per_session(
        practice=link.practice,
        actor=actor,
        client=client,
        client_is_new=client_is_new,
        coach=link.coach,
        session_minutes=link.duration_minutes,
        lead_becomes_active=False,  # a held paid slot; the purchase makes them a client
    )
    return engagement.sessions.get(status=SessionStatus.TO_SCHEDULE)


def _intro_call(*, link: BookingLink, client: Client, actor: User | None) -> Session:
    """A lead's booking on a free link is an intro call: a proposed engagement with no
    set-up checklist (no collection, nothing to pay), which buying coaching later makes
    active. The session waits here for the time the caller claims; a lead booking again
    before that adds the session to the same intro engagement."""
    engagement = (
        Engagement.objects.filter(
            practice_id=link.practice_id,
            client=client,
            coach_id=link.coach_id,
            kind=EngagementKind.PER_SESSION,
            status=EngagementStatus.PROPOSED,
        )
        .order_by("created_at")
        .first()
    )
    if engagement is not None:
        return session_create(
            practice=link.practice,
            actor=actor,
            engagement=engagement,
            starts_at=None,
            minutes=link.duration_minutes,
        )
    engagement = engagement_add(
        engagement=Engagement(
            practice=link.practice,
            kind=EngagementKind.PER_SESSION,
            status=EngagementStatus.PROPOSED,
            title=f"Intro call with {client.name}",
            client=client,
            coach=link.coach,
            session_minutes=link.duration_minutes,
            starts_on=timezone.now().astimezone(link.practice.zone).date(),
        ),
        actor=actor,
    )
    return session_create(
        practice=link.practice,
        actor=actor,
        engagement=engagement,
        starts_at=None,
        minutes=link.duration_minutes,
    )


@transaction.atomic(durable=True)
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
    now = now or timezone.now()
    practice = link.practice
    validate_time_zone(time_zone)
    coach_bookings_lock(link.coach_id)
    if not _offered(link, starts_at, now):
        raise SlotTaken()
    client, client_is_new = client_find_or_create(
        practice=practice,
        actor=actor,
        email=email,
        name=name.strip(),
        time_zone=time_zone,
        coach=link.coach,
        # A workshop's participant is the buyer's; anyone else is a lead until they pay
        # (the purchase makes them active) or the coach says otherwise.
        status=ClientStatus.ACTIVE if link.is_group else ClientStatus.LEAD,
    )
    if link.is_group:
        session = _group_session_place(link=link, starts_at=starts_at, now=now)
        booking = Booking.objects.create(
            practice=practice, session=session, client=client, time_zone=time_zone
        )
        if session.collection_id and participants_link(
            collection=session.collection, clients=[client]
        ):
            slack_invites_add(practice=practice, collection=session.collection, clients=[client])
        coach_availability_changed(session.coach_id)  # one place fewer
        audit_record(practice=practice, actor=actor, action="booking.create", obj=booking)
        attendees_notify(session, "confirmed", booking_id=booking.pk)
        return booking
    session = _waiting_or_new_engagement(
        link=link, client=client, client_is_new=client_is_new, actor=actor
    )
    seat, consumes, _ = funding_for(
        practice=practice,
        actor=actor,
        engagement=session.engagement,
        starts_at=starts_at,
        minutes=link.duration_minutes,
        now=now,
        allowance_override_reason="",
    )
    pays_with_credit = (
        link.requires_payment and seat is None and credit_balance(session.engagement) > 0
    )
    if pays_with_credit:
        consumes = Consumption.CREDIT
    needs_payment = link.requires_payment and seat is None and not pays_with_credit
    if needs_payment and not (
        (practice.payments_connected and link.offer_id is not None)
        if checkout_ready is None
        else checkout_ready
    ):
        raise ValidationError(
            PAYMENTS_NOT_CONNECTED.format(contact=practice_contact_email(practice)),
            code="payments_not_connected",
        )
    session.seat, session.consumes = seat, consumes
    session.booking_link = link
    session.source = SessionSource.BOOKING_LINK
    session.title = link.title
    session.location = link.location or session.location
    time_claim(
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
        attendees_notify(session, "confirmed")
    return booking


def _group_session_at(link: BookingLink, starts_at: dt.datetime) -> Session | None:
    """The link's session at `starts_at` if it has a free place (locked), else refused."""
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


def _group_session_place(*, link: BookingLink, starts_at: dt.datetime, now: dt.datetime) -> Session:
    """The link's session at `starts_at` with a free place, created by the first booker.

    Joiners of one coach take turns (`coach_bookings_lock`), so the second finds the
    session the first created. Should a session appear without that lock, losing the
    insert to it means joining it, not "that time was just taken".
    """
    if link.engagement_id is None:
        raise ValidationError("This group link is not attached to a workshop yet.")
    existing = _group_session_at(link, starts_at)
    if existing is not None:
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
    try:
        return time_claim(
            session,
            starts_at=starts_at,
            minutes=link.duration_minutes,
            status=SessionStatus.SCHEDULED,
            now=now,
        )
    except SlotTaken:
        existing = _group_session_at(link, starts_at)  # the session that won the insert
        if existing is None:
            raise
        return existing


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
    time_claim(
        session,
        starts_at=session.starts_at,
        minutes=int(session.duration.total_seconds() // 60),
        status=SessionStatus.SCHEDULED,
        now=now,
    )
    booking.status = BookingStatus.CONFIRMED
    booking.save(update_fields=["status"])
    audit_record(practice=booking.practice, actor=None, action="booking.confirm", obj=booking)
    attendees_notify(session, "confirmed")
    return booking


@transaction.atomic(durable=True)
def booking_hold_withdraw(*, booking: Booking, now: dt.datetime | None = None) -> Booking:
    """The visitor's checkout could not open: the hold is withdrawn at once and its session
    waits for a time again (the engagement a retry books is the same one)."""
    now = now or timezone.now()
    booking, session = _lock_booking(booking)
    if booking.status != BookingStatus.HELD or session.status != SessionStatus.HELD:
        return booking
    booking.status, booking.cancelled_at = BookingStatus.CANCELLED, now
    booking.save(update_fields=["status", "cancelled_at"])
    session.status = SessionStatus.TO_SCHEDULE
    session.starts_at = session.ends_at = session.hold_expires_at = None
    session.save(update_fields=["status", "starts_at", "ends_at", "hold_expires_at"])
    coach_availability_changed(session.coach_id)
    audit_record(practice=booking.practice, actor=None, action="booking.withdraw", obj=booking)
    return booking


@transaction.atomic
def booking_hold_release(*, booking: Booking, now: dt.datetime | None = None) -> None:
    """The checkout behind a hold expired or could not open: free its time now."""
    now = now or timezone.now()
    holds_release(Session.objects.filter(pk=booking.session_id, status=SessionStatus.HELD), now=now)


def _lock_booking(booking: Booking) -> tuple[Booking, Session]:
    session = (
        Session.objects.select_for_update(of=("self",))
        .select_related("practice", "booking_link", "engagement")
        .get(pk=booking.session_id)
    )
    booking = Booking.objects.select_for_update(of=("self",)).get(pk=booking.pk)
    booking.session = session
    return booking, session


@transaction.atomic(durable=True)
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
        session_cancel_step(session, late=late, now=now)
    coach_availability_changed(session.coach_id)  # a group session has a place again
    audit_record(
        practice=booking.practice, actor=actor, action="booking.cancel", obj=booking, late=late
    )
    return booking


@transaction.atomic(durable=True)
def booking_reschedule(
    *, booking: Booking, starts_at: dt.datetime, now: dt.datetime | None = None
) -> Booking:
    """A client moves their booking through the link in their confirmation.

    Limited by the link's cut-off and maximum number of reschedules; the new time
    must be one the link offers.
    """
    now = now or timezone.now()
    coach_bookings_lock(booking.session.coach_id)
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
        attendees_notify(booking.session, "confirmed", booking_id=booking.pk)
    else:
        if not _offered(link, starts_at, now, ignore_session_id=session.pk):
            raise SlotTaken()
        session_move(session, starts_at=starts_at, now=now)
        booking.reschedule_count += 1
        booking.save(update_fields=["reschedule_count"])
        attendees_notify(session, "rescheduled")
    audit_record(practice=booking.practice, actor=None, action="booking.reschedule", obj=booking)
    return booking
