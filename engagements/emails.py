"""A collection's follow-up resource e-mailed to its client or participants, and the task
that hands the e-mails to the backend and records the sending."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import timezone

from coachhub.tasks import PracticeTask

from .checklists import CHECKLISTS
from .models import Client, CollectionResource, StepState
from .services.checklists import checklist_mark

log = logging.getLogger(__name__)

FOLLOW_UP_STEP = "follow_up"


def resource_message(resource: CollectionResource, client: Client) -> EmailMessage:
    """What a participant reads: the resource itself (its link and its text), from the coach."""
    collection = resource.collection
    engagement, practice = collection.engagement, collection.practice
    coach = engagement.coach
    coach_name = coach.display_name if coach else practice.name
    lines = [
        f"Hello {client.name},",
        "",
        f"{coach_name} shared this {resource.get_kind_display().lower()} from {collection.title}:",
        "",
        resource.title,
    ]
    if resource.url:
        lines.append(resource.url)
    if resource.body:
        lines += ["", resource.body]
    lines += ["", practice.name]
    return EmailMessage(
        subject=f"{resource.title} — {collection.title}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[client.email],
        reply_to=[coach.email] if coach else None,
    )


@shared_task(base=PracticeTask, bind=True, max_retries=5)
def resource_email_send(
    self, *, practice_id: int, resource_id: int, client_ids: list[int], resend: bool = False
) -> int:
    """One e-mail per person (nobody sees the others' addresses); `sent_at` is set only
    once they are handed to the backend. A first send is claimed, so two clicks send once."""
    resource = CollectionResource.objects.select_related(
        "collection__engagement__coach", "collection__practice"
    ).get(pk=resource_id)
    claimed_at = timezone.now()
    if not resend:
        claimed = CollectionResource.objects.filter(pk=resource.pk, sent_at__isnull=True).update(
            sent_at=claimed_at
        )
        if not claimed:
            log.info("resource %s was sent already; not sending it again", resource.pk)
            return 0
    clients = list(Client.objects.filter(practice_id=practice_id, pk__in=client_ids))
    try:
        sent = get_connection().send_messages(
            [resource_message(resource, client) for client in clients]
        )
    except OSError as error:  # SMTP down: try again later rather than lose it
        if not resend:  # release the claim, so the retry (or the coach) can send it
            CollectionResource.objects.filter(pk=resource.pk, sent_at=claimed_at).update(
                sent_at=None
            )
        if self.is_eager:  # no worker to retry: the page keeps saying "not sent yet"
            log.warning("resource %s not sent: %s", resource.pk, error)
            return 0
        raise self.retry_later(error) from error
    if resend:
        CollectionResource.objects.filter(pk=resource.pk).update(sent_at=claimed_at)
    engagement = resource.collection.engagement
    if FOLLOW_UP_STEP in {key for key, _ in CHECKLISTS[engagement.kind]}:
        checklist_mark(engagement=engagement, key=FOLLOW_UP_STEP, state=StepState.DONE)
    return sent or 0
