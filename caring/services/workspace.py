"""The session workspace: its agenda, the coach's private notes, and the recap shared with
the client (e-mail, portal and the collection's Slack channel)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from chat import services as chat_services
from coachhub.audit import audit_record
from coachhub.links import absolute
from coachhub.models import Membership
from coachhub.permissions import require
from engagements.portal import portal_session_path
from sessions_app.models import Session

from ..emails import recap_email_send
from ..models import Recap, RecapChannel, SessionAgenda, SessionNote

MAX_AGENDA_ITEMS = 30
MAX_AGENDA_ITEM_LENGTH = 200
MAX_TEXT_LENGTH = 20000


def session_agenda_update(
    *, session: Session, membership: Membership, items: list[str]
) -> SessionAgenda:
    """This session's agenda, changed from the template's items (empty lines dropped)."""
    require(membership, "sessions.schedule")
    items = [item.strip() for item in items if item.strip()]
    if len(items) > MAX_AGENDA_ITEMS:
        raise ValidationError(f"An agenda holds at most {MAX_AGENDA_ITEMS} items.")
    if any(len(item) > MAX_AGENDA_ITEM_LENGTH for item in items):
        raise ValidationError(f"Keep each agenda item under {MAX_AGENDA_ITEM_LENGTH} characters.")
    with transaction.atomic(durable=True):
        agenda, _ = SessionAgenda.objects.update_or_create(
            session=session, defaults={"practice_id": session.practice_id, "items": items}
        )
        audit_record(
            practice=session.practice,
            actor=membership.user,
            action="session.agenda",
            obj=agenda,
            items=len(items),
        )
    return agenda


def session_notes_update(*, session: Session, membership: Membership, body: str) -> SessionNote:
    """The coach's private notes on the session; assistants never read or write them."""
    require(membership, "clients.notes")
    if len(body) > MAX_TEXT_LENGTH:
        raise ValidationError(f"Keep notes under {MAX_TEXT_LENGTH} characters.")
    with transaction.atomic(durable=True):
        note, _ = SessionNote.objects.update_or_create(
            session=session,
            defaults={
                "practice_id": session.practice_id,
                "body": body,
                "updated_by": membership.user,
            },
        )
        # The audit says that notes changed, never what they say.
        audit_record(
            practice=session.practice, actor=membership.user, action="session.notes", obj=note
        )
    return note


def recap_save(*, session: Session, membership: Membership, body: str) -> Recap:
    """The coach's draft of the recap; nothing reaches the client until it is shared."""
    require(membership, "engagements.change")
    if len(body) > MAX_TEXT_LENGTH:
        raise ValidationError(f"Keep the recap under {MAX_TEXT_LENGTH} characters.")
    with transaction.atomic(durable=True):
        recap, created = Recap.objects.update_or_create(
            session=session,
            defaults={
                "practice_id": session.practice_id,
                "engagement_id": session.engagement_id,
                "body": body,
            },
        )
        audit_record(
            practice=session.practice,
            actor=membership.user,
            action="recap.created" if created else "recap.changed",
            obj=recap,
        )
    return recap


def recap_slack_text(recap: Recap) -> str:
    session = recap.session
    link = absolute(portal_session_path(session.practice, session.public_id))
    return f"*Recap of {session.title}*\n{recap.shared_body}\n<{link}|In your portal>"


def recap_share(*, session: Session, membership: Membership) -> Recap:
    """Share the recap as it stands: a new version, recorded (when, by whom, where), then
    e-mailed to the session's clients and posted to the collection's Slack channel (once
    per version each), and shown in their portal."""
    require(membership, "engagements.change")
    with transaction.atomic(durable=True):
        recap = (
            Recap.objects.select_for_update(of=("self",))
            .select_related("session__practice", "session__collection")
            .filter(session=session)
            .first()
        )
        if recap is None or not recap.body.strip():
            raise ValidationError("Write the recap before sharing it.")
        if recap.is_shared and not recap.has_unshared_changes:
            raise ValidationError(
                "This recap is already shared as it is; change it to share again."
            )
        recap.version += 1
        recap.shared_body = recap.body
        recap.shared_at = timezone.now()
        recap.shared_by = membership.user
        channels = [RecapChannel.EMAIL, RecapChannel.PORTAL]
        if session.collection_id:
            post = chat_services.slack_post_queue(
                practice=session.practice,
                collection=session.collection,
                key=f"recap:{session.pk}:{recap.version}",
                kind="recap",
                text=recap_slack_text(recap),
            )
            if post is not None:
                channels.append(RecapChannel.SLACK)
        recap.channels = [str(channel) for channel in channels]
        recap.save(update_fields=["version", "shared_body", "shared_at", "shared_by", "channels"])
        audit_record(
            practice=session.practice,
            actor=membership.user,
            action="recap.shared",
            obj=recap,
            version=recap.version,
            channels=",".join(recap.channels),
        )
        recap_email_send.delay_on_commit(
            practice_id=session.practice_id, recap_id=recap.pk, version=recap.version
        )
    return recap
