"""A seat contract's monthly statement: what the company owes, by seat (docs/product.md §2).

A seat's first month (the month its coach was chosen) follows the first-month rule
(`engagements.seat_billing`); any later month the contract covers is a seat-month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from coachhub.timezones import local_month_of, month_bounds, month_days
from engagements.models import Contract, SeatAssignment
from engagements.seat_billing import FirstMonthOutcome, first_month_charge
from sessions_app.allowances import sessions_used_per_seat


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
    zone = contract.practice.zone
    start, end = month_bounds(year, month, zone)
    first_day, last_day = month_days(year, month)
    seats = list(
        contract.assignments.filter(coach_chosen_at__lt=end)
        .exclude(ended_on__lt=first_day)
        .select_related("client")
        .order_by("client__name")
    )
    used = sessions_used_per_seat(contract, seats, start=start, end=end)
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
                cutoff_day=contract.first_month_cutoff_day,
                credit_when_unused=contract.first_month_credit,
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


STATEMENT_CSV_HEADER = [
    "client",
    "email",
    "coach chosen",
    "first month",
    "sessions",
    "allowed",
    "outcome",
    "amount",
    "currency",
    "why",
]


def statement_csv_rows(statement: Statement) -> list[list[str]]:
    """The statement as CSV rows (header, one row per seat, the total), for the export."""
    practice = statement.contract.practice
    zone, currency = practice.zone, practice.currency
    rows: list[list[str]] = [STATEMENT_CSV_HEADER]
    for line in statement.lines:
        rows.append(
            [
                line.seat.client.name,
                line.seat.client.email,
                line.seat.coach_chosen_at.astimezone(zone).date().isoformat(),
                "yes" if line.first_month else "no",
                str(line.sessions),
                str(line.allowed),
                line.outcome,
                f"{line.amount:.2f}",
                currency,
                line.explanation,
            ]
        )
    rows.append(["total", "", "", "", "", "", "", f"{statement.total:.2f}", currency, ""])
    return rows
