"""Reads for sessions."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import Http404

from coachhub.models import Membership

from .models import Session, SessionStatus


def sessions_visible_to(membership: Membership) -> QuerySet[Session]:
    sessions = Session.objects.filter(practice=membership.practice)
    if membership.sees_all_clients:
        return sessions
    return sessions.filter(coach_id=membership.user_id)


def upcoming_sessions(
    membership: Membership, *, now: dt.datetime, limit: int = 20
) -> list[Session]:
    return list(
        sessions_visible_to(membership)
        .filter(status=SessionStatus.SCHEDULED, starts_at__gte=now)
        .select_related("client", "coach", "engagement")
        .order_by("starts_at")[:limit]
    )


def session_get_for_member(membership: Membership, public_id) -> Session:
    try:
        return (
            sessions_visible_to(membership)
            .select_related(
                "client", "coach", "engagement", "collection", "seat__contract__organization"
            )
            .get(public_id=public_id)
        )
    except (Session.DoesNotExist, ValueError):
        raise Http404("No session found.") from None
