"""Money paid back and payments disputed: the purchase's record, and the credits revoked.

Credits revoked follow the totals (granted × share refunded, never more than unused),
so the ledger ends at the same balance in any order of refunds and grants.
"""

from __future__ import annotations

from django.db.models import Sum

from coachhub.audit import audit_record
from coachhub.money import money_shown
from sessions_app.ledger import credit_balance, credit_entry_add
from sessions_app.models import CreditKind

from ..models import Payment, Purchase, PurchaseStatus
from ..selectors import credits_granted, credits_revoked


def refund_apply(*, purchase: Purchase, amount_refunded: int, charge_id: str) -> int:
    """Record money paid back; returns the credits revoked because of it.

    Stripe reports a charge's cumulative `amount_refunded`; only an increase over
    what we recorded for that charge is new (a late, older event changes nothing).
    """
    refunds = dict(purchase.refunds_by_charge)
    if amount_refunded <= refunds.get(charge_id, 0):
        return 0
    refunds[charge_id] = amount_refunded
    purchase.refunds_by_charge = refunds
    purchase.amount_refunded = sum(refunds.values())
    paid = _amount_paid(purchase)
    purchase.status = (
        PurchaseStatus.REFUNDED
        if paid and purchase.amount_refunded >= paid
        else PurchaseStatus.PARTIALLY_REFUNDED
    )
    purchase.save(update_fields=["refunds_by_charge", "amount_refunded", "status"])
    revoked = refund_revocation_settle(purchase=purchase)
    audit_record(
        practice=purchase.practice,
        actor=None,
        action="purchase.refund",
        obj=purchase,
        amount_refunded=purchase.amount_refunded,
        credits_revoked=revoked,
    )
    return revoked


def _amount_paid(purchase: Purchase) -> int:
    total = Payment.objects.filter(practice_id=purchase.practice_id, purchase=purchase).aggregate(
        total=Sum("amount")
    )["total"]
    return total or purchase.amount_total


def refund_revocation_settle(*, purchase: Purchase) -> int:
    """Bring the credits revoked for refunds to what the totals call for.

    The target is a function of totals only — credits granted × share of the money
    refunded (rounded up), never more than were unused — so whichever order the
    refund and the grants are processed in, the ledger ends at the same balance.
    """
    engagement = purchase.engagement
    if engagement is None or not purchase.amount_refunded:
        return 0
    granted = credits_granted(purchase)
    paid = _amount_paid(purchase)
    if purchase.status == PurchaseStatus.REFUNDED or not paid:
        proportional = granted
    else:
        proportional = -(-granted * purchase.amount_refunded // paid)
    revoked_so_far = credits_revoked(purchase)
    unused = max(credit_balance(engagement) + revoked_so_far, 0)
    target = min(proportional, unused)
    step = target - revoked_so_far
    if step == 0:
        return 0
    credit_entry_add(
        engagement=engagement,
        kind=CreditKind.REVOKE,
        amount=-step,
        effect_key=f"revoke:purchase:{purchase.pk}:{purchase.amount_refunded}:{granted}:{target}",
        purchase_id=purchase.pk,
        note=f"Refunded {money_shown(purchase.amount_refunded, purchase.currency)}",
    )
    return step


def dispute_apply(*, purchase: Purchase, reason: str) -> None:
    if purchase.disputed:
        return
    purchase.disputed, purchase.dispute_reason = True, reason[:100]
    purchase.save(update_fields=["disputed", "dispute_reason"])
    audit_record(
        practice=purchase.practice,
        actor=None,
        action="purchase.dispute",
        obj=purchase,
        reason=reason,
    )
