"""The session workspace's actions on the coach's session page: the agenda, private notes,
the recap (saved, then shared), and commitments (made, done, open again)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from caring import services
from caring.models import CommitmentOwner
from caring.selectors import commitment_get_for_member
from coachhub.tenancy import ability_required, member_required
from sessions_app.selectors import session_get_for_member
from web.dashboard.pages import flash_errors


class AgendaForm(forms.Form):
    items = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Agenda",
        help_text="One item a line.",
    )


class NotesForm(forms.Form):
    body = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 6}), label="Private notes"
    )


class RecapForm(forms.Form):
    body = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Recap",
        help_text="What you covered and agreed; the client sees it once you share it.",
    )


class CommitmentForm(forms.Form):
    text = forms.CharField(max_length=300, label="Commitment")
    owner = forms.ChoiceField(choices=CommitmentOwner.choices, label="Who")
    due_on = forms.DateField(label="By", widget=forms.DateInput(attrs={"type": "date"}))


@member_required
@require_http_methods(["GET", "POST"])
def session_agenda_view(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    if request.method != "POST":  # looked up first: another practice's session is a 404
        return redirect(session)
    form = AgendaForm(request.POST)
    if form.is_valid():
        try:
            services.session_agenda_update(
                session=session,
                membership=request.membership,
                items=form.cleaned_data["items"].splitlines(),
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "Agenda saved.")
    return redirect(session.get_absolute_url() + "#agenda")


@ability_required("clients.notes")
@require_http_methods(["GET", "POST"])
def session_notes_view(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    if request.method != "POST":  # looked up first: another practice's session is a 404
        return redirect(session)
    form = NotesForm(request.POST)
    if form.is_valid():
        try:
            services.session_notes_update(
                session=session, membership=request.membership, body=form.cleaned_data["body"]
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "Private notes saved.")
    return redirect(session.get_absolute_url() + "#notes")


@ability_required("engagements.change")
@require_http_methods(["GET", "POST"])
def session_recap_view(request: HttpRequest, session_uuid) -> HttpResponse:
    """Save the draft; with `share`, share it as saved."""
    session = session_get_for_member(request.membership, session_uuid)
    if request.method != "POST":  # looked up first: another practice's session is a 404
        return redirect(session)
    form = RecapForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(session.get_absolute_url() + "#recap")
    try:
        services.recap_save(
            session=session, membership=request.membership, body=form.cleaned_data["body"]
        )
        if "share" in request.POST:
            recap = services.recap_share(session=session, membership=request.membership)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        if "share" in request.POST:
            messages.success(request, f"Recap shared: {', '.join(recap.channel_labels())}.")
        else:
            messages.success(request, "Recap saved as a draft; the client sees it once shared.")
    return redirect(session.get_absolute_url() + "#recap")


@ability_required("engagements.change")
@require_http_methods(["GET", "POST"])
def commitment_create_view(request: HttpRequest, session_uuid) -> HttpResponse:
    session = session_get_for_member(request.membership, session_uuid)
    if request.method != "POST":  # looked up first: another practice's session is a 404
        return redirect(session)
    form = CommitmentForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
    else:
        try:
            services.commitment_create(
                session=session, membership=request.membership, **form.cleaned_data
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "Commitment added.")
    return redirect(session.get_absolute_url() + "#commitments")


@ability_required("engagements.change")
@require_POST
def commitment_status_view(request: HttpRequest, commitment_pk: int) -> HttpResponse:
    commitment = commitment_get_for_member(request.membership, commitment_pk)
    done = request.POST.get("done") == "1"
    services.commitment_status_set(commitment=commitment, membership=request.membership, done=done)
    messages.success(request, "Marked done." if done else "Open again.")
    back = request.POST.get("back", "")
    if back == "client" and commitment.client_id:
        return redirect("client_detail", client_pk=commitment.client_id)
    if commitment.session_id and back != "engagement":
        return redirect(commitment.session.get_absolute_url() + "#commitments")
    return redirect(commitment.engagement.get_absolute_url())
