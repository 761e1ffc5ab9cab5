"""Companies, their seat contracts, and clients put on a seat (owners only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.audit import audit_record, model_update
from coachhub.models import Practice, User
from coachhub.permissions import require
from coachhub.services import coach_must_coach_here
from coachhub.tenancy import membership_of

from ..models import Client, Contract, Organization, SeatAssignment
from ..selectors import open_seat_of
from .clients import client_update


def organization_create(*, practice: Practice, actor: User, **fields: Any) -> Organization:
    require(membership_of(practice, actor), "companies.manage")
    organization = Organization(practice=practice, **fields)
    organization.full_clean()
    organization.save()
    audit_record(practice=practice, actor=actor, action="organization.create", obj=organization)
    return organization


def organization_update(
    *, organization: Organization, actor: User, data: dict[str, Any]
) -> Organization:
    require(membership_of(organization.practice, actor), "companies.manage")
    model_update(
        instance=organization,
        data=data,
        fields=["name", "billing_email", "notes"],
        actor=actor,
        action="organization.update",
    )
    return organization


CONTRACT_FIELDS = [
    "title",
    "starts_on",
    "ends_on",
    "seats",
    "sessions_per_seat_per_month",
    "session_minutes",
    "price_per_seat_month",
    "first_month_cutoff_day",
    "first_month_credit",
]


def contract_create(
    *, practice: Practice, actor: User, organization: Organization, **fields: Any
) -> Contract:
    require(membership_of(practice, actor), "companies.manage")
    if organization.practice_id != practice.pk:
        raise ValidationError({"organization": "Choose a company of this practice."})
    contract = Contract(practice=practice, organization=organization, **fields)
    contract.full_clean()
    contract.save()
    audit_record(practice=practice, actor=actor, action="contract.create", obj=contract)
    return contract


def contract_update(*, contract: Contract, actor: User, data: dict[str, Any]) -> Contract:
    require(membership_of(contract.practice, actor), "companies.manage")
    model_update(
        instance=contract, data=data, fields=CONTRACT_FIELDS, actor=actor, action="contract.update"
    )
    return contract


@transaction.atomic
def seat_assign(
    *,
    practice: Practice,
    actor: User,
    contract: Contract,
    client: Client,
    coach: User,
    coach_chosen_at: dt.datetime | None = None,
) -> SeatAssignment:
    """Put a client on a contract seat with the coach they chose."""
    require(membership_of(practice, actor), "companies.manage")
    coach_must_coach_here(practice, coach)
    if contract.practice_id != practice.pk or client.practice_id != practice.pk:
        raise ValidationError("Contract and client must belong to this practice.")
    # Lock the contract so two assignments cannot both take the last seat.
    contract = Contract.objects.select_for_update().get(pk=contract.pk)
    taken = SeatAssignment.objects.filter(contract=contract, ended_on__isnull=True).count()
    if taken >= contract.seats:
        raise ValidationError(f"All {contract.seats} seats of this contract are taken.")
    if open_seat_of(client) is not None:
        raise ValidationError({"client": f"{client.name} already has a seat."})
    chosen = coach_chosen_at or timezone.now()
    if not contract.covers(chosen.astimezone(practice.zone).date()):
        raise ValidationError(
            {"coach_chosen_at": "The contract does not run on that date; check its dates."}
        )
    seat = SeatAssignment.objects.create(
        practice=practice, contract=contract, client=client, coach_chosen_at=chosen
    )
    client_update(
        client=client, actor=actor, data={"coach": coach, "organization": contract.organization}
    )
    audit_record(practice=practice, actor=actor, action="seat.assign", obj=seat)
    return seat
