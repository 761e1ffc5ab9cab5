"""Dashboard pages for one session (move it, record what happened) and a package's schedule."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from caring.selectors import session_workspace
from coachhub.tenancy import member_required
from engagements.selectors import engagement_get_for_member
from sessions_app import services
from sessions_app.allowances import seat_allowance
from sessions_app.models import SessionStatus
from sessions_app.notifications import schedule_invite
from sessions_app.selectors import session_get_for_member
from web.dashboard.caring import AgendaForm, CommitmentForm, NotesForm, RecapForm
from web.forms import LocalDateTimeField


class RescheduleForm(forms.Form):
    starts_at = LocalDateTimeField(label="New time")


@member_required
def session_detail(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    allowance = None
    if session.seat_id:
        allowance = seat_allowance(session.seat, at=session.starts_at or timezone.now())
    workspace = session_workspace(session, request.membership)
    recap = workspace.recap
    return render(
        request,
        "sessions_app/session_detail.html",
        {
            "session": session,
            "allowance": allowance,
            "bookings": session.bookings.select_related("client"),
            "reschedule_form": RescheduleForm(),
            "can_change": session.status in (SessionStatus.SCHEDULED, SessionStatus.TO_SCHEDULE),
            "workspace": workspace,
            "agenda_form": AgendaForm(initial={"items": "\n".join(workspace.agenda)}),
            "notes_form": NotesForm(initial={"body": workspace.notes}),
            "recap_form": RecapForm(initial={"body": recap.body if recap else ""}),
            "commitment_form": CommitmentForm(),
        },
    )


@member_required
@require_http_methods(["GET", "POST"])
def session_reschedule_view(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    if request.method != "POST":
        return redirect(session)
    form = RescheduleForm(request.POST)
    if form.is_valid():
        try:
            services.session_reschedule(
                session=session, actor=request.user, starts_at=form.cleaned_data["starts_at"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Session moved; attendees were sent the updated invite.")
    else:
        messages.error(request, " ".join(form.errors.get("starts_at", ["Give a new time."])))
    return redirect(session.get_absolute_url())


@member_required
@require_http_methods(["GET", "POST"])
def session_status_view(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    if request.method != "POST":
        return redirect(session)
    status = request.POST.get("status", "")
    if status not in SessionStatus.values:
        messages.error(request, "Choose a status.")
        return redirect(session.get_absolute_url())
    try:
        services.session_status_set(session=session, actor=request.user, status=status)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Session marked {SessionStatus(status).label.lower()}.")
    return redirect(session.get_absolute_url())


@member_required
def engagement_schedule_ics(request: HttpRequest, engagement_pk: int) -> HttpResponse:
    """A monthly package's recurring sessions as one event with an RRULE (UNTIL in UTC)."""
    engagement = engagement_get_for_member(request.membership, engagement_pk)
    body = schedule_invite(engagement)
    if body is None:
        raise Http404("This engagement has no recurring schedule yet.")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="schedule.ics"'
    return response
