"""Clients: create and change them, find them by e-mail (their identity in a practice)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from coachhub.audit import audit_record, model_update
from coachhub.models import Membership, Practice, User
from coachhub.permissions import require
from coachhub.services import coach_must_coach_here

from ..models import Client, ClientStatus
from ..selectors import client_with_email, seat_client_refusal

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
    coach_must_coach_here(practice, fields.get("coach"))
    organization = fields.get("organization")
    if organization is not None and organization.practice_id != practice.pk:
        raise ValidationError({"organization": "Choose a company of this practice."})
    client = Client(practice=practice, **fields)
    client.validate_for_save()
    client.save()
    audit_record(practice=practice, actor=actor, action="client.create", obj=client)
    return client


@transaction.atomic
def client_update(*, client: Client, actor: User, data: dict[str, Any]) -> Client:
    """Change a client; a new e-mail also lets go of the portal account of the old one
    (its links must not open the client's sessions any more), in the same audited save."""
    fields = CLIENT_FIELDS
    if "coach" in data:
        coach_must_coach_here(client.practice, data["coach"])
    if "email" in data:
        data = {**data, "email": (data["email"] or "").strip().lower()}
        _email_must_be_free(client.practice, data["email"], except_pk=client.pk)
        if data["email"] != client.email and client.user_id is not None:
            data, fields = {**data, "user": None}, [*CLIENT_FIELDS, "user"]
    model_update(instance=client, data=data, fields=fields, actor=actor, action="client.update")
    return client


def client_lead_activate(*, client: Client, actor: User | None) -> Client:
    """A lead becomes a client when they pay or the coach sets up coaching for them."""
    if client.status == ClientStatus.LEAD:
        client_update(client=client, actor=actor, data={"status": ClientStatus.ACTIVE})
    return client


def client_private_notes_update(*, client: Client, membership: Membership, notes: str) -> Client:
    require(membership, "clients.notes")
    client.private_notes = notes
    client.save(update_fields=["private_notes"])
    audit_record(practice=client.practice, actor=membership.user, action="client.notes", obj=client)
    return client


@transaction.atomic(durable=True)
def clients_mark_alumni(*, practice: Practice, actor: User, clients: list[Client]) -> int:
    """Clients whose coaching is over (the admin's bulk action), each change audited; all
    or none (a client that fails validation leaves the others as they were)."""
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
    existing = client_with_email(practice, email)
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


def client_has_portal_user(client: Client) -> bool:
    """Whether the client's account is theirs at their current e-mail (links may be made)."""
    return client.user is not None and client.user.email.strip().lower() == client.email


def clients_portal_users_ensure(*, clients: list[Client]) -> None:
    """Make the portal accounts of the clients about to be sent a link (once per client,
    when the e-mail is sent, not while its text is built)."""
    for client in clients:
        if not client_has_portal_user(client):
            client_portal_user_ensure(client=client)


def client_portal_user_ensure(*, client: Client) -> User:
    """The account a client signs in to the portal with: theirs by e-mail, or a new one
    without a password (a portal link is their only way in). One person who is a client of
    two practices is one account; a client whose e-mail changed gets the new address's."""
    if client_has_portal_user(client):
        return client.user
    with transaction.atomic():
        user = User.objects.filter(email__iexact=client.email).order_by("pk").first()
        if user is None:
            try:
                with transaction.atomic():
                    user = User.objects.create_user(
                        client.email, None, first_name=client.name[:150]
                    )
            except IntegrityError:  # made by a concurrent link for the same person
                user = User.objects.get(email__iexact=client.email)
        # A row of this practice still holding the account from an e-mail it no longer
        # has lets go of it first: one account is one client per practice.
        for stale in Client.objects.filter(practice_id=client.practice_id, user=user).exclude(
            pk=client.pk
        ):
            stale.user = None
            stale.save(update_fields=["user"])
            audit_record(
                practice=client.practice, actor=None, action="client.portal_user", obj=stale
            )
        client.user = user
        client.save(update_fields=["user"])
        audit_record(practice=client.practice, actor=None, action="client.portal_user", obj=client)
    return user
