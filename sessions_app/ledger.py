"""The append-only credit ledger: what a session uses up when it is paid with a credit.

Billing grants credits (a purchase, each paid month) and takes them back (a refund, a
package's end); a session consumes one when booked and restores it on a timely cancel.

A balance is the sum of an engagement's entries, never a counter. Each write names
its effect (`effect_key`, unique per practice), so replaying the event or request
behind it changes nothing. The engagement row is locked while a balance is checked,
so two bookings cannot both spend the last credit.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum

from engagements.models import OPEN_ENGAGEMENT_STATUSES, Client, Engagement, EngagementKind

from .models import CreditEntry, CreditKind, Session


def credit_balance(engagement: Engagement) -> int:
    total = CreditEntry.objects.filter(
        practice_id=engagement.practice_id, engagement=engagement
    ).aggregate(total=Sum("amount"))["total"]
    return total or 0


def engagement_with_credit(*, client: Client, coach_id: int) -> Engagement | None:
    """The client's open per-session engagement with this coach that has credits left."""
    candidates = (
        CreditEntry.objects.filter(
            practice_id=client.practice_id,
            client=client,
            engagement__coach_id=coach_id,
            engagement__kind=EngagementKind.PER_SESSION,
            engagement__status__in=OPEN_ENGAGEMENT_STATUSES,
        )
        .values("engagement_id")
        .annotate(balance=Sum("amount"))
        .filter(balance__gt=0)
        .order_by("engagement_id")
    )
    first = candidates.first()
    if first is None:
        return None
    return Engagement.objects.select_related("coach", "client").get(pk=first["engagement_id"])


def credit_entry_add(
    *,
    engagement: Engagement,
    kind: str,
    amount: int,
    effect_key: str,
    purchase_id: int | None = None,
    session: Session | None = None,
    note: str = "",
    override_reason: str = "",
) -> CreditEntry | None:
    """Append one entry; None when this effect was already recorded.

    A debit that would take the balance below zero is refused unless an explicit
    `override_reason` is given (recorded on the entry). Only debits lock the
    engagement: an addition cannot overdraw, so it is a single keyed INSERT.
    """
    if amount == 0:
        return None
    entry = CreditEntry(
        practice_id=engagement.practice_id,
        client_id=engagement.client_id,
        engagement=engagement,
        purchase_id=purchase_id,
        session=session,
        kind=kind,
        amount=amount,
        effect_key=effect_key,
        note=note[:255],
        override_reason=override_reason.strip()[:255],
    )
    if amount > 0:
        return _insert_once(entry)
    with transaction.atomic():
        Engagement.objects.select_for_update(of=("self",)).filter(pk=engagement.pk).first()
        if CreditEntry.objects.filter(
            practice_id=engagement.practice_id, effect_key=effect_key
        ).exists():
            return None  # a replay: checked before the balance, which may have moved since
        if not override_reason.strip():
            balance = credit_balance(engagement)
            if balance + amount < 0:
                raise ValidationError(
                    f"Not enough session credits: {balance} left, {-amount} needed.",
                    code="no_credit",
                )
        return _insert_once(entry)


def _insert_once(entry: CreditEntry) -> CreditEntry | None:
    """Save the entry unless its effect key is already taken (then None)."""
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        return None
    return entry


def credit_consume_for_session(
    session: Session, *, override_reason: str = ""
) -> CreditEntry | None:
    return credit_entry_add(
        engagement=session.engagement,
        kind=CreditKind.CONSUME,
        amount=-1,
        effect_key=f"consume:session:{session.pk}",
        session=session,
        note=f"Session {session.public_id}",
        override_reason=override_reason,
    )


def credit_restore_for_session(session: Session) -> CreditEntry | None:
    """A timely cancel gives the credit back (only if one was taken)."""
    consumed = CreditEntry.objects.filter(
        practice_id=session.practice_id,
        effect_key=f"consume:session:{session.pk}",
    ).exists()
    if not consumed:
        return None
    return credit_entry_add(
        engagement=session.engagement,
        kind=CreditKind.RESTORE,
        amount=1,
        effect_key=f"restore:session:{session.pk}",
        session=session,
        note="Cancelled in time",
    )
