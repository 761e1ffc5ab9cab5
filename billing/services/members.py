"""A member leaves the practice: what sold their time stops, and what they leave behind
is listed. It sits in billing, the highest domain layer, because it closes offers as
well as booking links (sessions) and the membership (core)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from coachhub.audit import model_update
from coachhub.models import Membership, Practice, User
from coachhub.permissions import require
from coachhub.services import membership_remove
from coachhub.tenancy import membership_of
from sessions_app.models import BookingLink, Session
from sessions_app.selectors import future_sessions_of
from sessions_app.services import booking_links_close_for_coach, coach_feeds_close

from ..models import Offer


@dataclass(frozen=True)
class MemberRemoval:
    """What removing a member changed, and the sessions the owner must reassign."""

    links_closed: list[BookingLink]
    offers_withdrawn: list[Offer]
    sessions_to_reassign: list[Session]


def offers_withdraw_for_coach(*, practice: Practice, actor: User, coach: User) -> list[Offer]:
    """Take every offer this coach sells off sale (each change audited)."""
    require(membership_of(practice, actor), "members.manage")
    offers = list(Offer.objects.filter(practice=practice, coach=coach, is_active=True))
    for offer in offers:
        model_update(
            instance=offer,
            data={"is_active": False},
            fields=["is_active"],
            actor=actor,
            action="offer.withdraw",
            practice=practice,
        )
    return offers


@transaction.atomic(durable=True)
def member_remove(
    *, practice: Practice, actor: User, membership: Membership, now: dt.datetime | None = None
) -> MemberRemoval:
    """Remove a member: their booking links and offers stop taking bookings and purchases,
    and their sessions still to come are returned for the owner to give to another coach."""
    require(membership_of(practice, actor), "members.manage")
    now = now or timezone.now()
    coach = membership.user
    links = booking_links_close_for_coach(practice=practice, actor=actor, coach=coach)
    offers = offers_withdraw_for_coach(practice=practice, actor=actor, coach=coach)
    coach_feeds_close(practice=practice, actor=actor, coach=coach)
    membership_remove(practice=practice, actor=actor, membership=membership)
    return MemberRemoval(
        links_closed=links,
        offers_withdrawn=offers,
        sessions_to_reassign=list(future_sessions_of(practice, coach.pk, now=now)),
    )
