"""The Members page: invitations by e-mail, roles, removal, and the sessions a removed
coach leaves for the owner to give to another coach."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from billing.services import member_remove
from coachhub.invitations import (
    invitation_create,
    invitation_resend,
    invitation_revoke,
    invitations_open,
)
from coachhub.models import Invitation, InvitationStatus, Membership, Role
from coachhub.services import membership_role_change
from coachhub.tenancy import ability_required, coaches_of
from sessions_app.models import Session
from sessions_app.selectors import former_coach_of, future_sessions_of, sessions_needing_a_coach
from sessions_app.services import coach_handover, session_coach_change
from web.dashboard.pages import flash_errors
from web.dashboard.practice_forms import InvitationForm


@ability_required("members.manage")
@require_http_methods(["GET", "POST"])
def members(request: HttpRequest) -> HttpResponse:
    practice = request.practice
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = invitation_create(
                practice=practice, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, f"Invitation e-mailed to {invitation.email}.")
            return redirect("members")
    now = timezone.now()
    invitations = invitations_open(practice, now=now)
    orphaned = list(sessions_needing_a_coach(practice, now=now))
    former_coaches = {session.coach_id: session.coach for session in orphaned}
    return render(
        request,
        "coachhub/members.html",
        {
            "form": form,
            "member_list": Membership.objects.filter(practice=practice).select_related("user"),
            "roles": Role.choices,
            "invitations": invitations,
            "expired": InvitationStatus.EXPIRED,
            "orphaned_sessions": orphaned,
            "former_coaches": list(former_coaches.values()),
            "coaches": list(coaches_of(practice)),
        },
    )


@ability_required("members.manage")
@require_POST
def invitation_action(request: HttpRequest, invitation_pk: int) -> HttpResponse:
    """Resend (a fresh link for another week) or revoke a pending invitation."""
    invitation = get_object_or_404(
        Invitation.objects.select_related("practice"), practice=request.practice, pk=invitation_pk
    )
    action = request.POST.get("action")
    try:
        if action == "resend":
            invitation_resend(invitation=invitation, actor=request.user)
            messages.success(request, f"Invitation sent again to {invitation.email}.")
        elif action == "revoke":
            invitation_revoke(invitation=invitation, actor=request.user)
            messages.success(request, f"Invitation to {invitation.email} withdrawn.")
        else:
            messages.error(request, "Choose resend or revoke.")
    except ValidationError as error:
        flash_errors(request, error)
    return redirect("members")


def _membership(request: HttpRequest, membership_pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "practice"),
        practice=request.practice,
        pk=membership_pk,
    )


@ability_required("members.manage")
@require_POST
def membership_role(request: HttpRequest, membership_pk: int) -> HttpResponse:
    membership = _membership(request, membership_pk)
    try:
        membership_role_change(
            practice=request.practice,
            actor=request.user,
            membership=membership,
            role=request.POST.get("role", ""),
        )
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(
            request, f"{membership.user.display_name} is now {membership.get_role_display()}."
        )
    return redirect("members")


@ability_required("members.manage")
@require_http_methods(["GET", "POST"])
def membership_remove(request: HttpRequest, membership_pk: int) -> HttpResponse:
    """GET: what removal closes and leaves to reassign. POST: remove."""
    membership = _membership(request, membership_pk)
    practice, person = request.practice, membership.user
    if request.method == "POST":
        try:
            removal = member_remove(practice=practice, actor=request.user, membership=membership)
        except ValidationError as error:
            flash_errors(request, error)
            return redirect("membership_remove", membership_pk=membership_pk)
        messages.success(
            request,
            f"{person.display_name} was removed: {len(removal.links_closed)} booking link(s) and "
            f"{len(removal.offers_withdrawn)} offer(s) closed; "
            f"{len(removal.sessions_to_reassign)} session(s) to give to another coach below.",
        )
        return redirect("members")
    return render(
        request,
        "coachhub/member_remove.html",
        {
            "member": membership,
            "links": person.booking_links.filter(practice=practice, is_active=True),
            "offers": person.offers.filter(practice=practice, is_active=True),
            "sessions": future_sessions_of(practice, person.pk, now=timezone.now()),
        },
    )


def _posted_id(request: HttpRequest, field: str) -> int:
    """The id a form sent, or 0 (matches nothing) for anything that is not one."""
    value = request.POST.get(field, "")
    return int(value) if value.isdigit() and len(value) < 19 else 0


def _coach_from(request: HttpRequest, field: str = "coach"):
    return coaches_of(request.practice).filter(pk=_posted_id(request, field)).first()


@ability_required("sessions.reassign")
def session_coach(request: HttpRequest, session_uuid) -> HttpResponse:
    """Give one session still to come to another coach (POST; the session is looked up
    first, so another practice's is a 404 whatever the method)."""
    session = get_object_or_404(Session, practice=request.practice, public_id=session_uuid)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    coach = _coach_from(request)
    if coach is None:
        messages.error(request, "Choose a coach of this practice.")
        return redirect("members")
    try:
        session_coach_change(
            practice=request.practice, actor=request.user, session=session, coach=coach
        )
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(request, f"{session.title} now goes to {coach.display_name}.")
    return redirect("members")


@ability_required("sessions.reassign")
@require_POST
def sessions_reassign_all(request: HttpRequest) -> HttpResponse:
    """Hand everything a former coach left to one coach; clashing sessions stay listed."""
    coach = _coach_from(request)
    former = former_coach_of(request.practice, _posted_id(request, "former_coach"))
    if coach is None or former is None:
        messages.error(request, "Choose a coach of this practice.")
        return redirect("members")
    try:
        handover = coach_handover(
            practice=request.practice, actor=request.user, former_coach=former, coach=coach
        )
    except ValidationError as error:
        flash_errors(request, error)
        return redirect("members")
    messages.success(
        request,
        f"{len(handover.sessions)} session(s), {handover.engagements} engagement(s) and "
        f"{handover.clients} client(s) of {former.display_name} now go to {coach.display_name}.",
    )
    for session in handover.clashing:
        messages.error(
            request,
            f"{session.title} ({timezone.localtime(session.starts_at):%d %b %H:%M} "
            f"{timezone.get_current_timezone_name()}) clashes with "
            f"{coach.display_name}'s calendar; choose another coach for it.",
        )
    return redirect("members")
