"""Reads for the client portal: one client's own sessions, and what they have left to use
(credits per engagement, a seat's sessions this month). Everything starts from the client,
whom the portal found from (its practice, the signed-in account)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum

from engagements.models import Client
from engagements.seat_billing import Allowance
from engagements.selectors import open_seat_of

from .allowances import seat_allowance
from .models import Booking, BookingStatus, CreditEntry, Session, SessionStatus

UPCOMING_LIMIT = 50
PAST_LIMIT = 20
HIDDEN_STATUSES = [SessionStatus.HELD, SessionStatus.RELEASED, SessionStatus.TO_SCHEDULE]


def client_sessions(client: Client) -> QuerySet[Session]:
    """The sessions the client attends: their own, those they booked a place in, and their
    workshops'. Each carries the client's own booking (`my_booking_status`), so a group
    place they gave up shows as cancelled for them though the session goes on."""
    own_booking = Booking.objects.filter(
        practice_id=client.practice_id, session=OuterRef("pk"), client=client
    ).order_by("-created_at")
    ids = (
        Session.objects.filter(practice_id=client.practice_id)
        .filter(Q(client=client) | Q(bookings__client=client) | Q(collection__participants=client))
        .values("pk")
    )
    return (
        Session.objects.filter(practice_id=client.practice_id, pk__in=ids)
        .exclude(status__in=HIDDEN_STATUSES)
        .exclude(starts_at__isnull=True)
        .select_related("coach", "practice")
        .annotate(my_booking_status=Subquery(own_booking.values("status")[:1]))
    )


def client_session_lists(client: Client, *, now: dt.datetime) -> tuple[list, list]:
    """(upcoming soonest first, past latest first): two queries, whatever their number."""
    sessions = client_sessions(client)
    upcoming = sessions.filter(ends_at__gt=now).order_by("starts_at")[:UPCOMING_LIMIT]
    past = sessions.filter(ends_at__lte=now).order_by("-starts_at")[:PAST_LIMIT]
    return list(upcoming), list(past)


def client_session_get(client: Client, public_id) -> Session | None:
    return (
        client_sessions(client)
        .select_related("engagement", "booking_link__practice", "booking_link__coach")
        .filter(public_id=public_id)
        .first()
    )


def client_booking_for(client: Client, session: Session) -> Booking | None:
    """The client's live booking of this session (what they reschedule or cancel)."""
    return (
        Booking.objects.filter(
            practice_id=client.practice_id,
            session=session,
            client=client,
            status=BookingStatus.CONFIRMED,
        )
        .select_related("practice")
        .first()
    )


def attendance(session: Session) -> tuple[str, str]:
    """(status key, label) the client sees: their own booking's when they gave up their
    place, else the session's."""
    booking_status = getattr(session, "my_booking_status", None)
    if booking_status in (BookingStatus.CANCELLED, BookingStatus.LATE_CANCELLED):
        return booking_status, BookingStatus(booking_status).label
    return session.status, session.get_status_display()


@dataclass(frozen=True)
class CreditLine:
    engagement_title: str
    balance: int


def client_credit_balances(client: Client) -> list[CreditLine]:
    """Credits left per engagement, summed from the ledger (one query)."""
    rows = (
        CreditEntry.objects.filter(practice_id=client.practice_id, client=client)
        .values("engagement_id", "engagement__title")
        .annotate(balance=Sum("amount"))
        .order_by("engagement_id")
    )
    return [CreditLine(row["engagement__title"], max(row["balance"] or 0, 0)) for row in rows]


def client_allowance(client: Client, *, at: dt.datetime) -> Allowance | None:
    """A seat client's sessions used and left this month; None for everyone else."""
    seat = open_seat_of(client)
    if seat is None:
        return None
    seat.practice = client.practice
    seat.contract.practice = client.practice
    return seat_allowance(seat, at=at)
