"""Reads for engagements: what each member may see, and seat allowances.

Visibility (SPEC §1): owners and assistants see every client of the practice;
coaches see the clients they coach (as main coach, engagement coach or workshop
coach). Another practice's rows are never reachable: the scoped manager filters
them out and every `*_get_for_member` turns a miss into a 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404

from coachhub.models import Membership
from coachhub.timezones import last_months, local_month_of, month_bounds, month_days, months_span
from sessions_app.models import STATUSES_THAT_USE_ALLOWANCE, Session

from .models import (
    Client,
    Collection,
    CollectionParticipant,
    Contract,
    Engagement,
    Organization,
    SeatAssignment,
)
from .seat_billing import Allowance


def _get_or_404(queryset: QuerySet, pk) -> object:
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No {queryset.model._meta.verbose_name} found.") from None


# --- Clients -----------------------------------------------------------------
def clients_visible_to(membership: Membership) -> QuerySet[Client]:
    clients = Client.objects.filter(practice=membership.practice)
    if membership.sees_all_clients:
        return clients
    user = membership.user_id
    coached_engagements = Engagement.objects.filter(
        practice=membership.practice, coach_id=user, client__isnull=False
    ).values("client_id")
    workshop_participants = CollectionParticipant.objects.filter(
        practice=membership.practice, collection__engagement__coach_id=user
    ).values("client_id")
    return clients.filter(
        Q(coach_id=user) | Q(pk__in=coached_engagements) | Q(pk__in=workshop_participants)
    )


def client_list(membership: Membership, *, search: str = "", status: str = "") -> QuerySet[Client]:
    clients = clients_visible_to(membership).select_related("coach", "organization")
    if search:
        clients = clients.filter(Q(name__icontains=search) | Q(email__icontains=search))
    if status:
        clients = clients.filter(status=status)
    return clients.order_by("name")


def client_get_for_member(membership: Membership, pk) -> Client:
    return _get_or_404(clients_visible_to(membership).select_related("coach", "organization"), pk)


def client_get_for_member_write(membership: Membership, pk) -> Client:
    """Every member may edit a client they can see (assistants keep contact details)."""
    return client_get_for_member(membership, pk)


def client_private_notes_for_member(membership: Membership, client: Client) -> str:
    if not membership.can_read_private_notes:
        raise PermissionDenied("Assistants cannot read private notes.")
    return client.private_notes


CREATED_WITHOUT_SEAT = "_created_without_seat"


def open_seat_of(client: Client) -> SeatAssignment | None:
    """The client's current seat, if any. A client created in this request or task is
    known to have none until `seat_assign` gives it one (no query then)."""
    if client.__dict__.get(CREATED_WITHOUT_SEAT):
        return None
    return (
        SeatAssignment.objects.filter(client=client, ended_on__isnull=True)
        .select_related("contract__organization")
        .first()
    )


# --- Organizations and contracts ------------------------------------------------
def organization_list(membership: Membership) -> QuerySet[Organization]:
    return (
        Organization.objects.filter(practice=membership.practice)
        .annotate(
            contract_count=Count("contracts", distinct=True),
            client_count=Count("clients", distinct=True),
        )
        .order_by("name")
    )


def organization_get_for_member(membership: Membership, pk) -> Organization:
    return _get_or_404(Organization.objects.filter(practice=membership.practice), pk)


def organization_get_for_member_write(membership: Membership, pk) -> Organization:
    organization = organization_get_for_member(membership, pk)
    if not membership.can_manage_contracts:
        raise PermissionDenied("Only the practice owner manages companies and contracts.")
    return organization


def contract_list(membership: Membership) -> QuerySet[Contract]:
    return (
        Contract.objects.filter(practice=membership.practice)
        .select_related("organization")
        .annotate(seats_taken=Count("assignments", filter=Q(assignments__ended_on__isnull=True)))
        .order_by("-starts_on", "pk")
    )


def contract_get_for_member(membership: Membership, pk) -> Contract:
    return _get_or_404(contract_list(membership), pk)


def contract_get_for_member_write(membership: Membership, pk) -> Contract:
    contract = contract_get_for_member(membership, pk)
    if not membership.can_manage_contracts:
        raise PermissionDenied("Only the practice owner manages companies and contracts.")
    return contract


# --- Engagements and collections -------------------------------------------------
def engagements_visible_to(membership: Membership) -> QuerySet[Engagement]:
    engagements = Engagement.objects.filter(practice=membership.practice)
    if membership.sees_all_clients:
        return engagements
    return engagements.filter(coach_id=membership.user_id)


def engagement_list(
    membership: Membership, *, kind: str = "", status: str = ""
) -> QuerySet[Engagement]:
    engagements = engagements_visible_to(membership).select_related(
        "client", "coach", "organization"
    )
    if kind:
        engagements = engagements.filter(kind=kind)
    if status:
        engagements = engagements.filter(status=status)
    return engagements.annotate(
        open_steps=Count("steps", filter=Q(steps__state__in=["pending", "failed"]))
    ).order_by("-created_at")


def engagement_get_for_member(membership: Membership, pk) -> Engagement:
    return _get_or_404(
        engagements_visible_to(membership).select_related("client", "coach", "organization"), pk
    )


def engagement_get_for_member_write(membership: Membership, pk) -> Engagement:
    engagement = engagement_get_for_member(membership, pk)
    if not membership.can_edit_engagements:
        raise PermissionDenied("Assistants can view engagements but not change them.")
    return engagement


def collections_visible_to(membership: Membership) -> QuerySet[Collection]:
    return Collection.objects.filter(
        practice=membership.practice, engagement__in=engagements_visible_to(membership)
    )


def collection_get_for_member(membership: Membership, pk) -> Collection:
    return _get_or_404(
        collections_visible_to(membership).select_related("engagement", "template"), pk
    )


def collection_get_for_member_write(membership: Membership, pk) -> Collection:
    collection = collection_get_for_member(membership, pk)
    if not membership.can_edit_engagements:
        raise PermissionDenied("Assistants can view collections but not change them.")
    return collection


# --- Seat allowance --------------------------------------------------------------
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


def _sessions_used_per_seat(
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
    used = _sessions_used_per_seat(contract, seats, start=start, end=end)
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


# --- Monthly statements per contract -------------------------------------------------
@dataclass(frozen=True)
class StatementLine:
    seat: SeatAssignment
    first_month: bool
    sessions: int
    allowed: int
    outcome: str
    amount: Decimal
    explanation: str


@dataclass(frozen=True)
class Statement:
    contract: Contract
    year: int
    month: int
    lines: list[StatementLine]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))

    @property
    def label(self) -> str:
        return dt.date(self.year, self.month, 1).strftime("%B %Y")


def contract_statement(contract: Contract, *, year: int, month: int) -> Statement:
    """What the company owes for one calendar month (practice time zone), seat by seat.

    A seat's first month (the month its coach was chosen) follows the first-month rule;
    any later month the contract covers is a full seat-month. Two queries.
    """
    from .seat_billing import FirstMonthOutcome, first_month_charge

    zone = contract.practice.zone
    start, end = month_bounds(year, month, zone)
    first_day, last_day = month_days(year, month)
    seats = list(
        contract.assignments.filter(coach_chosen_at__lt=end)
        .exclude(ended_on__lt=first_day)
        .select_related("client")
        .order_by("client__name")
    )
    used = _sessions_used_per_seat(contract, seats, start=start, end=end)
    covers_month = contract.starts_on <= last_day and contract.ends_on >= first_day
    lines = []
    for seat in seats:
        sessions = used.get(seat.pk, 0)
        chosen_day = seat.coach_chosen_at.astimezone(zone).date()
        if local_month_of(seat.coach_chosen_at, zone) == (year, month):
            charge = first_month_charge(
                chosen_at=seat.coach_chosen_at,
                zone=zone,
                sessions_in_first_month=sessions,
                under_contract=contract.starts_on <= chosen_day <= contract.ends_on,
                price_per_seat_month=contract.price_per_seat_month,
            )
            outcome, amount, why, first = charge.outcome, charge.amount, charge.explanation, True
        elif covers_month:
            outcome, amount, first = (
                FirstMonthOutcome.FULL_PRICE,
                contract.price_per_seat_month,
                False,
            )
            why = "A month of the contract: one seat-month."
        else:
            outcome, amount, first = FirstMonthOutcome.NOT_BILLABLE, Decimal("0"), False
            why = "The contract does not cover this month."
        lines.append(
            StatementLine(
                seat=seat,
                first_month=first,
                sessions=sessions,
                allowed=contract.sessions_per_seat_per_month,
                outcome=FirstMonthOutcome(outcome).label,
                amount=amount,
                explanation=why,
            )
        )
    return Statement(contract=contract, year=year, month=month, lines=lines)


# --- Seat utilisation (metrics) --------------------------------------------------------
@dataclass(frozen=True)
class UtilisationMonth:
    month: dt.date
    seats: int  # seats held for at least part of the month
    allowed: int
    used: int

    @property
    def rate(self) -> float | None:
        return self.used / self.allowed if self.allowed else None


@dataclass(frozen=True)
class ContractUtilisation:
    contract: Contract
    months: list[UtilisationMonth]

    @property
    def rate(self) -> float | None:
        allowed = sum(month.allowed for month in self.months)
        return sum(month.used for month in self.months) / allowed if allowed else None


def seat_utilisation(
    membership: Membership, *, now: dt.datetime, months: int = 6
) -> list[ContractUtilisation]:
    """Per contract and month: sessions used out of the seats' allowance (three queries).

    A month counts for a contract when the contract covers part of it; a seat counts
    from the month its client chose a coach until the month it ended.
    """
    zone = membership.practice.zone
    calendar = last_months(now, zone, months)
    since, until = months_span(calendar, zone)
    first_day, last_day = month_days(*calendar[0])[0], month_days(*calendar[-1])[1]
    contracts = list(
        contract_list(membership).filter(starts_on__lte=last_day, ends_on__gte=first_day)
    )
    seats = list(
        SeatAssignment.objects.filter(
            practice=membership.practice, contract__in=contracts, coach_chosen_at__lt=until
        )
        .exclude(ended_on__lt=first_day)
        .values_list("contract_id", "coach_chosen_at", "ended_on")
    )
    used: dict[tuple[int, int, int], int] = {}
    for row in (
        Session.objects.filter(
            practice=membership.practice,
            seat__contract__in=contracts,
            status__in=STATUSES_THAT_USE_ALLOWANCE,
            starts_at__gte=since,
            starts_at__lt=until,
        )
        .annotate(month=TruncMonth("starts_at", tzinfo=zone))
        .values("seat__contract", "month")
        .annotate(n=Count("pk"))
    ):
        used[(row["seat__contract"], row["month"].year, row["month"].month)] = row["n"]

    result = []
    for contract in contracts:
        rows = []
        for year, month in calendar:
            _, end = month_bounds(year, month, zone)
            month_first, month_last = month_days(year, month)
            if contract.starts_on > month_last or contract.ends_on < month_first:
                continue
            held = sum(
                1
                for contract_id, chosen_at, ended_on in seats
                if contract_id == contract.pk
                and chosen_at < end
                and (ended_on is None or ended_on >= month_first)
            )
            rows.append(
                UtilisationMonth(
                    month=month_first,
                    seats=held,
                    allowed=held * contract.sessions_per_seat_per_month,
                    used=used.get((contract.pk, year, month), 0),
                )
            )
        result.append(ContractUtilisation(contract=contract, months=rows))
    return result
