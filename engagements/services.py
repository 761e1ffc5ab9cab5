"""Writes for clients, companies, contracts, seats, engagements and collections.

Every function takes the practice and the acting user explicitly, validates,
saves, writes an audit entry, and keeps its checklist steps truthful.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from coachhub.models import Membership, Practice, User
from coachhub.services import audit_record, model_update
from coachhub.tenancy import coaches_here, membership_of

from .checklists import CHECKLISTS, SLACK_NOT_CONNECTED
from .models import (
    Cadence,
    ChecklistStep,
    Client,
    Collection,
    CollectionKind,
    CollectionParticipant,
    CollectionResource,
    CollectionTemplate,
    Contract,
    Engagement,
    EngagementKind,
    Funding,
    Organization,
    SeatAssignment,
    StepState,
)
from .participants import Participant
from .selectors import CREATED_WITHOUT_SEAT, open_seat_of

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

# Features that do not apply to seat clients (SPEC §2); refused server-side.
SEAT_RESTRICTED_FEATURES = {
    "offers": "offers",
    "payment_plans": "payment plans",
    "booking_links_in_messages": "direct booking links in messages",
    "review_requests": "review requests",
    "monthly_package": "paid monthly packages",
}


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
    client.__dict__[CREATED_WITHOUT_SEAT] = True
    audit_record(practice=practice, actor=actor, action="client.create", obj=client)
    return client


def client_update(*, client: Client, actor: User, data: dict[str, Any]) -> Client:
    if "coach" in data:
        _coach_must_be_member(client.practice, data["coach"])
    if "email" in data:
        data = {**data, "email": (data["email"] or "").strip().lower()}
        _email_must_be_free(client.practice, data["email"], except_pk=client.pk)
    client, changed = model_update(instance=client, data=data, fields=CLIENT_FIELDS)
    if changed:
        audit_record(
            practice=client.practice,
            actor=actor,
            action="client.update",
            obj=client,
            fields=",".join(changed),
        )
    return client


def client_private_notes_update(*, client: Client, membership: Membership, notes: str) -> Client:
    if not membership.can_read_private_notes:
        raise PermissionDenied("Assistants cannot read or write private notes.")
    client.private_notes = notes
    client.save(update_fields=["private_notes"])
    audit_record(practice=client.practice, actor=membership.user, action="client.notes", obj=client)
    return client


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


def seat_client_refuse(*, client: Client | None, feature: str) -> None:
    """Refuse a feature that does not apply to seat clients, with a clear reason."""
    if client is None:
        return
    seat = open_seat_of(client)
    if seat is not None:
        label = SEAT_RESTRICTED_FEATURES.get(feature, feature)
        raise ValidationError(
            f"{client.name} is on a company seat ({seat.contract.organization}); "
            f"{label} do not apply to seat clients — their sessions come from the "
            "contract's monthly allowance."
        )


# --- Companies, contracts, seats --------------------------------------------------
def _owner_only(practice: Practice, actor: User) -> None:
    membership = membership_of(practice, actor)
    if membership is None or not membership.can_manage_contracts:
        raise PermissionDenied("Only the practice owner manages companies and contracts.")


def organization_create(*, practice: Practice, actor: User, **fields: Any) -> Organization:
    _owner_only(practice, actor)
    organization = Organization(practice=practice, **fields)
    organization.full_clean()
    organization.save()
    audit_record(practice=practice, actor=actor, action="organization.create", obj=organization)
    return organization


def organization_update(
    *, organization: Organization, actor: User, data: dict[str, Any]
) -> Organization:
    _owner_only(organization.practice, actor)
    organization, changed = model_update(
        instance=organization, data=data, fields=["name", "billing_email", "notes"]
    )
    if changed:
        audit_record(
            practice=organization.practice,
            actor=actor,
            action="organization.update",
            obj=organization,
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
    _owner_only(practice, actor)
    if organization.practice_id != practice.pk:
        raise ValidationError({"organization": "Choose a company of this practice."})
    contract = Contract(practice=practice, organization=organization, **fields)
    contract.full_clean()
    contract.save()
    audit_record(practice=practice, actor=actor, action="contract.create", obj=contract)
    return contract


def contract_update(*, contract: Contract, actor: User, data: dict[str, Any]) -> Contract:
    _owner_only(contract.practice, actor)
    contract, changed = model_update(instance=contract, data=data, fields=CONTRACT_FIELDS)
    if changed:
        audit_record(
            practice=contract.practice, actor=actor, action="contract.update", obj=contract
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
    _owner_only(practice, actor)
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
    client.__dict__.pop(CREATED_WITHOUT_SEAT, None)
    client_update(
        client=client, actor=actor, data={"coach": coach, "organization": contract.organization}
    )
    audit_record(practice=practice, actor=actor, action="seat.assign", obj=seat)
    return seat


# --- Checklists ------------------------------------------------------------------
StepOutcome = tuple[str, str]  # (state, reason)


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


def _slack_step_outcomes(practice: Practice, keys: list[str]) -> dict[str, StepOutcome]:
    """Slack steps wait for the Slack task; without Slack they say so."""
    if practice.slack_connected:
        return {}
    return {key: (StepState.NOT_APPLICABLE, SLACK_NOT_CONNECTED) for key in keys}


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
    collection, changed = model_update(
        instance=collection, data=data, fields=["title", "agenda_items", "prep_questions"]
    )
    if changed:
        audit_record(
            practice=collection.practice, actor=actor, action="collection.update", obj=collection
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


# --- Engagements: the three guided flows --------------------------------------------
def _template(practice: Practice, name: str) -> CollectionTemplate | None:
    return CollectionTemplate.objects.filter(practice=practice, name=name).first()


def _engagement_save(engagement: Engagement, actor: User) -> Engagement:
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


@transaction.atomic
def engagement_create_per_session(
    *,
    practice: Practice,
    actor: User,
    client: Client,
    coach: User,
    session_minutes: int | None = None,
    first_session_at: dt.datetime | None = None,
    send_platform_invite: bool = True,
    aims: str = "",
    allowance_override_reason: str = "",
) -> Engagement:
    """One-off coaching: collection from “Coaching / Mentorship”, first session populated.

    A seat client's per-session coaching is funded by their seat, not by an offer.
    """
    from sessions_app.services import session_create

    seat = open_seat_of(client)
    engagement = _engagement_save(
        Engagement(
            practice=practice,
            kind=EngagementKind.PER_SESSION,
            title=f"Coaching with {client.name}",
            client=client,
            coach=coach,
            organization=seat.contract.organization if seat else client.organization,
            funding=Funding.SEAT if seat else Funding.PAID,
            session_minutes=session_minutes
            or (seat.contract.session_minutes if seat else practice.default_session_minutes),
            starts_on=timezone.now().astimezone(practice.zone).date(),
            send_platform_invite=send_platform_invite,
            aims=aims,
        ),
        actor,
    )
    collection = collection_create(
        engagement=engagement, template=_template(practice, CollectionTemplate.COACHING)
    )
    session = session_create(
        practice=practice,
        actor=actor,
        engagement=engagement,
        collection=collection,
        starts_at=first_session_at,
        minutes=engagement.session_minutes,
        allowance_override_reason=allowance_override_reason,
    )
    checklist_seed(
        engagement=engagement,
        outcomes={
            "client": (StepState.DONE, ""),
            **_slack_step_outcomes(practice, ["slack_invite"]),
            "collection": (StepState.DONE, ""),
            "first_session": (StepState.DONE, ""),
            "session_url": (StepState.DONE, f"Session page: {session.get_absolute_url()}"),
            "calendar_invite": (
                StepState.PENDING,
                "Sent once the session has a time and calendar invites are enabled.",
            )
            if send_platform_invite
            else (
                StepState.NOT_APPLICABLE,
                "The booking tool sends its own invite; CoachHub does not send one.",
            ),
        },
    )
    return engagement


def sessions_per_month(hours_per_month: Decimal, session_minutes: int) -> int:
    return int((Decimal(hours_per_month) * 60) // session_minutes)


@transaction.atomic
def engagement_create_monthly_package(
    *,
    practice: Practice,
    actor: User,
    client: Client,
    coach: User,
    hours_per_month: Decimal,
    cadence: str = Cadence.BIWEEKLY,
    session_minutes: int = 60,
    preferred_weekday: int | None = None,
    preferred_time: dt.time | None = None,
    starts_on: dt.date | None = None,
    months: int = 3,
    aims: str = "",
) -> Engagement:
    """A subscription package: cadence agreed, collection created, sessions generated."""
    from sessions_app.services import recurring_sessions_generate, recurring_summary

    seat_client_refuse(client=client, feature="monthly_package")
    if not 1 <= months <= 36:
        raise ValidationError({"months": "A package runs for 1 to 36 months."})
    if sessions_per_month(Decimal(hours_per_month), session_minutes) < 1:
        raise ValidationError(
            {"hours_per_month": "The monthly hours do not cover even one session of that length."}
        )
    starts_on = starts_on or timezone.now().astimezone(practice.zone).date()
    ends_on = _add_months(starts_on, months) - dt.timedelta(days=1)
    engagement = _engagement_save(
        Engagement(
            practice=practice,
            kind=EngagementKind.MONTHLY_PACKAGE,
            title=f"Monthly package — {client.name}",
            client=client,
            coach=coach,
            funding=Funding.PAID,
            organization=client.organization,
            hours_per_month=hours_per_month,
            cadence=cadence,
            session_minutes=session_minutes,
            preferred_weekday=preferred_weekday,
            preferred_time=preferred_time,
            starts_on=starts_on,
            ends_on=ends_on,
            aims=aims,
        ),
        actor,
    )
    agreed = preferred_weekday is not None and preferred_time is not None
    outcomes = {
        "client": (StepState.DONE, ""),
        "cadence": (StepState.DONE, "")
        if agreed
        else (
            StepState.PENDING,
            "Agree a day and time with the client to generate the sessions.",
        ),
        "collection": (StepState.DONE, ""),
        **_slack_step_outcomes(practice, ["slack_invite", "slack_channel"]),
    }
    collection_create(
        engagement=engagement, template=_template(practice, CollectionTemplate.COACHING)
    )
    if agreed:
        result = recurring_sessions_generate(engagement=engagement, actor=actor)
        outcomes["recurring_sessions"] = (
            StepState.DONE,
            recurring_summary(result, engagement.coach.time_zone),
        )
    checklist_seed(engagement=engagement, outcomes=outcomes)
    return engagement


def _add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, 1)


@transaction.atomic
def engagement_create_team_workshop(
    *,
    practice: Practice,
    actor: User,
    coach: User,
    title: str,
    core_subject: str,
    participants: list[Participant],
    organization: Organization | None = None,
    template: CollectionTemplate | None = None,
    agenda_items: list[str] | None = None,
    starts_at: dt.datetime | None = None,
    session_minutes: int = 120,
) -> Engagement:
    """A group session bought once: team collection, participants, the workshop session."""
    from sessions_app.services import session_create

    if organization is not None and organization.practice_id != practice.pk:
        raise ValidationError({"organization": "Choose a company of this practice."})
    if template is not None and template.practice_id != practice.pk:
        raise ValidationError({"template": "Choose a template of this practice."})
    engagement = _engagement_save(
        Engagement(
            practice=practice,
            kind=EngagementKind.TEAM_WORKSHOP,
            title=title,
            coach=coach,
            organization=organization,
            core_subject=core_subject,
            session_minutes=session_minutes,
            starts_on=starts_at.astimezone(practice.zone).date() if starts_at else None,
        ),
        actor,
    )
    template = template or (None if agenda_items else _template(practice, "Team workshop"))
    collection = collection_create(engagement=engagement, template=template)
    if agenda_items:
        collection.agenda_items = agenda_items
        collection.save(update_fields=["agenda_items"])
    outcomes = {
        "subject": (StepState.DONE, ""),
        "collection": (StepState.DONE, ""),
        **_slack_step_outcomes(practice, ["slack_invite"]),
    }
    if starts_at:
        outcomes["workshop_session"] = (StepState.DONE, "")
    checklist_seed(engagement=engagement, outcomes=outcomes)
    if participants:
        participants_add(collection=collection, actor=actor, participants=participants)
    session_create(
        practice=practice,
        actor=actor,
        engagement=engagement,
        collection=collection,
        starts_at=starts_at,
        minutes=session_minutes,
        title=title,
    )
    return engagement


def engagement_update(*, engagement: Engagement, actor: User, data: dict[str, Any]) -> Engagement:
    engagement, changed = model_update(
        instance=engagement,
        data=data,
        fields=["title", "status", "aims", "core_subject", "ends_on", "send_platform_invite"],
    )
    if changed:
        audit_record(
            practice=engagement.practice,
            actor=actor,
            action="engagement.update",
            obj=engagement,
            fields=",".join(changed),
        )
    return engagement


@transaction.atomic
def engagement_schedule_change(
    *,
    engagement: Engagement,
    actor: User,
    cadence: str,
    preferred_weekday: int,
    preferred_time: dt.time,
) -> Engagement:
    """A new cadence, day or time for a monthly package: future sessions only are
    regenerated; past and completed ones stay as they were."""
    from sessions_app.services import recurring_sessions_generate, recurring_summary

    membership = membership_of(engagement.practice, actor)
    if membership is None or not membership.can_edit_engagements:
        raise PermissionDenied("Assistants cannot change an engagement's schedule.")
    if engagement.kind != EngagementKind.MONTHLY_PACKAGE:
        raise ValidationError("Only monthly packages have a recurring schedule.")
    engagement.cadence = cadence
    engagement.preferred_weekday = preferred_weekday
    engagement.preferred_time = preferred_time
    engagement.validate_for_save()
    engagement.save(update_fields=["cadence", "preferred_weekday", "preferred_time"])
    result = recurring_sessions_generate(engagement=engagement, actor=actor)
    checklist_mark(
        engagement=engagement,
        key="recurring_sessions",
        state=StepState.DONE,
        reason=recurring_summary(result, engagement.coach.time_zone),
    )
    audit_record(
        practice=engagement.practice, actor=actor, action="engagement.schedule", obj=engagement
    )
    return engagement
