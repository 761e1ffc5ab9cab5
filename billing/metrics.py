"""The coach's numbers: revenue by month, order value and mix, renewals, seat utilisation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth

from coachhub.models import Membership
from coachhub.timezones import last_months, month_bounds, month_days, months_span
from engagements.models import Contract, SeatAssignment
from engagements.selectors import (
    contract_list,
)
from sessions_app.models import (
    STATUSES_THAT_USE_ALLOWANCE,
    Session,
)

from .models import (
    OfferKind,
    Payment,
)
from .selectors import purchases_visible_to

RENEWAL_DUE_AFTER = dt.timedelta(days=31)
MIX_GROUPS = [
    ("One-off sessions", (OfferKind.SINGLE_SESSION,)),
    ("Packages", (OfferKind.SESSION_PACK, OfferKind.MONTHLY_PACKAGE)),
    ("Team workshops", (OfferKind.TEAM_WORKSHOP,)),
]


@dataclass(frozen=True)
class MonthRevenue:
    month: dt.date  # the first day, in the practice's time zone
    amount: int  # minor units of the practice currency
    payments: int


@dataclass(frozen=True)
class RevenueByMonth:
    """Money received per calendar month, in the practice currency, before refunds.

    Payments in another currency are not added up with it but listed apart.
    """

    currency: str
    months: list[MonthRevenue]
    other_currencies: dict[str, int]

    @property
    def total(self) -> int:
        return sum(month.amount for month in self.months)


@dataclass(frozen=True)
class MixRow:
    label: str
    purchases: int
    amount: int
    share: float  # of the period's orders


@dataclass(frozen=True)
class RevenueMetrics:
    by_month: RevenueByMonth
    orders: int
    average_order_value: int | None
    refunded: int
    mix: list[MixRow]
    subscriptions_due: int
    subscriptions_renewed: int

    @property
    def renewal_rate(self) -> float | None:
        if not self.subscriptions_due:
            return None
        return self.subscriptions_renewed / self.subscriptions_due


def _payments_in(membership: Membership, *, since: dt.datetime, now: dt.datetime):
    return Payment.objects.filter(
        practice=membership.practice,
        purchase__in=purchases_visible_to(membership),
        paid_at__gte=since,
        paid_at__lte=now,
    )


def revenue_by_month(
    membership: Membership, *, now: dt.datetime, months: int = 12
) -> RevenueByMonth:
    """Revenue per month of the practice's calendar, the current month last (one query).

    Revenue is money received: one-off checkouts and each paid subscription invoice.
    """
    practice = membership.practice
    currency = practice.currency.upper()
    calendar = last_months(now, practice.zone, months)
    since, _ = months_span(calendar, practice.zone)
    by_month: dict[tuple[int, int], tuple[int, int]] = {}
    other_currencies: dict[str, int] = {}
    for row in (
        _payments_in(membership, since=since, now=now)
        .annotate(month=TruncMonth("paid_at", tzinfo=practice.zone))
        .values("month", "currency")
        .annotate(amount=Sum("amount"), count=Count("pk"))
    ):
        code = row["currency"].upper()
        if code != currency:
            other_currencies[code] = other_currencies.get(code, 0) + row["amount"]
            continue
        key = (row["month"].year, row["month"].month)
        amount, count = by_month.get(key, (0, 0))
        by_month[key] = (amount + row["amount"], count + row["count"])
    return RevenueByMonth(
        currency=currency,
        months=[
            MonthRevenue(dt.date(year, month, 1), *by_month.get((year, month), (0, 0)))
            for year, month in calendar
        ],
        other_currencies=other_currencies,
    )


def revenue_metrics(
    membership: Membership, *, now: dt.datetime, months: int = 12
) -> RevenueMetrics:
    """Revenue by month, average order value, offer mix and renewals (five queries).

    An order is a purchase made in the period (what the client paid at checkout).
    A monthly package counts towards the renewal rate once its first renewal was due
    (31 days after it started) or it renewed; it renewed if a second invoice was paid.
    """
    currency = membership.practice.currency
    zone = membership.practice.zone
    since, _ = months_span(last_months(now, zone, months), zone)
    new_purchases = purchases_visible_to(membership).filter(paid_at__gte=since, paid_at__lte=now)
    orders = new_purchases.filter(currency__iexact=currency).aggregate(
        count=Count("pk"), total=Sum("amount_total"), refunded=Sum("amount_refunded")
    )
    kind_counts = dict(
        new_purchases.filter(currency__iexact=currency)
        .values("offer__kind")
        .annotate(n=Count("pk"))
        .values_list("offer__kind", "n")
    )
    kind_amounts = dict(
        _payments_in(membership, since=since, now=now)
        .filter(currency__iexact=currency)
        .values("purchase__offer__kind")
        .annotate(total=Sum("amount"))
        .values_list("purchase__offer__kind", "total")
    )
    mix = []
    for label, kinds in MIX_GROUPS:
        count = sum(kind_counts.get(kind, 0) for kind in kinds)
        mix.append(
            MixRow(
                label=label,
                purchases=count,
                amount=sum(kind_amounts.get(kind, 0) for kind in kinds),
                share=count / orders["count"] if orders["count"] else 0.0,
            )
        )
    due = renewed = 0
    for started, paid_invoices in (
        new_purchases.exclude(stripe_subscription_id="")
        .annotate(paid_invoices=Count("payments"))
        .values_list("paid_at", "paid_invoices")
    ):
        if paid_invoices >= 2:
            due, renewed = due + 1, renewed + 1
        elif started <= now - RENEWAL_DUE_AFTER:
            due += 1
    return RevenueMetrics(
        by_month=revenue_by_month(membership, now=now, months=months),
        orders=orders["count"],
        average_order_value=(orders["total"] or 0) // orders["count"] if orders["count"] else None,
        refunded=orders["refunded"] or 0,
        mix=mix,
        subscriptions_due=due,
        subscriptions_renewed=renewed,
    )


# --- Seat utilisation -----------------------------------------------------------------
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
