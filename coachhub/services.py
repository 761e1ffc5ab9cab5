"""Writes for the tenancy core: practices, memberships, API tokens, audit entries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from .models import ApiToken, AuditEntry, Membership, Practice, Role, User
from .tenancy import memberships_forget

_audit_batch: ContextVar[list[AuditEntry] | None] = ContextVar("audit_batch", default=None)


def audit_record(
    *, practice: Practice, actor: User | None, action: str, obj: models.Model, **data: Any
) -> AuditEntry:
    entry = AuditEntry(
        practice=practice,
        actor=actor if actor and actor.is_authenticated else None,
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        data={key: str(value) for key, value in data.items()},
    )
    batch = _audit_batch.get()
    if batch is None:
        entry.save(force_insert=True)
    else:
        batch.append(entry)
    return entry


@contextmanager
def audit_batch() -> Iterator[None]:
    """Write the audit entries recorded inside the block in one INSERT as it ends.

    Use it inside the caller's transaction (a Stripe event sets up a client, an
    engagement, a session and a purchase): the entries commit or roll back with
    the changes they describe. Nothing is written if the block raises.
    """
    if _audit_batch.get() is not None:  # already batching: the outer block writes
        yield
        return
    entries: list[AuditEntry] = []
    token = _audit_batch.set(entries)
    try:
        yield
    finally:
        _audit_batch.reset(token)
    AuditEntry.objects.bulk_create(entries)


def unique_practice_slug(name: str) -> str:
    base = slugify(name)[:50] or "practice"
    slug, counter = base, 2
    while Practice.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


@transaction.atomic
def practice_create(*, owner: User, name: str, time_zone: str = "Europe/London") -> Practice:
    """A new practice with its owner and the shipped collection templates."""
    from coachhub.tenancy import practice_scope
    from engagements.services import collection_templates_install

    practice = Practice(name=name.strip(), slug=unique_practice_slug(name), time_zone=time_zone)
    practice.full_clean()
    practice.save()
    Membership.objects.create(practice=practice, user=owner, role=Role.OWNER)
    with practice_scope(practice):
        collection_templates_install(practice=practice)
        audit_record(practice=practice, actor=owner, action="practice.create", obj=practice)
    return practice


def membership_add(*, practice: Practice, actor: User, email: str, role: str) -> Membership:
    """Add an existing user to the practice (invitations by e-mail come later)."""
    if role not in Role.values:
        raise ValidationError({"role": "Choose owner, coach or assistant."})
    user = User.objects.filter(email__iexact=email.strip()).first()
    if user is None:
        raise ValidationError(
            {"email": "No CoachHub account uses this e-mail; ask them to sign up first."}
        )
    membership, created = Membership.objects.get_or_create(
        practice=practice, user=user, defaults={"role": role}
    )
    if not created:
        raise ValidationError({"email": "This person is already a member of the practice."})
    memberships_forget(practice)
    audit_record(practice=practice, actor=actor, action="membership.add", obj=membership, role=role)
    return membership


def api_token_create(
    *, practice: Practice, user: User, name: str = "API token"
) -> tuple[ApiToken, str]:
    """A new token for a member of the practice; the plain key is returned once, never stored."""
    if not Membership.objects.filter(practice=practice, user=user).exists():
        raise ValidationError(f"{user} is not a member of {practice}.")
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        practice=practice, user=user, name=name, prefix=key[3:11], key_hash=ApiToken.hash_key(key)
    )
    audit_record(practice=practice, actor=user, action="api_token.create", obj=token)
    return token, key


def api_token_revoke(*, token: ApiToken, actor: User) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(practice=token.practice, actor=actor, action="api_token.revoke", obj=token)


def model_update(
    *, instance: models.Model, data: dict[str, Any], fields: list[str]
) -> tuple[models.Model, list[str]]:
    """Set the allowed fields that changed, validate, and save only those."""
    changed = [name for name in fields if name in data and getattr(instance, name) != data[name]]
    for name in changed:
        setattr(instance, name, data[name])
    if changed:
        instance.full_clean()
        instance.save(update_fields=changed)
    return instance, changed


def coach_setup_authorize(practice: Practice, actor: User, coach: User) -> None:
    """A coach's own set-up (hours, links, calendars): coaches edit their own, owners
    anyone's, assistants none; and the coach must be a coach or owner of the practice."""
    from .tenancy import coaches_here, membership_of

    membership = membership_of(practice, actor)
    if membership is None or not membership.coaches:
        raise PermissionDenied("Only coaches and owners set availability, links and calendars.")
    if coach.pk != actor.pk and not membership.is_owner:
        raise PermissionDenied("Coaches set up their own availability; an owner can for anyone.")
    if not coaches_here(practice, coach):
        raise ValidationError({"coach": "Choose a coach (or owner) of this practice."})
