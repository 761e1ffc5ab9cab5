"""Offers: what a practice sells, mirrored by a Stripe Product and Price, and who may buy it."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.exceptions import ValidationError

from coachhub.audit import audit_record
from coachhub.calls import call_recorded
from coachhub.models import CallProvider, Practice, User
from coachhub.services import coach_setup_authorize
from coachhub.tenancy import coaches_here, practice_owner
from integrations.errors import IntegrationError
from integrations.stripe import client as stripe_api

from ..models import Offer, OfferKind, StripeAccount
from ..selectors import offer_refusal
from .stripe_account import stripe_account_of


def _price_fingerprint(offer: Offer) -> str:
    terms = f"{offer.amount_minor}:{offer.currency.lower()}:{offer.is_subscription}"
    return hashlib.sha256(terms.encode()).hexdigest()[:16]


def offer_save(
    *, practice: Practice, actor: User, offer: Offer | None = None, **fields: Any
) -> Offer:
    """Create or change an offer; with Stripe connected, its Product and Price follow."""
    offer = offer or Offer(
        practice=practice, coach=fields.pop("coach", actor), currency=practice.currency
    )
    if "coach" in fields:
        offer.coach = fields.pop("coach")
    coach_setup_authorize(practice, actor, offer.coach)
    for name, value in fields.items():
        setattr(offer, name, value)
    if offer.kind == OfferKind.SINGLE_SESSION:
        offer.sessions = 1
    offer.full_clean()
    offer.save()
    audit_record(practice=practice, actor=actor, action="offer.save", obj=offer)
    account = stripe_account_of(practice)
    if account is not None and account.verified_at:
        try:
            offer_stripe_sync(offer=offer, account=account)
        except IntegrationError:
            pass  # the first checkout syncs again; the offer itself is saved
    return offer


def offer_stripe_sync(*, offer: Offer, account: StripeAccount) -> Offer:
    """Make sure the offer has a Stripe Product and a Price for its current terms.

    Idempotency keys come from the offer (and its price terms), so a retry after a
    timeout never creates a second product or price.
    """
    if not offer.stripe_product_id:
        with call_recorded(
            practice_id=offer.practice_id,
            provider=CallProvider.STRIPE,
            operation="product.create",
            subject=offer,
        ):
            offer.stripe_product_id = stripe_api.product_create(
                account.secret_key,
                name=offer.name,
                description=offer.description,
                idempotency_key=f"product:{offer.public_id}:{account.account_id}",
            )
        offer.save(update_fields=["stripe_product_id"])
    fingerprint = _price_fingerprint(offer)
    if not offer.stripe_price_id or offer.stripe_price_fingerprint != fingerprint:
        with call_recorded(
            practice_id=offer.practice_id,
            provider=CallProvider.STRIPE,
            operation="price.create",
            subject=offer,
        ):
            offer.stripe_price_id = stripe_api.price_create(
                account.secret_key,
                product_id=offer.stripe_product_id,
                amount_minor=offer.amount_minor,
                currency=offer.currency,
                monthly=offer.is_subscription,
                idempotency_key=f"price:{offer.public_id}:{fingerprint}:{account.account_id}",
            )
        offer.stripe_price_fingerprint = fingerprint
        offer.save(update_fields=["stripe_price_id", "stripe_price_fingerprint"])
    return offer


def offer_purchase_check(*, offer: Offer, email: str) -> None:
    """Refuse what this buyer may not buy, with the reason and its code (`offer_refusal`)."""
    refusal = offer_refusal(offer, email=email)
    if refusal is not None:
        raise ValidationError(refusal.message, code=refusal.code)


def coach_for_purchase(practice: Practice, offer: Offer) -> User:
    """Who looks after what was bought: the offer's coach, or the practice's owner if
    that coach has left (or become an assistant) since the buyer opened the checkout.
    The money is taken either way, so the records must exist with someone to see them."""
    if coaches_here(practice, offer.coach):
        return offer.coach
    return practice_owner(practice) or offer.coach
