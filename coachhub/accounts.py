"""django-allauth's adapter: a sign-in or sign-up that follows an invitation link ends
with the invitation accepted and its practice active."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest

from .invitations import invitation_accept, invitation_from_token
from .tenancy import PORTAL_ONLY_KEY, SESSION_KEY

# The invitation link the visitor followed before signing in or up (coachhub.invitations).
PENDING_INVITATION = "pending_invitation"


def invitation_remember(request: HttpRequest, token: str, email: str) -> None:
    """Keep the link for after sign-in or sign-up. Following it proves the address it was
    sent to, so a sign-up with that address needs no second confirmation e-mail."""
    request.session[PENDING_INVITATION] = token
    DefaultAccountAdapter(request).stash_verified_email(request, email)


class AccountAdapter(DefaultAccountAdapter):
    def post_login(self, request, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        request.session.pop(PORTAL_ONLY_KEY, None)  # a password sign-in: a member's session
        token = request.session.pop(PENDING_INVITATION, None)
        if not token:
            return response
        try:
            invitation, version = invitation_from_token(token)
            membership = invitation_accept(invitation=invitation, version=version, user=user)
        except Http404:
            return response
        except ValidationError as refusal:
            messages.error(request, " ".join(refusal.messages))
            return response
        request.session[SESSION_KEY] = membership.practice_id
        messages.success(
            request,
            f"You are now a member of {membership.practice.name} "
            f"({membership.get_role_display().lower()}).",
        )
        return response
