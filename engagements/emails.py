"""A collection's follow-up resource e-mailed to its client or participants, and the task
that hands the e-mails to the backend and records the sending."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from coachhub.mail import email_send
from coachhub.tasks import PracticeTask

from .models import Client, CollectionResource
from .portal import portal_link
from .services.clients import clients_portal_users_ensure
from .services.resources import resource_send_claim, resource_send_release, resource_sent

log = logging.getLogger(__name__)


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
    lines += ["", f"Your sessions: {portal_link(client)}", "", practice.name]
    return EmailMessage(
        subject=f"{resource.title} — {collection.title}",
        body="\n".join(lines),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[client.email],
        reply_to=[coach.email] if coach else None,
    )


@shared_task(base=PracticeTask, bind=True, max_retries=5)
def resource_email_send(
    self,
    *,
    practice_id: int,
    resource_id: int,
    client_ids: list[int],
    resend: bool = False,
    claimed_at: str | None = None,
) -> int:
    """One e-mail per person (nobody sees the others' addresses), each handed over on its
    own: when the mail server fails part-way, the retry sends only to those still owed."""
    resource = CollectionResource.objects.select_related(
        "collection__engagement__coach", "collection__practice"
    ).get(pk=resource_id)
    if claimed_at is None:
        claimed = resource_send_claim(resource=resource, resend=resend)
        if claimed is None:
            log.info("resource %s was sent already; not sending it again", resource.pk)
            return 0
    else:  # a retry: the claim made by the first attempt stands
        claimed = dt.datetime.fromisoformat(claimed_at)
    clients = list(
        Client.objects.filter(practice_id=practice_id, pk__in=client_ids)
        .select_related("practice", "user")
        .order_by("pk")
    )
    clients_portal_users_ensure(clients=clients)
    connection = get_connection()
    for number, client in enumerate(clients):
        try:
            email_send(
                resource_message(resource, client),
                practice_id=practice_id,
                kind="resource",
                subject=resource,
                engagement_id=resource.collection.engagement_id,
                attempt=self.attempt,
                will_retry=False if self.last_attempt else None,
                connection=connection,
            )
        except OSError as error:  # SMTP down: the rest later rather than lost
            nothing_went = number == 0 and claimed_at is None
            if nothing_went and not resend:  # the page says "not sent yet" again
                resource_send_release(resource=resource, claimed_at=claimed)
            if self.is_eager:  # no worker to retry: the log says what was not sent
                log.warning(
                    "resource %s: %d e-mails not sent: %s",
                    resource.pk,
                    len(clients) - number,
                    error,
                )
                if number:
                    resource_sent(resource=resource, claimed_at=claimed)
                return number
            owed = [later.pk for later in clients[number:]]
            retry_claim = None if nothing_went and not resend else claimed.isoformat()
            raise self.retry_later(error, client_ids=owed, claimed_at=retry_claim) from error
    resource_sent(resource=resource, claimed_at=claimed)
    return len(clients)
