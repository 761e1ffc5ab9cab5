"""Seat allowances and the first-month billing rule for seat clients (docs/product.md §2).

Months are calendar months in the practice's time zone: a session at 23:30 on the
31st in London belongs to that month even though it is already the 1st in UTC+1.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import models


@dataclass(frozen=True)
class Allowance:
    """A seat client's sessions in one calendar month."""

    year: int
    month: int
    allowed: int
    used: int

    @property
    def remaining(self) -> int:
        return max(self.allowed - self.used, 0)

    @property
    def exhausted(self) -> bool:
        return self.used >= self.allowed

    @property
    def label(self) -> str:
        return dt.date(self.year, self.month, 1).strftime("%B %Y")


class FirstMonthOutcome(models.TextChoices):
    FULL_PRICE = "full_price", "Full price"
    CREDIT = "credit", "Credit to the company"
    NOT_BILLABLE = "not_billable", "Not billable"


@dataclass(frozen=True)
class FirstMonthCharge:
    outcome: FirstMonthOutcome
    amount: Decimal  # what the company is charged; negative for a credit
    explanation: str


def chose_coach_by_the_15th(chosen_at: dt.datetime, zone: ZoneInfo) -> bool:
    return chosen_at.astimezone(zone).day <= 15


def first_month_charge(
    *,
    chosen_at: dt.datetime,
    zone: ZoneInfo,
    sessions_in_first_month: int,
    under_contract: bool,
    price_per_seat_month: Decimal,
) -> FirstMonthCharge:
    """Apply the first-month rule to one seat client.

    Chosen on or before the 15th (local): the month is billed in full — with one
    or two sessions per the spec, and also with none, because the seat was held
    for more than half the month (a decision the spec leaves open; see README).
    Chosen after the 15th: no session → a credit of one seat-month if the company
    is under contract, otherwise nothing is billed; one or more → full price and
    no credit for sessions left unused.
    """
    if sessions_in_first_month < 0:
        raise ValueError("sessions_in_first_month cannot be negative")
    if chose_coach_by_the_15th(chosen_at, zone):
        return FirstMonthCharge(
            FirstMonthOutcome.FULL_PRICE,
            price_per_seat_month,
            "Coach chosen on or before the 15th: the first month is billed in full.",
        )
    if sessions_in_first_month == 0:
        if under_contract:
            return FirstMonthCharge(
                FirstMonthOutcome.CREDIT,
                -price_per_seat_month,
                "Coach chosen after the 15th and no session that month: credited.",
            )
        return FirstMonthCharge(
            FirstMonthOutcome.NOT_BILLABLE,
            Decimal("0"),
            "Coach chosen after the 15th, no session, no contract: not billable.",
        )
    return FirstMonthCharge(
        FirstMonthOutcome.FULL_PRICE,
        price_per_seat_month,
        "Coach chosen after the 15th with a session that month: full price, "
        "no credit for unused sessions.",
    )
