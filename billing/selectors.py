"""Reads for billing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth

from coachhub.models import COACHING_ROLES, Membership, Practice
from coachhub.timezones import last_months, months_span

from .models import (
    Checkout,
    CreditEntry,
    Offer,
    OfferKind,
    Payment,
    Purchase,
    SubscriptionState,
)


def purchases_needing_attention(membership: Membership) -> QuerySet[Purchase]:
    """Packages whose payment failed (dunning), disputed payments and payments the rules
    refused to set up (the owner refunds or arranges them), for the dashboard.

    Coaches see their own clients' purchases; owners and assistants see all.
    """
    purchases = Purchase.objects.filter(practice=membership.practice).filter(
        Q(subscription_state=SubscriptionState.PAST_DUE) | Q(disputed=True) | ~Q(setup_refused="")
    )
    if not membership.sees_all_clients:
        purchases = purchases.filter(offer__coach_id=membership.user_id)
    return purchases.select_related("client", "offer", "engagement").order_by("-paid_at")


def purchases_with_credits(membership: Membership) -> QuerySet[Purchase]:
    """The purchases the member may see, newest first, each with `credits_left` (the
    ledger balance of its engagement) computed in the same query."""
    balance = (
        CreditEntry.objects.filter(engagement=OuterRef("engagement"))
        .order_by()
        .values("engagement")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return (
        _purchases_visible_to(membership)
        .select_related("offer", "client", "engagement")
        .annotate(credits_left=Coalesce(Subquery(balance), 0))
        .order_by("-paid_at", "-pk")
    )


def purchase_list(membership: Membership, *, limit: int = 100) -> list[Purchase]:
    """The latest purchases the member may see, for the Purchases page."""
    return list(purchases_with_credits(membership)[:limit])


def is_returning_client(practice: Practice, email: str) -> bool:
    return Purchase.objects.filter(practice=practice, client__email=email.strip().lower()).exists()


def single_sessions_refused_to(practice: Practice, email: str) -> bool:
    """The practice's "packages only for new clients" policy, for this buyer."""
    return not practice.one_off_sessions_for_new_clients and not is_returning_client(
        practice, email
    )


def offers_on_sale_to(
    offers: QuerySet[Offer], *, practice: Practice, email: str
) -> QuerySet[Offer]:
    """Of `offers`, those this buyer may buy now: what `offer_purchase_check` allows at
    checkout (active, sold by someone who still coaches here; none for a seat client; no
    single session for a new client when the practice sells packages only to new clients)."""
    from engagements.models import Client
    from engagements.selectors import open_seat_of

    client = Client.objects.filter(practice=practice, email=email.strip().lower()).first()
    if client is not None and open_seat_of(client) is not None:
        return offers.none()
    offers = offers.filter(
        is_active=True,
        coach__memberships__practice=practice,
        coach__memberships__role__in=COACHING_ROLES,
    )
    if single_sessions_refused_to(practice, email):
        offers = offers.exclude(kind=OfferKind.SINGLE_SESSION)
    return offers


def checkouts_visible_to(membership: Membership) -> QuerySet[Checkout]:
    """Coaches see the checkouts of their own offers; owners and assistants the practice's."""
    checkouts = Checkout.objects.filter(practice=membership.practice).select_related("offer")
    if not membership.sees_all_clients:
        checkouts = checkouts.filter(offer__coach_id=membership.user_id)
    return checkouts.order_by("-created_at", "-pk")


# --- Metrics ---------------------------------------------------------------------------
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


def _purchases_visible_to(membership: Membership) -> QuerySet[Purchase]:
    """Coaches see what their own offers sold; owners and assistants see the practice."""
    purchases = Purchase.objects.filter(practice=membership.practice)
    if not membership.sees_all_clients:
        purchases = purchases.filter(offer__coach_id=membership.user_id)
    return purchases


def _payments_in(membership: Membership, *, since: dt.datetime, now: dt.datetime):
    return Payment.objects.filter(
        practice=membership.practice,
        purchase__in=_purchases_visible_to(membership),
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
    new_purchases = _purchases_visible_to(membership).filter(paid_at__gte=since, paid_at__lte=now)
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
