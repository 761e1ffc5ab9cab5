"""The three guided set-ups of an engagement (docs/product.md §2), each ending in sessions.

They create the engagement, its collection and checklist (engagements) and the
sessions (here), which is why they live above sessions rather than in engagements.
Booking and the purchase pipeline run them as steps of their own unit of work.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chat.services import slack_channel_plan
from coachhub.audit import audit_record
from coachhub.models import Practice, User
from coachhub.permissions import require
from coachhub.tenancy import membership_of
from coachhub.timezones import first_of_month_after
from engagements.checklists import SLACK_AFTER_PAYMENT, slack_step_outcomes
from engagements.models import (
    Cadence,
    Client,
    ClientStatus,
    CollectionTemplate,
    Engagement,
    EngagementKind,
    Funding,
    Organization,
    StepState,
    sessions_in_monthly_hours,
)
from engagements.participants import Participant
from engagements.selectors import collection_template_named, open_seat_of
from engagements.services import (
    NewClient,
    checklist_mark,
    checklist_seed,
    client_lead_activate,
    client_resolve,
    collection_create,
    engagement_add,
    participants_add,
    seat_client_refuse,
)

from ..models import SessionSource
from .recurring import recurring_sessions_generate, recurring_summary
from .scheduling import session_create


@transaction.atomic
def engagement_create_per_session(
    *,
    practice: Practice,
    actor: User,
    client: Client | NewClient,
    coach: User,
    client_is_new: bool = False,
    session_minutes: int | None = None,
    first_session_at: dt.datetime | None = None,
    send_platform_invite: bool = True,
    aims: str = "",
    allowance_override_reason: str = "",
    session_source: str = SessionSource.MANUAL,
    lead_becomes_active: bool = True,
) -> Engagement:
    """One-off coaching: collection from “Coaching / Mentorship”, first session populated.

    A seat client's per-session coaching is funded by their seat, not by an offer.
    `client_is_new`: the caller has just created the client, so it has no seat yet.
    `lead_becomes_active`: coaching set up for a lead makes them a client (a visitor who
    only holds a paid slot stays a lead until the purchase).
    """
    client, created = client_resolve(practice=practice, actor=actor, client=client, coach=coach)
    if lead_becomes_active:
        client_lead_activate(client=client, actor=actor)
    seat = None if client_is_new or created else open_seat_of(client)
    engagement = engagement_add(
        engagement=Engagement(
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
        actor=actor,
    )
    collection = collection_create(
        engagement=engagement,
        template=collection_template_named(practice, CollectionTemplate.COACHING),
    )
    # A visitor holding a paid slot is still a lead: the purchase invites them to Slack.
    slack_waits_for_payment = client.status == ClientStatus.LEAD
    if not slack_waits_for_payment:
        slack_channel_plan(
            practice=practice, collection=collection, clients=[client], collection_is_new=True
        )
    slack_outcomes = slack_step_outcomes(practice, ["slack_invite", "slack_channel"])
    if slack_waits_for_payment and practice.slack_connected:
        slack_outcomes = {key: (StepState.PENDING, SLACK_AFTER_PAYMENT) for key in slack_outcomes}
    session = session_create(
        practice=practice,
        actor=actor,
        engagement=engagement,
        collection=collection,
        starts_at=first_session_at,
        minutes=engagement.session_minutes,
        allowance_override_reason=allowance_override_reason,
        source=session_source,
    )
    checklist_seed(
        engagement=engagement,
        outcomes={
            "client": (StepState.DONE, ""),
            **slack_outcomes,
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


@transaction.atomic
def engagement_create_monthly_package(
    *,
    practice: Practice,
    actor: User,
    client: Client | NewClient,
    coach: User,
    hours_per_month: Decimal,
    client_is_new: bool = False,
    cadence: str = Cadence.BIWEEKLY,
    session_minutes: int = 60,
    preferred_weekday: int | None = None,
    preferred_time: dt.time | None = None,
    starts_on: dt.date | None = None,
    months: int = 3,
    aims: str = "",
) -> Engagement:
    """A subscription package: cadence agreed, collection created, sessions generated."""
    client, created = client_resolve(practice=practice, actor=actor, client=client, coach=coach)
    client_lead_activate(client=client, actor=actor)
    if not (client_is_new or created):
        seat_client_refuse(client=client, feature="monthly_package")
    if not 1 <= months <= 36:
        raise ValidationError({"months": "A package runs for 1 to 36 months."})
    if sessions_in_monthly_hours(Decimal(hours_per_month), session_minutes) < 1:
        raise ValidationError(
            {"hours_per_month": "The monthly hours do not cover even one session of that length."}
        )
    starts_on = starts_on or timezone.now().astimezone(practice.zone).date()
    ends_on = first_of_month_after(starts_on, months) - dt.timedelta(days=1)
    engagement = engagement_add(
        engagement=Engagement(
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
        actor=actor,
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
        **slack_step_outcomes(practice, ["slack_invite", "slack_channel"]),
    }
    collection = collection_create(
        engagement=engagement,
        template=collection_template_named(practice, CollectionTemplate.COACHING),
    )
    slack_channel_plan(
        practice=practice, collection=collection, clients=[client], collection_is_new=True
    )
    if agreed:
        result = recurring_sessions_generate(engagement=engagement, actor=actor)
        outcomes["recurring_sessions"] = (
            StepState.DONE,
            recurring_summary(result, engagement.coach.time_zone),
        )
    checklist_seed(engagement=engagement, outcomes=outcomes)
    return engagement


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
    session_source: str = SessionSource.MANUAL,
) -> Engagement:
    """A group session bought once: team collection, participants, the workshop session."""
    if organization is not None and organization.practice_id != practice.pk:
        raise ValidationError({"organization": "Choose a company of this practice."})
    if template is not None and template.practice_id != practice.pk:
        raise ValidationError({"template": "Choose a template of this practice."})
    engagement = engagement_add(
        engagement=Engagement(
            practice=practice,
            kind=EngagementKind.TEAM_WORKSHOP,
            title=title,
            coach=coach,
            organization=organization,
            core_subject=core_subject,
            session_minutes=session_minutes,
            starts_on=starts_at.astimezone(practice.zone).date() if starts_at else None,
        ),
        actor=actor,
    )
    template = template or (
        None
        if agenda_items
        else collection_template_named(practice, CollectionTemplate.TEAM_WORKSHOP)
    )
    collection = collection_create(engagement=engagement, template=template)
    if agenda_items:
        collection.agenda_items = agenda_items
        collection.save(update_fields=["agenda_items"])
    outcomes = {
        "subject": (StepState.DONE, ""),
        "collection": (StepState.DONE, ""),
        **slack_step_outcomes(practice, ["slack_channel", "slack_invite"]),
    }
    if starts_at:
        outcomes["workshop_session"] = (StepState.DONE, "")
    checklist_seed(engagement=engagement, outcomes=outcomes)
    if participants:
        participants_add(collection=collection, actor=actor, participants=participants)
    slack_channel_plan(practice=practice, collection=collection, collection_is_new=True)
    session_create(
        practice=practice,
        actor=actor,
        engagement=engagement,
        collection=collection,
        starts_at=starts_at,
        minutes=session_minutes,
        title=title,
        source=session_source,
    )
    return engagement


@transaction.atomic(durable=True)
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
    require(membership_of(engagement.practice, actor), "engagements.change")
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
