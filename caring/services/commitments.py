"""Commitments (action items): made in a session, done by the client in the portal or by
the coach, flagged once when their due date passes in the practice's zone, and the
client reminded once at the practice's chosen time."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.audit import audit_batch, audit_record
from coachhub.models import Membership, Practice
from coachhub.permissions import require
from engagements.models import Client
from sessions_app.models import Session

from ..emails import commitment_reminder_send
from ..models import Commitment, CommitmentOwner, CommitmentStatus


def commitment_create(
    *, session: Session, membership: Membership, text: str, owner: str, due_on: dt.date
) -> Commitment:
    """An action item agreed in this session, for the client (or the coach) by a date."""
    require(membership, "engagements.change")
    text = (text or "").strip()
    if not text:
        raise ValidationError("Say what was committed to.")
    if owner not in CommitmentOwner.values:
        raise ValidationError("Choose who does it: the client or the coach.")
    commitment = Commitment(
        practice_id=session.practice_id,
        engagement_id=session.engagement_id,
        session=session,
        client_id=session.client_id or session.engagement.client_id,
        text=text,
        owner=owner,
        due_on=due_on,
        created_by=membership.user,
    )
    commitment.full_clean(exclude=["practice", "engagement", "session", "client", "created_by"])
    with transaction.atomic(durable=True):
        commitment.save(force_insert=True)
        audit_record(
            practice=session.practice,
            actor=membership.user,
            action="commitment.created",
            obj=commitment,
            due_on=due_on,
            owner=owner,
        )
    return commitment


def _status_set(commitment: Commitment, *, done: bool, actor, by: str) -> Commitment:
    with transaction.atomic(durable=True):
        commitment = Commitment.objects.select_for_update(of=("self",)).get(pk=commitment.pk)
        wanted = CommitmentStatus.DONE if done else CommitmentStatus.OPEN
        if commitment.status == wanted:
            return commitment
        commitment.status = wanted
        commitment.done_at = timezone.now() if done else None
        commitment.save(update_fields=["status", "done_at"])
        audit_record(
            practice=commitment.practice,
            actor=actor,
            action="commitment.done" if done else "commitment.reopened",
            obj=commitment,
            by=by,
        )
    return commitment


def commitment_done_by_client(*, commitment: Commitment, client: Client) -> Commitment:
    """The client marks their commitment done in the portal."""
    if commitment.owner != CommitmentOwner.CLIENT:
        raise ValidationError("Your coach marks this one done.")
    return _status_set(commitment, done=True, actor=client.user, by="client")


def commitment_status_set(
    *, commitment: Commitment, membership: Membership, done: bool
) -> Commitment:
    """The coach marks a commitment done, or open again (a missed flag stays as history)."""
    require(membership, "engagements.change")
    return _status_set(commitment, done=done, actor=membership.user, by="coach")


def commitments_flag_missed(*, practice: Practice, now: dt.datetime) -> int:
    """Flag the open commitments whose due date has passed in the practice's zone, each
    once (a conditional update: a second run finds nothing to flag)."""
    today = now.astimezone(practice.zone).date()
    missed = Commitment.objects.filter(
        practice=practice, status=CommitmentStatus.OPEN, missed_at__isnull=True, due_on__lt=today
    )
    with transaction.atomic(durable=True), audit_batch():
        ids = list(missed.select_for_update(of=("self",)).values_list("pk", flat=True))
        flagged = Commitment.objects.filter(pk__in=ids, missed_at__isnull=True).update(
            missed_at=now
        )
        for pk in ids:
            audit_record(
                practice=practice,
                actor=None,
                action="commitment.missed",
                obj=Commitment(pk=pk),
            )
    return flagged


def reminder_time_reached(practice: Practice, *, now: dt.datetime) -> bool:
    return now.astimezone(practice.zone).time() >= practice.commitment_reminder_time


def commitment_reminders_claim(*, practice: Practice, now: dt.datetime) -> int:
    """Once the practice's reminder time has come today, claim each missed client-owned
    commitment not reminded yet and e-mail each client theirs, after the commit; returns
    how many clients. A commitment is claimed once, so never in two reminders."""
    if not reminder_time_reached(practice, now=now):
        return 0
    due = Commitment.objects.filter(
        practice=practice,
        status=CommitmentStatus.OPEN,
        owner=CommitmentOwner.CLIENT,
        missed_at__isnull=False,
        reminded_at__isnull=True,
        client__isnull=False,
    )
    by_client: dict[int, list[int]] = defaultdict(list)
    with transaction.atomic(durable=True):
        rows = list(due.select_for_update(of=("self",)).values_list("pk", "client_id"))
        Commitment.objects.filter(pk__in=[pk for pk, _ in rows]).update(reminded_at=now)
        for pk, client_id in rows:
            by_client[client_id].append(pk)
        for client_id, ids in by_client.items():
            commitment_reminder_send.delay_on_commit(
                practice_id=practice.pk, client_id=client_id, commitment_ids=ids
            )
    return len(by_client)
