"""Writes for the tenancy core: practices, memberships, API tokens, a coach's set-up rights."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from .audit import audit_record
from .models import ApiToken, Membership, Practice, Role, User
from .permissions import refusal, require, roles_with
from .tenancy import coaches_here, membership_of, memberships_forget, practice_scope


def unique_practice_slug(name: str) -> str:
    base = slugify(name)[:50] or "practice"
    slug, counter = base, 2
    while Practice.objects.filter(slug=slug).exists():
        slug = f"{base}-{counter}"
        counter += 1
    return slug


def practice_create(
    *, owner: User, name: str, time_zone: str = "Europe/London", currency: str = "GBP"
) -> Practice:
    """The practice (the tenant) and its owner's membership. What the domain apps give a new
    practice (the shipped collection templates) comes with `engagements.services.practice_open`."""
    practice = Practice(
        name=name.strip(), slug=unique_practice_slug(name), time_zone=time_zone, currency=currency
    )
    practice.full_clean()
    practice.save()
    Membership.objects.create(practice=practice, user=owner, role=Role.OWNER)
    with practice_scope(practice):
        audit_record(practice=practice, actor=owner, action="practice.create", obj=practice)
    return practice


def first_practice_zone_take(*, user: User, practice: Practice) -> None:
    """Someone joining their first practice with the zone never chosen (the default, UTC)
    sees and offers times in the practice's zone, not UTC. They have no weekly hours or
    links yet, so nothing they published moves."""
    default = User._meta.get_field("time_zone").default
    if user.time_zone != default or user.time_zone == practice.time_zone:
        return
    if Membership.objects.filter(user=user).exclude(practice=practice).exists():
        return
    user.time_zone = practice.time_zone
    user.save(update_fields=["time_zone"])


def membership_add(*, practice: Practice, actor: User, email: str, role: str) -> Membership:
    """Add an existing user to the practice (invitations by e-mail come later)."""
    require(membership_of(practice, actor), "practice.manage")
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
    first_practice_zone_take(user=user, practice=practice)
    memberships_forget(practice)
    audit_record(practice=practice, actor=actor, action="membership.add", obj=membership, role=role)
    return membership


LAST_OWNER = "The practice needs an owner: make someone else an owner first."


def _owners_left_without(practice: Practice, membership: Membership) -> int:
    """Owners the practice keeps if this membership stops being one (practice row locked,
    so two owners demoting each other at once cannot leave none)."""
    Practice.objects.select_for_update().filter(pk=practice.pk).first()
    return (
        Membership.objects.filter(practice=practice, role__in=roles_with("practice.manage"))
        .exclude(pk=membership.pk)
        .count()
    )


@transaction.atomic
def membership_role_change(
    *, practice: Practice, actor: User, membership: Membership, role: str
) -> Membership:
    """Give a member another role; the practice always keeps at least one owner."""
    require(membership_of(practice, actor), "members.manage")
    if role not in Role.values:
        raise ValidationError({"role": "Choose owner, coach or assistant."})
    if membership.role == role:
        return membership
    if role not in roles_with("practice.manage") and not _owners_left_without(practice, membership):
        raise ValidationError(LAST_OWNER)
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    memberships_forget(practice)
    audit_record(
        practice=practice,
        actor=actor,
        action="membership.role",
        obj=membership,
        role=role,
        previous=previous,
    )
    return membership


@transaction.atomic
def membership_remove(*, practice: Practice, actor: User, membership: Membership) -> None:
    """The person leaves the practice (never its last owner). What they sold — booking
    links, offers — is closed by `billing.services.member_remove`, which calls this."""
    require(membership_of(practice, actor), "members.manage")
    if not _owners_left_without(practice, membership):
        raise ValidationError(LAST_OWNER)
    audit_record(
        practice=practice,
        actor=actor,
        action="membership.remove",
        obj=membership,
        user=membership.user.email,
        role=membership.role,
    )
    ApiToken.objects.filter(
        practice=practice, user_id=membership.user_id, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    membership.delete()
    memberships_forget(practice)


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
    """The token stops working at once; revoking it twice changes nothing."""
    if token.revoked_at is not None:
        return
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(practice=token.practice, actor=actor, action="api_token.revoke", obj=token)


def coach_must_coach_here(practice: Practice, coach: User | None, field: str = "coach") -> None:
    """Refuse a coach (of a client, an engagement, an offer) who does not coach here."""
    if coach is not None and not coaches_here(practice, coach):
        raise ValidationError({field: refusal("clients.coach")})


def coach_setup_authorize(practice: Practice, actor: User, coach: User) -> None:
    """A coach's own set-up (hours, links, calendars, offers): coaches edit their own, owners
    anyone's, assistants none; and the coach must be a coach or owner of the practice."""
    membership = membership_of(practice, actor)
    require(membership, "availability.manage")
    if coach.pk != actor.pk:
        require(membership, "availability.manage_anyones")
    coach_must_coach_here(practice, coach)
