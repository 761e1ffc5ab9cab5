"""Reads for billing."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from coachhub.models import Membership

from .models import Purchase, SubscriptionState


def purchases_needing_attention(membership: Membership) -> QuerySet[Purchase]:
    """Packages whose payment failed (dunning) and disputed payments, for the dashboard.

    Coaches see their own clients' purchases; owners and assistants see all.
    """
    purchases = Purchase.objects.filter(practice=membership.practice).filter(
        Q(subscription_state=SubscriptionState.PAST_DUE) | Q(disputed=True)
    )
    if not membership.sees_all_clients:
        purchases = purchases.filter(offer__coach_id=membership.user_id)
    return purchases.select_related("client", "offer", "engagement").order_by("-paid_at")
