"""The invitation link: who invited whom to which practice, and the way in (sign up, sign
in, or accept with the account already signed in). The signed token names the practice."""

from __future__ import annotations

from allauth.account.views import SignupView
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from coachhub.accounts import invitation_remember
from coachhub.invitations import invitation_accept, invitation_from_token, invitation_refusal
from coachhub.models import Invitation
from coachhub.tenancy import SESSION_KEY, password_session_required
from web.limits import change_refused, post_refused
from web.public.forms import InvitedSignupForm


def _gone(request: HttpRequest, invitation: Invitation, refusal: str) -> HttpResponse:
    return render(
        request,
        "410.html",
        {
            "title": f"This invitation to {invitation.practice.name} cannot be used",
            "message": refusal,
        },
        status=410,
    )


@password_session_required
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the invitation and the way in. POST (signed in): join with this account."""
    invitation, version = invitation_from_token(token)
    if refused := post_refused(request, practice_id=invitation.practice_id):
        return refused
    refusal = invitation_refusal(invitation, version=version, now=timezone.now())
    if refusal:
        return _gone(request, invitation, refusal)
    if not request.user.is_authenticated:
        invitation_remember(request, token, invitation.email)
        if request.method == "POST":
            return redirect("account_login")
    elif request.method == "POST":
        if refused := change_refused(request, practice_id=invitation.practice_id):
            return refused
        try:
            membership = invitation_accept(
                invitation=invitation, version=version, user=request.user
            )
        except ValidationError as error:
            return _gone(request, invitation, " ".join(error.messages))
        request.session[SESSION_KEY] = membership.practice_id
        messages.success(request, f"You are now a member of {membership.practice.name}.")
        return redirect("dashboard")
    return render(
        request,
        "coachhub/invitation.html",
        {"invitation": invitation, "token": token, "invited_practice": invitation.practice},
    )


class InvitationSignupView(SignupView):
    """allauth's sign-up (its rate limit, password rules, e-mail handling) without a
    practice to create; the invited address is already proven by the link."""

    template_name = "coachhub/invitation_signup.html"

    def dispatch(self, request, *args, **kwargs):
        self.invitation, version = invitation_from_token(kwargs["token"])
        if refused := post_refused(request, practice_id=self.invitation.practice_id):
            return refused
        refusal = invitation_refusal(self.invitation, version=version, now=timezone.now())
        if refusal:
            return _gone(request, self.invitation, refusal)
        invitation_remember(request, kwargs["token"], self.invitation.email)
        return super().dispatch(request, *args, **kwargs)

    def get_form_class(self):
        return InvitedSignupForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "invited_to": self.invitation.practice}

    def get_initial(self):
        return {**super().get_initial(), "email": self.invitation.email}

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "invitation": self.invitation,
            "invited_practice": self.invitation.practice,
        }


invitation_signup = InvitationSignupView.as_view()
