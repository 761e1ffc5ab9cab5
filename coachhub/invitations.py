"""Members by invitation: an owner invites an e-mail address with a role; the signed link
in the e-mail, followed by a sign-up or a sign-in, makes the membership.

The token names the practice, the invitation and its link version (signed, so it cannot
be forged or pointed at another practice); whether it is still good — not expired, not
used, not revoked, not replaced by a resent one — is the row's to say.
"""

from __future__ import annotations

import datetime as dt
import uuid

from celery import shared_task
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .audit import audit_record
from .links import absolute
from .mail import email_send
from .models import Invitation, InvitationStatus, Membership, Practice, Role, User
from .permissions import require
from .services import first_practice_zone_take
from .tasks import PracticeTask
from .tenancy import membership_of, memberships_forget, practice_scope

INVITATION_DAYS = 7
SALT = "coachhub.invitation"

ALREADY_MEMBER = "This person is already a member of the practice."
ALREADY_INVITED = "This address already has an invitation waiting; resend it from the list."


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(
        {"p": invitation.practice_id, "i": invitation.public_id.hex, "v": invitation.link_version},
        salt=SALT,
        compress=True,
    )


def invitation_url(invitation: Invitation) -> str:
    """The accept link an e-mail carries (absolute, on SITE_URL)."""
    return absolute(reverse("invitation", kwargs={"token": invitation_token(invitation)}))


def invitation_from_token(token: str) -> tuple[Invitation, int]:
    """The invitation a link names and the link's version; a forged or unknown one is a 404."""
    try:
        data = signing.loads(token, salt=SALT)
        practice_id, public_id, version = int(data["p"]), uuid.UUID(data["i"]), int(data["v"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise Http404("This invitation link is not valid.") from None
    with practice_scope(practice_id):
        invitation = (
            Invitation.objects.select_related("practice", "invited_by")
            .filter(practice_id=practice_id, public_id=public_id)
            .first()
        )
    if invitation is None:
        raise Http404("This invitation link is not valid.")
    return invitation, version


def invitation_refusal(invitation: Invitation, *, version: int, now: dt.datetime) -> str | None:
    """Why this link no longer lets anyone join (shown on its page), or None."""
    inviter = invitation.invited_by.display_name if invitation.invited_by else "the practice"
    status = invitation.status(at=now)
    if status == InvitationStatus.ACCEPTED:
        return (
            f"This invitation to {invitation.practice.name} has already been accepted. "
            "If that was you, sign in to reach the practice."
        )
    if status == InvitationStatus.REVOKED:
        return (
            f"This invitation to {invitation.practice.name} was withdrawn. "
            f"Ask {inviter} if you should still join."
        )
    if status == InvitationStatus.EXPIRED:
        return (
            f"This invitation to {invitation.practice.name} has expired. "
            f"Ask {inviter} to send you a new one."
        )
    if version != invitation.link_version:
        return (
            "A newer invitation was sent to this address after this one; "
            "use the link in the latest e-mail."
        )
    return None


def _role_checked(role: str) -> str:
    if role not in Role.values:
        raise ValidationError({"role": "Choose owner, coach or assistant."})
    return role


@transaction.atomic(durable=True)
def invitation_create(
    *, practice: Practice, actor: User, email: str, role: str, now: dt.datetime | None = None
) -> Invitation:
    """Invite an address with a role; the e-mail with the link goes out after commit."""
    require(membership_of(practice, actor), "members.manage")
    now = now or timezone.now()
    email = email.strip().lower()
    _role_checked(role)
    if Membership.objects.filter(practice=practice, user__email__iexact=email).exists():
        raise ValidationError({"email": ALREADY_MEMBER})
    stale = Invitation.objects.filter(
        practice=practice,
        email=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__lte=now,
    )
    # An expired invitation is replaced rather than blocking a new one.
    stale.update(revoked_at=now)
    invitation = Invitation(
        practice=practice,
        email=email,
        role=role,
        invited_by=actor,
        expires_at=now + dt.timedelta(days=INVITATION_DAYS),
    )
    invitation.validate_for_save()
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        raise ValidationError({"email": ALREADY_INVITED}) from None
    audit_record(
        practice=practice, actor=actor, action="invitation.create", obj=invitation, role=role
    )
    invitation_email_send.delay_on_commit(practice_id=practice.pk, invitation_id=invitation.pk)
    return invitation


def _open_invitation(invitation: Invitation) -> Invitation:
    locked = Invitation.objects.select_for_update(of=("self",)).select_related("practice")
    invitation = locked.get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise ValidationError("This invitation was already accepted or withdrawn.")
    return invitation


@transaction.atomic(durable=True)
def invitation_resend(
    *, invitation: Invitation, actor: User, now: dt.datetime | None = None
) -> Invitation:
    """A fresh link, valid for another week; the earlier e-mail's link stops working."""
    require(membership_of(invitation.practice, actor), "members.manage")
    now = now or timezone.now()
    invitation = _open_invitation(invitation)
    invitation.link_version += 1
    invitation.expires_at = now + dt.timedelta(days=INVITATION_DAYS)
    invitation.save(update_fields=["link_version", "expires_at"])
    audit_record(
        practice=invitation.practice, actor=actor, action="invitation.resend", obj=invitation
    )
    invitation_email_send.delay_on_commit(
        practice_id=invitation.practice_id, invitation_id=invitation.pk
    )
    return invitation


@transaction.atomic(durable=True)
def invitation_revoke(
    *, invitation: Invitation, actor: User, now: dt.datetime | None = None
) -> Invitation:
    """Withdraw an invitation: its link shows that it was withdrawn."""
    require(membership_of(invitation.practice, actor), "members.manage")
    invitation = _open_invitation(invitation)
    invitation.revoked_at = now or timezone.now()
    invitation.save(update_fields=["revoked_at"])
    audit_record(
        practice=invitation.practice, actor=actor, action="invitation.revoke", obj=invitation
    )
    return invitation


@transaction.atomic(durable=True)
def invitation_accept(
    *, invitation: Invitation, version: int, user: User, now: dt.datetime | None = None
) -> Membership:
    """The signed-in person following a good link joins with the invited role (someone
    already a member keeps their role); the link is used up either way."""
    now = now or timezone.now()
    with practice_scope(invitation.practice_id):
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("practice", "invited_by")
            .get(pk=invitation.pk)
        )
        refusal = invitation_refusal(invitation, version=version, now=now)
        if refusal:
            raise ValidationError(refusal)
        membership, created = Membership.objects.get_or_create(
            practice=invitation.practice, user=user, defaults={"role": invitation.role}
        )
        if created:
            first_practice_zone_take(user=user, practice=invitation.practice)
        invitation.accepted_at, invitation.accepted_by = now, user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        memberships_forget(invitation.practice)
        audit_record(
            practice=invitation.practice,
            actor=user,
            action="invitation.accept",
            obj=invitation,
            role=membership.role,
            joined=created,
        )
    return membership


def invitation_email(invitation: Invitation) -> EmailMessage:
    inviter = invitation.invited_by.display_name if invitation.invited_by else "A CoachHub owner"
    context = {
        "invitation": invitation,
        "inviter": inviter,
        "practice": invitation.practice,
        "url": invitation_url(invitation),
        "role": invitation.get_role_display().lower(),
    }
    return EmailMessage(
        subject=f"{inviter} invited you to join {invitation.practice.name} on CoachHub",
        body=render_to_string("coachhub/email/invitation.txt", context),
        to=[invitation.email],
    )


@shared_task(base=PracticeTask, bind=True, max_retries=5)
def invitation_email_send(self, *, practice_id: int, invitation_id: int) -> bool:
    """E-mail the invitation's link; nothing is sent for one accepted or withdrawn meanwhile."""
    invitation = (
        Invitation.objects.select_related("practice", "invited_by")
        .filter(
            practice_id=practice_id,
            pk=invitation_id,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
        )
        .first()
    )
    if invitation is None:
        return False
    try:
        email_send(
            invitation_email(invitation),
            practice_id=practice_id,
            kind="invitation",
            subject=invitation,
            attempt=self.attempt,
            will_retry=False if self.last_attempt else None,
        )
    except OSError as error:  # SMTP down or refusing: try again later
        if self.is_eager:
            raise
        raise self.retry_later(error) from error
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return True


def invitations_open(practice: Practice, *, now: dt.datetime) -> list[tuple[Invitation, str]]:
    """The practice's invitations nobody accepted or withdrew, each with where it stands
    (pending or expired), for the Members page."""
    invitations = Invitation.objects.filter(
        practice=practice, accepted_at__isnull=True, revoked_at__isnull=True
    ).select_related("invited_by")
    return [(invitation, invitation.status(at=now)) for invitation in invitations]
