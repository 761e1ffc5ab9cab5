"""Reads for billing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth

from coachhub.models import Membership, Practice
from coachhub.permissions import can, roles_with
from coachhub.tenancy import coaches_here, practice_contact_email
from coachhub.timezones import last_months, month_bounds, month_days, months_span
from engagements.models import Contract, SeatAssignment
from engagements.selectors import (
    client_with_email,
    contract_list,
    is_seat_client,
    seat_client_refusal,
)
from sessions_app.models import (
    STATUSES_THAT_USE_ALLOWANCE,
    BookingLink,
    CreditEntry,
    CreditKind,
    Session,
)

from .models import (
    BOOKING_LINK_OFFER_KINDS,
    Checkout,
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
    if not can(membership, "clients.see_all"):
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


def sells_packages_only_to_new_clients(practice: Practice) -> bool:
    """The practice's policy: people who have never bought before are offered packages only."""
    return not practice.one_off_sessions_for_new_clients


def single_sessions_refused_to(practice: Practice, email: str) -> bool:
    """The packages-only policy, for this buyer (a returning client may buy single sessions)."""
    return sells_packages_only_to_new_clients(practice) and not is_returning_client(practice, email)


def packages_only_for_new_clients(offer: Offer) -> bool:
    """Whether a new client is refused this offer (a single session under the packages-only
    policy): what the booking page tells a visitor before it knows who they are."""
    return offer.kind == OfferKind.SINGLE_SESSION and sells_packages_only_to_new_clients(
        offer.practice
    )


PACKAGES_ONLY = (
    "New clients start with a package at this practice; single sessions are for returning clients."
)
NOT_ON_SALE = "This offer is no longer on sale."


@dataclass(frozen=True)
class Refusal:
    """Why a buyer may not buy an offer; `code` is what the API answers with."""

    message: str
    code: str = "invalid"


def offer_is_on_sale(offer: Offer) -> bool:
    """Active, and sold by someone who still coaches here (whoever the buyer is)."""
    return offer.is_active and coaches_here(offer.practice, offer.coach)


def offer_refusal(offer: Offer, *, email: str) -> Refusal | None:
    """Why this buyer may not buy this offer now, or None: the one rule behind the buy link,
    the API's checkouts, `offers_on_sale_to` and the booking page."""
    practice = offer.practice
    if not offer_is_on_sale(offer):
        return Refusal(NOT_ON_SALE)
    client = client_with_email(practice, email)
    if client is not None and (seat_refusal := seat_client_refusal(client, feature="offers")):
        return Refusal(seat_refusal)
    if offer.kind == OfferKind.SINGLE_SESSION and single_sessions_refused_to(practice, email):
        return Refusal(PACKAGES_ONLY, code="packages_only")
    return None


NO_PRICE_YET = (
    "This session is paid, and its price is not set up yet, so it cannot be booked online."
)
PAYMENTS_NOT_SET_UP = (
    "This session is paid, and online payment is not set up for this practice yet, "
    "so it cannot be booked online."
)
NOT_ON_SALE_ANY_MORE = "This session is no longer on sale online."


@dataclass(frozen=True)
class PaidLinkTerms:
    """What a paid booking link costs, and why nobody can pay for it online (if so),
    shown on its page before any form."""

    offer: Offer | None
    refusal: str
    contact_email: str


def paid_link_terms(link: BookingLink) -> PaidLinkTerms | None:
    """The price of a paid link and the refusal every paying visitor would meet (no price,
    no Stripe, an offer off sale); None for a free link. Refusals that depend on who the
    visitor is (packages only for new clients) are the page's `packages_only`."""
    if not link.requires_payment:
        return None
    offer = link.offer if link.offer_id else None
    if offer is None:
        refusal = NO_PRICE_YET
    elif not link.practice.payments_connected:
        refusal = PAYMENTS_NOT_SET_UP
    elif not offer_is_on_sale(offer):
        refusal = NOT_ON_SALE_ANY_MORE
    else:
        refusal = ""
    return PaidLinkTerms(
        offer=offer,
        refusal=refusal,
        contact_email=practice_contact_email(link.practice) if refusal else "",
    )


def paid_booking_refusal(link: BookingLink, *, email: str) -> Refusal | None:
    """What would refuse this visitor's checkout on a paid booking link, checked before
    anything is booked. A seat client books on their allowance, never at checkout."""
    if not link.requires_payment or link.offer_id is None:
        return None
    if is_seat_client(link.practice, email):
        return None
    return offer_refusal(link.offer, email=email)


def offers_on_sale_to(
    offers: QuerySet[Offer], *, practice: Practice, email: str
) -> QuerySet[Offer]:
    """Of `offers`, those this buyer may buy now: `offer_refusal`'s rule as a query (active,
    sold by someone who still coaches here; none for a seat client; no single session
    for a new client when the practice sells packages only to new clients)."""
    if is_seat_client(practice, email):
        return offers.none()
    offers = offers.filter(
        is_active=True,
        coach__memberships__practice=practice,
        coach__memberships__role__in=roles_with("clients.coach"),
    )
    if single_sessions_refused_to(practice, email):
        offers = offers.exclude(kind=OfferKind.SINGLE_SESSION)
    return offers


def _purchase_total(purchase: Purchase, kind: str) -> int:
    total = CreditEntry.objects.filter(
        practice_id=purchase.practice_id, purchase=purchase, kind=kind
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def credits_granted(purchase: Purchase) -> int:
    """Credits the purchase's payments granted (each paid month of a package adds its own)."""
    return _purchase_total(purchase, CreditKind.GRANT)


def credits_revoked(purchase: Purchase) -> int:
    """Credits taken back for the purchase's refunds (a positive number)."""
    return -_purchase_total(purchase, CreditKind.REVOKE)


def packages_sold_by(coach_id: int, *, practice: Practice) -> QuerySet[Offer]:
    """A coach's packages on sale, shown on their paid booking page beside the one session."""
    return Offer.objects.filter(
        practice=practice,
        coach_id=coach_id,
        is_active=True,
        kind__in=[OfferKind.SESSION_PACK, OfferKind.MONTHLY_PACKAGE],
    )


def offers_for_booking_links(practice: Practice) -> QuerySet[Offer]:
    """What a paid booking link can sell: active single sessions and packages of sessions."""
    return Offer.objects.filter(
        practice=practice,
        is_active=True,
        kind__in=BOOKING_LINK_OFFER_KINDS,
    )


def checkouts_visible_to(membership: Membership) -> QuerySet[Checkout]:
    """Coaches see the checkouts of their own offers; owners and assistants the practice's."""
    checkouts = Checkout.objects.filter(practice=membership.practice).select_related("offer")
    if not can(membership, "clients.see_all"):
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
    if not can(membership, "clients.see_all"):
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
