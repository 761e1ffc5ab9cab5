"""Reads for billing."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from coachhub.models import Membership, Practice
from coachhub.permissions import can, roles_with
from coachhub.tenancy import coaches_here, practice_contact_email
from engagements.selectors import (
    client_with_email,
    is_seat_client,
    seat_client_refusal,
)
from sessions_app.models import (
    BookingLink,
    CreditEntry,
    CreditKind,
)

from .models import (
    BOOKING_LINK_OFFER_KINDS,
    Checkout,
    Offer,
    OfferKind,
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
        purchases_visible_to(membership)
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


def purchases_visible_to(membership: Membership) -> QuerySet[Purchase]:
    """Coaches see what their own offers sold; owners and assistants see the practice."""
    purchases = Purchase.objects.filter(practice=membership.practice)
    if not can(membership, "clients.see_all"):
        purchases = purchases.filter(offer__coach_id=membership.user_id)
    return purchases
