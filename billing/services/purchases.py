"""The purchase pipeline (docs/product.md §3): a paid checkout becomes the coach's records.

purchase → client (found by e-mail or created) → engagement + collection from the offer
kind's set-up → credits in the ledger → the held slot confirmed (or the first session
waiting to be booked) → confirmation e-mail. Every step is keyed on a Stripe id or an
effect key, so an event processed twice, late or out of order ends in the same records.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from chat.services import slack_channel_plan
from coachhub.audit import audit_record
from coachhub.models import Practice, User
from engagements.models import Client, Collection, Engagement, EngagementStatus
from engagements.participants import Participant
from engagements.services import client_find_or_create, client_lead_activate, seat_client_refuse
from integrations.stripe.webhooks import PaidObject
from sessions_app.ledger import credit_consume_for_session, credit_entry_add
from sessions_app.models import BookingStatus, Consumption, CreditKind, SessionSource
from sessions_app.services import (
    booking_hold_confirm,
    engagement_create_monthly_package,
    engagement_create_per_session,
    engagement_create_team_workshop,
)

from ..emails import purchase_confirmation_send
from ..models import (
    Checkout,
    CheckoutStatus,
    Offer,
    OfferKind,
    Payment,
    Purchase,
    SubscriptionState,
)
from .offers import coach_for_purchase
from .refunds import refund_revocation_settle


class NotYetProcessable(Exception):
    """The event refers to something we have not heard of yet; retry later (with backoff)."""


def purchase_ensure(*, practice: Practice, paid: PaidObject) -> Purchase:
    """The Purchase for a paid checkout or subscription — created once, whichever event
    arrives first — with its client, engagement and collection."""
    checkout = (
        Checkout.objects.select_for_update(of=("self",))
        .select_related("offer__coach")  # a held booking, if any, is read when needed
        .filter(practice=practice, public_id=paid.checkout_public_id)
        .first()
    )
    if checkout is None:
        raise ValueError(f"No checkout {paid.checkout_public_id} in this practice.")
    purchase = _existing_purchase(practice, checkout, paid)
    if purchase is None:
        purchase = _purchase_create(practice, checkout, paid)
    else:
        purchase.checkout = checkout
        _fill_stripe_ids(purchase, paid)
    if checkout.status != CheckoutStatus.COMPLETE:
        checkout.status = CheckoutStatus.COMPLETE
        checkout.save(update_fields=["status"])
    return purchase


def _purchase_create(practice: Practice, checkout: Checkout, paid: PaidObject) -> Purchase:
    """The purchase with its client and engagement. The caller holds the checkout's
    row lock, so the purchase's other events wait and then find it; the unique
    constraints stay the last word (a violation fails the event, which is retried)."""
    offer = checkout.offer
    coach = coach_for_purchase(practice, offer)
    client, client_is_new = client_find_or_create(
        practice=practice,
        actor=None,
        email=checkout.email,
        name=checkout.name,
        time_zone=checkout.time_zone or practice.time_zone,
        coach=coach,
    )
    client_lead_activate(client=client, actor=None)  # paying makes a lead a client
    engagement, setup_refused = _purchase_setup(
        practice, offer, client, checkout, coach, client_is_new=client_is_new
    )
    purchase = Purchase(
        practice=practice,
        offer=offer,
        client=client,
        engagement=engagement,
        checkout=checkout,
        places=checkout.places,
        stripe_checkout_id=paid.checkout_stripe_id,
        stripe_subscription_id=paid.subscription_id,
        stripe_customer_id=paid.customer_id,
        stripe_payment_intent_id=paid.payment_intent_id,
        amount_total=paid.amount_total,
        currency=(paid.currency or offer.currency).upper(),
        paid_at=paid.paid_at or timezone.now(),
        subscription_state=SubscriptionState.ACTIVE if offer.is_subscription else "",
        setup_refused=setup_refused,
    )
    purchase.save()
    audit_record(practice=practice, actor=None, action="purchase.create", obj=purchase)
    if setup_refused:
        audit_record(
            practice=practice,
            actor=None,
            action="purchase.setup_refused",
            obj=purchase,
            reason=setup_refused,
        )
    if coach.pk != offer.coach_id:
        audit_record(
            practice=practice,
            actor=None,
            action="purchase.coach_left",
            obj=purchase,
            offer_coach=offer.coach.email,
            now_with=coach.email,
        )
    purchase_confirmation_send.delay_on_commit(practice_id=practice.pk, purchase_id=purchase.pk)
    return purchase


def _purchase_setup(
    practice: Practice,
    offer: Offer,
    client: Client,
    checkout: Checkout,
    coach: User,
    *,
    client_is_new: bool,
) -> tuple[Engagement | None, str]:
    """The engagement the purchase pays for, or None and the reason the rules refuse it
    (the buyer was given a company seat while paying, say). The payment is recorded
    either way; a refused set-up waits on the dashboard for the owner to refund it or
    arrange it by hand, instead of failing the event until it is given up.

    Each `engagement_create_*` is atomic (a savepoint here), so a refusal from inside
    one leaves none of its rows behind.
    """
    try:
        if not checkout.booking_id:
            seat_client_refuse(client=client, feature="offers", client_is_new=client_is_new)
        engagement = _engagement_for(
            practice, offer, client, checkout, coach, client_is_new=client_is_new
        )
    except ValidationError as refusal:
        return None, " ".join(refusal.messages)[:255]
    if engagement.status == EngagementStatus.PROPOSED:
        engagement.status = EngagementStatus.ACTIVE
        engagement.save(update_fields=["status"])
    return engagement, ""


def _engagement_for(
    practice: Practice,
    offer: Offer,
    client: Client,
    checkout: Checkout,
    coach: User,
    *,
    client_is_new: bool,
) -> Engagement:
    if checkout.booking_id:
        # Its session came from the booking link; the buyer was a lead until now, so
        # their Slack invite waited for this payment.
        engagement = checkout.booking.session.engagement
        collection = Collection.objects.filter(practice=practice, engagement=engagement).first()
        if collection is not None:
            slack_channel_plan(practice=practice, collection=collection)
        return engagement
    # The set-up's first session (or the workshop's) comes from this purchase; a
    # package's recurring sessions keep their own source.
    if offer.kind in (OfferKind.SINGLE_SESSION, OfferKind.SESSION_PACK):
        return engagement_create_per_session(
            practice=practice,
            actor=None,
            client=client,
            client_is_new=client_is_new,
            coach=coach,
            session_minutes=offer.session_minutes,
            session_source=SessionSource.STRIPE_PURCHASE,
        )
    if offer.kind == OfferKind.MONTHLY_PACKAGE:
        return engagement_create_monthly_package(
            practice=practice,
            actor=None,
            client=client,
            client_is_new=client_is_new,
            coach=coach,
            hours_per_month=offer.hours_per_month,
            session_minutes=offer.session_minutes,
            months=offer.months,
        )
    return engagement_create_team_workshop(
        practice=practice,
        actor=None,
        coach=coach,
        title=offer.name,
        core_subject=offer.description or offer.name,
        participants=[Participant(name=client.name, email=client.email)],
        session_minutes=offer.session_minutes,
        session_source=SessionSource.STRIPE_PURCHASE,
    )


def _existing_purchase(practice: Practice, checkout: Checkout, paid: PaidObject) -> Purchase | None:
    """The purchase made through this checkout, or (a subscription's events) the one
    that holds the subscription."""
    made_here = Q(checkout=checkout)
    if paid.subscription_id:
        made_here |= Q(stripe_subscription_id=paid.subscription_id)
    return (
        Purchase.objects.select_for_update(of=("self",))
        .select_related("engagement", "offer")
        .filter(made_here, practice=practice)
        .first()
    )


def _fill_stripe_ids(purchase: Purchase, paid: PaidObject) -> None:
    changed = []
    for field, value in (
        ("stripe_checkout_id", paid.checkout_stripe_id),
        ("stripe_subscription_id", paid.subscription_id),
        ("stripe_customer_id", paid.customer_id),
        ("stripe_payment_intent_id", paid.payment_intent_id),
    ):
        if value and not getattr(purchase, field):
            setattr(purchase, field, value)
            changed.append(field)
    if paid.amount_total and not purchase.amount_total:
        purchase.amount_total = paid.amount_total
        changed.append("amount_total")
    if changed:
        purchase.save(update_fields=changed)
    purchase_paid_at_settle(purchase=purchase, at=paid.paid_at)


def purchase_paid_at_settle(*, purchase: Purchase, at: dt.datetime | None) -> None:
    """A purchase was paid at the earliest time any of its Stripe objects gives (the
    checkout's, the subscription's start, its first invoice's payment), whichever event
    is processed first — never when our worker happened to run."""
    if at is not None and at < purchase.paid_at:
        purchase.paid_at = at
        purchase.save(update_fields=["paid_at"])


def purchase_fulfil_checkout(*, purchase: Purchase, charge_id: str = "") -> None:
    """What a one-off payment buys: its credits, then the held slot (or the first session)."""
    offer, engagement = purchase.offer, purchase.engagement
    if offer.is_subscription:
        return  # monthly payments and credits come with each paid invoice
    payment_record(
        purchase=purchase,
        stripe_id=purchase.stripe_checkout_id or f"purchase:{purchase.pk}",
        amount=purchase.amount_total,
        paid_at=purchase.paid_at,
        payment_intent_id=purchase.stripe_payment_intent_id,
        charge_id=charge_id,
    )
    if engagement is None:
        return  # nothing set up (purchase.setup_refused): the money is recorded, no credits
    credit_entry_add(
        engagement=engagement,
        kind=CreditKind.GRANT,
        amount=offer.credits_per_period,
        effect_key=f"grant:purchase:{purchase.pk}",
        purchase_id=purchase.pk,
        note=f"{offer.name}",
    )
    refund_revocation_settle(purchase=purchase)
    booking = purchase.checkout.booking if purchase.checkout_id else None
    if booking is None:
        return
    session = booking.session
    if booking.status == BookingStatus.HELD:
        try:
            booking_hold_confirm(booking=booking)
        except ValidationError:
            # The hold lapsed and someone else took the time: the client keeps the
            # credit and books another time; the coach sees it on the engagement.
            audit_record(
                practice=purchase.practice,
                actor=None,
                action="purchase.hold_lost",
                obj=purchase,
            )
            return
        booking.refresh_from_db()
    if booking.status == BookingStatus.CONFIRMED:
        if session.consumes != Consumption.CREDIT:
            session.consumes = Consumption.CREDIT
            session.save(update_fields=["consumes"])
        credit_consume_for_session(session)


def payment_record(
    *,
    purchase: Purchase,
    stripe_id: str,
    amount: int,
    paid_at: dt.datetime,
    payment_intent_id: str = "",
    charge_id: str = "",
) -> None:
    """Money received, once per Stripe object: the unique (practice, stripe_id) turns
    a replay into nothing (INSERT … ON CONFLICT DO NOTHING, one statement)."""
    Payment.objects.bulk_create(
        [
            Payment(
                practice_id=purchase.practice_id,
                purchase=purchase,
                stripe_id=stripe_id,
                payment_intent_id=payment_intent_id,
                charge_id=charge_id,
                amount=amount,
                currency=purchase.currency,
                paid_at=paid_at,
            )
        ],
        ignore_conflicts=True,
    )
