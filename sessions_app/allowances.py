"""What seat sessions use up: a seat's monthly allowance, counted from its sessions.

A seat client has N sessions per calendar month of the practice; every session that
uses the time (scheduled, completed, late-cancelled, no-show) counts. Session credits
bought with a package are the other thing a session uses up: see `ledger`.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q

from coachhub.models import Membership
from coachhub.timezones import local_month_of, month_bounds
from engagements.models import Contract, SeatAssignment
from engagements.seat_billing import Allowance

from .models import STATUSES_THAT_USE_ALLOWANCE, Session


def seat_allowance(seat: SeatAssignment, *, at: dt.datetime) -> Allowance:
    """Sessions used and left in the calendar month (practice time) that contains `at`."""
    return seat_allowances([seat], seat.contract, at=at)[seat.pk]


def seat_usage_this_month(membership: Membership, *, at: dt.datetime) -> list[Contract]:
    """Contracts running this month with seats taken and sessions used (one query)."""
    zone = membership.practice.zone
    year, month = local_month_of(at, zone)
    start, end = month_bounds(year, month, zone)
    today = at.astimezone(zone).date()
    contracts = (
        Contract.objects.filter(
            practice=membership.practice, starts_on__lte=today, ends_on__gte=today
        )
        .select_related("organization")
        .annotate(
            seats_taken=Count(
                "assignments", filter=Q(assignments__ended_on__isnull=True), distinct=True
            ),
            sessions_used=Count(
                "assignments__sessions",
                filter=Q(
                    assignments__sessions__status__in=STATUSES_THAT_USE_ALLOWANCE,
                    assignments__sessions__starts_at__gte=start,
                    assignments__sessions__starts_at__lt=end,
                ),
                distinct=True,
            ),
        )
    )
    result = list(contracts)
    for contract in result:
        contract.sessions_allowed = contract.seats_taken * contract.sessions_per_seat_per_month
    return result


def sessions_used_per_seat(
    contract: Contract, seats: list[SeatAssignment], *, start: dt.datetime, end: dt.datetime
) -> dict[int, int]:
    """{seat id: sessions that used its allowance in [start, end)} in one query."""
    return dict(
        Session.objects.filter(
            practice_id=contract.practice_id,
            seat__in=seats,
            status__in=STATUSES_THAT_USE_ALLOWANCE,
            starts_at__gte=start,
            starts_at__lt=end,
        )
        .values("seat")
        .annotate(n=Count("pk"))
        .values_list("seat", "n")
    )


def seat_allowances(
    seats: list[SeatAssignment], contract: Contract, *, at: dt.datetime
) -> dict[int, Allowance]:
    """Allowances for many seats of one contract in one query (contract page)."""
    zone = contract.practice.zone
    year, month = local_month_of(at, zone)
    start, end = month_bounds(year, month, zone)
    used = sessions_used_per_seat(contract, seats, start=start, end=end)
    allowed = contract.sessions_per_seat_per_month
    return {seat.pk: Allowance(year, month, allowed, used.get(seat.pk, 0)) for seat in seats}


def seat_allowances_by_month(seat: SeatAssignment) -> dict[tuple[int, int], Allowance]:
    """Every month a seat has sessions in, with its usage (one query; for session cards)."""
    zone = seat.practice.zone
    used: dict[tuple[int, int], int] = {}
    for starts_at in Session.objects.filter(
        practice_id=seat.practice_id, seat=seat, status__in=STATUSES_THAT_USE_ALLOWANCE
    ).values_list("starts_at", flat=True):
        if starts_at is not None:
            key = local_month_of(starts_at, zone)
            used[key] = used.get(key, 0) + 1
    allowed = seat.contract.sessions_per_seat_per_month
    return {key: Allowance(key[0], key[1], allowed, count) for key, count in used.items()}


def attach_allowances(sessions: list[Session], seat: SeatAssignment | None) -> None:
    """Give each seat session its month's allowance, for the session card."""
    if seat is None:
        return
    by_month = seat_allowances_by_month(seat)
    zone = seat.practice.zone
    for session in sessions:
        if session.seat_id == seat.pk and session.starts_at is not None:
            session.allowance = by_month.get(local_month_of(session.starts_at, zone))
