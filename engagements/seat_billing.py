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


DEFAULT_CUTOFF_DAY = 15


def day_ordinal(day: int) -> str:
    """15 → "15th", 1 → "1st", 22 → "22nd": how the rule names its cut-off."""
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def chose_coach_by_cutoff(chosen_at: dt.datetime, zone: ZoneInfo, cutoff_day: int) -> bool:
    return chosen_at.astimezone(zone).day <= cutoff_day


def first_month_charge(
    *,
    chosen_at: dt.datetime,
    zone: ZoneInfo,
    sessions_in_first_month: int,
    under_contract: bool,
    price_per_seat_month: Decimal,
    cutoff_day: int = DEFAULT_CUTOFF_DAY,
    credit_when_unused: bool = True,
) -> FirstMonthCharge:
    """Apply the first-month rule to one seat client (the contract sets the cut-off day
    and whether an unused late month is credited).

    Chosen on or before the cut-off (local): the month is billed in full — with one
    or two sessions per the spec, and also with none, because the seat was held
    for most of the month (a decision the spec leaves open; see docs/decisions.md).
    Chosen after it: no session → a credit of one seat-month if the company is under
    contract and the contract credits such months, otherwise nothing is billed; one or
    more → full price and no credit for sessions left unused.
    """
    if sessions_in_first_month < 0:
        raise ValueError("sessions_in_first_month cannot be negative")
    if not 1 <= cutoff_day <= 28:
        raise ValueError("cutoff_day must be from 1 to 28")
    cutoff = day_ordinal(cutoff_day)
    if chose_coach_by_cutoff(chosen_at, zone, cutoff_day):
        return FirstMonthCharge(
            FirstMonthOutcome.FULL_PRICE,
            price_per_seat_month,
            f"Coach chosen on or before the {cutoff}: the first month is billed in full.",
        )
    if sessions_in_first_month == 0:
        if under_contract and credit_when_unused:
            return FirstMonthCharge(
                FirstMonthOutcome.CREDIT,
                -price_per_seat_month,
                f"Coach chosen after the {cutoff} and no session that month: credited.",
            )
        if under_contract:
            return FirstMonthCharge(
                FirstMonthOutcome.NOT_BILLABLE,
                Decimal("0"),
                f"Coach chosen after the {cutoff} and no session that month: not billed "
                "(this contract gives no credit for it).",
            )
        return FirstMonthCharge(
            FirstMonthOutcome.NOT_BILLABLE,
            Decimal("0"),
            f"Coach chosen after the {cutoff}, no session, no contract: not billable.",
        )
    return FirstMonthCharge(
        FirstMonthOutcome.FULL_PRICE,
        price_per_seat_month,
        f"Coach chosen after the {cutoff} with a session that month: full price, "
        "no credit for unused sessions.",
    )
