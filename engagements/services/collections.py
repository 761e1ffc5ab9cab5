"""Collections: an engagement's shared space, its participants and follow-up resources."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from coachhub.audit import audit_record, model_update
from coachhub.models import User
from coachhub.permissions import require
from coachhub.tenancy import membership_of

from ..emails import resource_email_send
from ..models import (
    Client,
    Collection,
    CollectionKind,
    CollectionParticipant,
    CollectionResource,
    CollectionTemplate,
    Engagement,
    StepState,
)
from ..participants import Participant
from ..selectors import resource_audiences
from .checklists import checklist_mark
from .clients import client_find_or_create


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


def collection_resource_send(
    *, resource: CollectionResource, actor: User, audience: str, resend: bool = False
) -> int:
    """E-mail a resource to the client or every participant; sending it again is a choice.

    Returns how many people it goes to. The e-mails go out after commit (a task), which
    sets `sent_at` once they are handed over and ticks the follow-up step."""
    collection = resource.collection
    practice = collection.practice
    require(membership_of(practice, actor), "engagements.change")
    if resource.sent_at is not None and not resend:
        raise ValidationError(
            f"“{resource.title}” was sent on "
            f"{resource.sent_at.astimezone(practice.zone):%d %b %Y}; "
            "choose Resend to send it again."
        )
    recipients = resource_audiences(collection).get(audience)
    if not recipients:
        raise ValidationError(
            {"audience": "Nobody to send it to: add the client or participants first."}
        )
    with transaction.atomic(durable=True):
        audit_record(
            practice=practice,
            actor=actor,
            action="collection.resource_resend" if resend else "collection.resource_send",
            obj=resource,
            audience=audience,
            recipients=len(recipients),
        )
        resource_email_send.delay_on_commit(
            practice_id=practice.pk,
            resource_id=resource.pk,
            client_ids=[client.pk for client in recipients],
            resend=resend,
        )
    return len(recipients)
