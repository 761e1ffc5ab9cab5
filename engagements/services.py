"""Writes for clients, companies, contracts, seats, engagements and collections.

Every function takes the practice and the acting user explicitly, validates,
saves, writes an audit entry, and keeps its checklist steps truthful.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.audit import audit_record, model_update
from coachhub.models import Membership, Practice, User
from coachhub.permissions import require
from coachhub.services import practice_create
from coachhub.tenancy import coaches_here, membership_of, practice_scope

from .checklists import CHECKLISTS, StepOutcome
from .models import (
    ChecklistStep,
    Client,
    ClientStatus,
    Collection,
    CollectionKind,
    CollectionParticipant,
    CollectionResource,
    CollectionTemplate,
    Contract,
    Engagement,
    Organization,
    SeatAssignment,
    StepState,
)
from .participants import Participant
from .selectors import open_seat_of, seat_client_refusal

BUILTIN_TEMPLATES = [
    {
        "name": CollectionTemplate.COACHING,
        "kind": CollectionKind.ONE_TO_ONE,
        "agenda_items": [
            "Check-in: how are you arriving today?",
            "Review of commitments since last session",
            "Focus for today",
            "Exploration and options",
            "Commitments and next steps",
        ],
        "prep_questions": [
            "What would make this session most valuable for you?",
            "What has happened since we last spoke?",
            "Where did you get stuck on your commitments?",
        ],
    },
    {
        "name": CollectionTemplate.TEAM_WORKSHOP,
        "kind": CollectionKind.TEAM,
        "agenda_items": [
            "Welcome and objectives",
            "Core subject: input and discussion",
            "Exercise in small groups",
            "Shared reflections",
            "Action plan and follow-up",
        ],
        "prep_questions": [
            "What do you hope the team takes away from this workshop?",
            "What challenge related to the subject is most present for you?",
        ],
    },
]


def collection_templates_install(*, practice: Practice) -> None:
    """Give a practice the shipped templates (idempotent; edits are kept)."""
    existing = set(
        CollectionTemplate.objects.filter(practice=practice).values_list("name", flat=True)
    )
    CollectionTemplate.objects.bulk_create(
        [
            CollectionTemplate(practice=practice, is_builtin=True, **spec)
            for spec in BUILTIN_TEMPLATES
            if spec["name"] not in existing
        ]
    )


@transaction.atomic
def practice_set_up(*, owner: User, name: str, time_zone: str = "Europe/London") -> Practice:
    """A new practice ready to coach in: the practice, its owner and the shipped templates."""
    practice = practice_create(owner=owner, name=name, time_zone=time_zone)
    with practice_scope(practice):
        collection_templates_install(practice=practice)
    return practice


def _coach_must_be_member(practice: Practice, coach: User | None, field: str = "coach") -> None:
    if coach is None:
        return
    if not coaches_here(practice, coach):
        raise ValidationError({field: "Choose a coach (or owner) of this practice."})


# --- Clients -------------------------------------------------------------------
CLIENT_FIELDS = ["name", "email", "time_zone", "phone", "status", "tags", "organization", "coach"]


def _email_must_be_free(practice: Practice, email: str, *, except_pk: int | None = None) -> None:
    """The e-mail is a client's identity within a practice (purchases find clients by it)."""
    if Client.objects.filter(practice=practice, email=email).exclude(pk=except_pk).exists():
        raise ValidationError(
            {"email": "A client with this e-mail already exists in this practice."}
        )


def client_create(*, practice: Practice, actor: User, **fields: Any) -> Client:
    fields["email"] = (fields.get("email") or "").strip().lower()
    _email_must_be_free(practice, fields["email"])
    return _client_insert(practice=practice, actor=actor, fields=fields)


def _client_insert(*, practice: Practice, actor: User, fields: dict[str, Any]) -> Client:
    """Save a new client whose e-mail the caller has just found free."""
    _coach_must_be_member(practice, fields.get("coach"))
    organization = fields.get("organization")
    if organization is not None and organization.practice_id != practice.pk:
        raise ValidationError({"organization": "Choose a company of this practice."})
    client = Client(practice=practice, **fields)
    client.validate_for_save()
    client.save()
    audit_record(practice=practice, actor=actor, action="client.create", obj=client)
    return client


def client_update(*, client: Client, actor: User, data: dict[str, Any]) -> Client:
    if "coach" in data:
        _coach_must_be_member(client.practice, data["coach"])
    if "email" in data:
        data = {**data, "email": (data["email"] or "").strip().lower()}
        _email_must_be_free(client.practice, data["email"], except_pk=client.pk)
    model_update(
        instance=client, data=data, fields=CLIENT_FIELDS, actor=actor, action="client.update"
    )
    return client


def client_private_notes_update(*, client: Client, membership: Membership, notes: str) -> Client:
    require(membership, "clients.notes")
    client.private_notes = notes
    client.save(update_fields=["private_notes"])
    audit_record(practice=client.practice, actor=membership.user, action="client.notes", obj=client)
    return client


def clients_mark_alumni(*, practice: Practice, actor: User, clients: list[Client]) -> int:
    """Clients whose coaching is over (the admin's bulk action), each change audited."""
    marked = 0
    for client in clients:
        marked += bool(
            model_update(
                instance=client,
                data={"status": ClientStatus.ALUMNI},
                fields=["status"],
                actor=actor,
                action="client.update",
            )
        )
    return marked


def client_find_or_create(
    *, practice: Practice, actor: User, email: str, name: str = "", **defaults: Any
) -> tuple[Client, bool]:
    """The client with this e-mail in this practice, or a new one (e-mail is the identity)."""
    email = email.strip().lower()
    existing = Client.objects.filter(practice=practice, email=email).first()
    if existing:
        return existing, False
    fields = {"email": email, "name": name or email.split("@")[0], **defaults}
    return _client_insert(practice=practice, actor=actor, fields=fields), True


@dataclass(frozen=True)
class NewClient:
    """A client typed into a form: found by e-mail if the practice knows them, else created."""

    name: str
    email: str


def client_resolve(
    *, practice: Practice, actor: User | None, client: Client | NewClient, coach: User
) -> tuple[Client, bool]:
    """The client a set-up is for: the one chosen, or the one typed in (created if new)."""
    if isinstance(client, Client):
        return client, False
    return client_find_or_create(
        practice=practice, actor=actor, email=client.email, name=client.name, coach=coach
    )


def seat_client_refuse(*, client: Client | None, feature: str, client_is_new: bool = False) -> None:
    """Refuse a feature that does not apply to seat clients, with a clear reason.

    `client_is_new`: the client was created in this unit of work, so has no seat (no query).
    """
    if client is None or client_is_new:
        return
    if refusal := seat_client_refusal(client, feature=feature):
        raise ValidationError(refusal)


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
    _coach_must_be_member(practice, coach)
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


# --- Checklists ------------------------------------------------------------------
def checklist_seed(*, engagement: Engagement, outcomes: dict[str, StepOutcome]) -> None:
    """The kind's steps in one INSERT, each in the state the guided flow left it
    (a step the flow did not reach is pending)."""
    unknown = set(outcomes) - {key for key, _ in CHECKLISTS[engagement.kind]}
    if unknown:
        raise ValueError(f"{engagement.kind} has no checklist steps {sorted(unknown)}")
    steps = []
    for position, (key, label) in enumerate(CHECKLISTS[engagement.kind], start=1):
        state, reason = outcomes.get(key, (StepState.PENDING, ""))
        steps.append(
            ChecklistStep(
                practice_id=engagement.practice_id,
                engagement=engagement,
                key=key,
                label=label,
                position=position,
                state=state,
                reason=reason,
            )
        )
    ChecklistStep.objects.bulk_create(steps)


def checklist_mark(*, engagement: Engagement, key: str, state: str, reason: str = "") -> None:
    updated = ChecklistStep.objects.filter(
        practice_id=engagement.practice_id, engagement=engagement, key=key
    ).update(state=state, reason=reason, updated_at=timezone.now())
    if not updated:
        raise ValueError(f"{engagement.kind} has no checklist step {key!r}")


def checklist_step_set(
    *, engagement: Engagement, actor: User, key: str, state: str, reason: str = ""
) -> None:
    """A coach ticks off (or reopens) a step by hand."""
    if state not in StepState.values:
        raise ValidationError({"state": "Unknown step state."})
    if state == StepState.FAILED and not reason.strip():
        raise ValidationError({"reason": "Say why the step failed."})
    checklist_mark(engagement=engagement, key=key, state=state, reason=reason.strip())
    audit_record(
        practice=engagement.practice,
        actor=actor,
        action="checklist.set",
        obj=engagement,
        key=key,
        state=state,
    )


# --- Collections -----------------------------------------------------------------
def collection_create(
    *, engagement: Engagement, template: CollectionTemplate | None, title: str = ""
) -> Collection:
    kind = CollectionKind.TEAM if engagement.is_team else CollectionKind.ONE_TO_ONE
    collection = Collection.objects.create(
        practice_id=engagement.practice_id,
        engagement=engagement,
        kind=kind,
        title=title or engagement.title,
        template=template,
        agenda_items=list(template.agenda_items) if template else [],
        prep_questions=list(template.prep_questions) if template else [],
    )
    if engagement.client_id:  # a new collection has nobody in it yet
        CollectionParticipant.objects.create(
            practice_id=engagement.practice_id, collection=collection, client=engagement.client
        )
    return collection


def participants_link(*, collection: Collection, clients: list[Client]) -> int:
    existing = set(
        CollectionParticipant.objects.filter(
            practice_id=collection.practice_id, collection=collection
        ).values_list("client_id", flat=True)
    )
    new = [
        CollectionParticipant(
            practice_id=collection.practice_id, collection=collection, client=client
        )
        for client in clients
        if client.pk not in existing
    ]
    CollectionParticipant.objects.bulk_create(new)
    return len(new)


@transaction.atomic
def participants_add(
    *, collection: Collection, actor: User, participants: list[Participant]
) -> int:
    """Find or create each participant as a client and add them to the collection."""
    practice = collection.engagement.practice
    clients = [
        client_find_or_create(
            practice=practice,
            actor=actor,
            email=person.email,
            name=person.name,
            organization=collection.engagement.organization,
        )[0]
        for person in participants
    ]
    added = participants_link(collection=collection, clients=clients)
    if collection.engagement.is_team and clients:
        checklist_mark(engagement=collection.engagement, key="participants", state=StepState.DONE)
        checklist_mark(
            engagement=collection.engagement, key="participants_added", state=StepState.DONE
        )
    audit_record(
        practice=practice,
        actor=actor,
        action="collection.participants_add",
        obj=collection,
        added=added,
    )
    return added


def collection_update(*, collection: Collection, actor: User, data: dict[str, Any]) -> Collection:
    model_update(
        instance=collection,
        data=data,
        fields=["title", "agenda_items", "prep_questions"],
        actor=actor,
        action="collection.update",
    )
    return collection


def collection_resource_add(
    *, collection: Collection, actor: User, title: str, kind: str, url: str = "", body: str = ""
) -> CollectionResource:
    resource = CollectionResource(
        practice_id=collection.practice_id,
        collection=collection,
        title=title,
        kind=kind,
        url=url,
        body=body,
    )
    resource.full_clean()
    resource.save()
    audit_record(
        practice=collection.practice, actor=actor, action="collection.resource_add", obj=resource
    )
    return resource


# --- Engagements (the guided set-ups, which end in sessions, are in sessions_app) ------
def engagement_add(*, engagement: Engagement, actor: User | None) -> Engagement:
    """Save a new engagement a guided set-up has filled in (its coach must coach here)."""
    _coach_must_be_member(engagement.practice, engagement.coach)
    engagement.validate_for_save()
    engagement.save()
    audit_record(
        practice=engagement.practice,
        actor=actor,
        action="engagement.create",
        obj=engagement,
        kind=engagement.kind,
    )
    return engagement


def engagement_update(*, engagement: Engagement, actor: User, data: dict[str, Any]) -> Engagement:
    model_update(
        instance=engagement,
        data=data,
        fields=["title", "status", "aims", "core_subject", "ends_on", "send_platform_invite"],
        actor=actor,
        action="engagement.update",
    )
    return engagement
