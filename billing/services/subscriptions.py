"""Monthly packages after checkout: each paid month's credits, dunning, and the end.

The package's state follows the newest subscription or invoice event applied
(`subscription_watermark`), whatever order they are processed in; ended is final.
Credits are settled from that state, as refunds are settled from totals: once the
package has ended its balance is brought to nothing, whenever a month's grant arrives
(an `invoice.paid` processed after the `customer.subscription.deleted` Stripe sent
later), so every order of the same events ends with the same balance.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum
from django.utils import timezone

from coachhub.audit import audit_record
from engagements.models import EngagementStatus
from sessions_app.ledger import credit_balance, credit_entry_add
from sessions_app.models import CreditEntry, CreditKind, Session, SessionStatus
from sessions_app.services import session_cancel_as_package_ended

from ..models import Purchase, SubscriptionState
from .purchases import payment_record
from .refunds import refund_revocation_settle


def subscription_state_apply(
    *, purchase: Purchase, status: str, cancel_at_period_end: bool | None, event_created: int
) -> None:
    """Apply what a subscription or invoice event says about the package's state,
    unless a newer event already did (`subscription_watermark`): the state follows
    the latest event, whatever order they are processed in. Ended is final.

    `cancel_at_period_end` None (an invoice) keeps what the subscription said.
    """
    if purchase.subscription_state == SubscriptionState.ENDED:
        return
    if event_created < purchase.subscription_watermark:
        return
    purchase.subscription_watermark = event_created
    cancelling = (
        purchase.subscription_state == SubscriptionState.CANCELLING
        if cancel_at_period_end is None
        else cancel_at_period_end
    )
    if status in ("canceled", "incomplete_expired"):
        state = SubscriptionState.ENDED
    elif status == "incomplete":  # the first payment has not gone through (3-D Secure, say)
        state = SubscriptionState.INCOMPLETE
    elif status in ("past_due", "unpaid"):
        state = SubscriptionState.PAST_DUE
    elif cancelling:
        state = SubscriptionState.CANCELLING
    else:
        state = SubscriptionState.ACTIVE
    changed = state != purchase.subscription_state
    purchase.subscription_state = state
    purchase.save(update_fields=["subscription_state", "subscription_watermark"])
    if changed and state == SubscriptionState.PAST_DUE:
        audit_record(
            practice=purchase.practice, actor=None, action="subscription.past_due", obj=purchase
        )
    if state == SubscriptionState.ENDED:
        subscription_end(purchase=purchase)


def subscription_end(*, purchase: Purchase, now: dt.datetime | None = None) -> None:
    """The package is over: future sessions are cancelled, unused credits expire."""
    now = now or timezone.now()
    engagement = purchase.engagement
    if engagement is None:
        return
    for session in Session.objects.filter(
        practice_id=purchase.practice_id,
        engagement=engagement,
        status__in=[SessionStatus.SCHEDULED, SessionStatus.TO_SCHEDULE],
    ).exclude(starts_at__lte=now):
        session_cancel_as_package_ended(session=session, now=now)
    subscription_expiry_settle(purchase=purchase)
    if engagement.status not in (EngagementStatus.COMPLETED, EngagementStatus.CANCELLED):
        engagement.status = EngagementStatus.COMPLETED
        engagement.save(update_fields=["status"])
    audit_record(practice=purchase.practice, actor=None, action="subscription.end", obj=purchase)


def subscription_expiry_settle(*, purchase: Purchase) -> int:
    """An ended package keeps no credits: expire what is unused; returns the credits expired.

    Called at the end and after every grant, so a month paid before the end but processed
    after it is granted and then expired. Each expiry is keyed on the credits the
    engagement had been given in all (grants and restores) when it was written: a replay
    finds the balance already at nothing, and a later grant gets a key of its own.
    """
    engagement = purchase.engagement
    if engagement is None or purchase.subscription_state != SubscriptionState.ENDED:
        return 0
    balance = credit_balance(engagement)
    if balance <= 0:
        return 0
    credited = CreditEntry.objects.filter(
        practice_id=engagement.practice_id, engagement=engagement, amount__gt=0
    ).aggregate(total=Sum("amount"))["total"]
    subscription = purchase.stripe_subscription_id or purchase.pk
    credit_entry_add(
        engagement=engagement,
        kind=CreditKind.EXPIRE,
        amount=-balance,
        effect_key=f"expire:subscription:{subscription}:{credited}",
        purchase_id=purchase.pk,
        note="Subscription ended",
    )
    return balance


def invoice_paid_apply(
    *,
    purchase: Purchase,
    invoice_id: str,
    amount_paid: int,
    event_created: int,
    payment_intent_id: str = "",
    charge_id: str = "",
    paid_at: dt.datetime | None = None,
) -> None:
    """A month paid: its sessions are granted (once per invoice) and the package is current
    — or, if it has already ended, granted and expired. The payment counts in the month
    Stripe took the money (`paid_at`, else the event's time)."""
    if paid_at is None:
        paid_at = (
            dt.datetime.fromtimestamp(event_created, tz=dt.UTC) if event_created else timezone.now()
        )
    payment_record(
        purchase=purchase,
        stripe_id=invoice_id,
        amount=amount_paid,
        payment_intent_id=payment_intent_id,
        charge_id=charge_id,
        paid_at=paid_at,
    )
    if purchase.engagement is not None:
        credit_entry_add(
            engagement=purchase.engagement,
            kind=CreditKind.GRANT,
            amount=purchase.offer.credits_per_period,
            effect_key=f"grant:invoice:{invoice_id}",
            purchase_id=purchase.pk,
            note="Monthly allowance",
        )
        refund_revocation_settle(purchase=purchase)
        subscription_expiry_settle(purchase=purchase)
    subscription_state_apply(
        purchase=purchase, status="active", cancel_at_period_end=None, event_created=event_created
    )


def invoice_failed_apply(*, purchase: Purchase, invoice_id: str, event_created: int) -> None:
    """The month's payment failed: the package is past due (dunning) until one succeeds."""
    subscription_state_apply(
        purchase=purchase, status="past_due", cancel_at_period_end=None, event_created=event_created
    )
