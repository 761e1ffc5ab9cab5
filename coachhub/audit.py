"""Who changed what, when: the audit entry every service writes for a change it makes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import models

from .models import AuditEntry, Practice, User

_audit_batch: ContextVar[list[AuditEntry] | None] = ContextVar("audit_batch", default=None)


def audit_record(
    *, practice: Practice, actor: User | None, action: str, obj: models.Model, **data: Any
) -> AuditEntry:
    """One entry (or one more for the open `audit_batch`); values are stored as text."""
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


def model_update(
    *,
    instance: models.Model,
    data: dict[str, Any],
    fields: list[str],
    actor: User | None,
    action: str,
    practice: Practice | None = None,
) -> list[str]:
    """Set the allowed fields that changed, validate, save only those, and audit the change.

    Returns the names of the fields that changed (none: nothing saved, nothing audited).
    `practice` defaults to the instance's own.
    """
    changed = [name for name in fields if name in data and getattr(instance, name) != data[name]]
    if not changed:
        return []
    for name in changed:
        setattr(instance, name, data[name])
    instance.full_clean()
    instance.save(update_fields=changed)
    audit_record(
        practice=practice if practice is not None else instance.practice,
        actor=actor,
        action=action,
        obj=instance,
        fields=",".join(changed),
    )
    return changed
