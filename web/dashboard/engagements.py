"""Dashboard pages for engagements (the three guided set-ups, checklists, sessions to add)
and their collections."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from chat import selectors as chat_selectors
from chat import services as chat_services
from coachhub.calls import calls_for_engagement
from coachhub.permissions import can
from coachhub.tenancy import ability_required, member_required
from engagements import selectors, services
from engagements.models import (
    Client,
    Engagement,
    EngagementKind,
    EngagementStatus,
    ResourceAudience,
)
from engagements.services import NewClient
from sessions_app import services as session_services
from sessions_app.allowances import attach_allowances, seat_allowance
from web.dashboard.forms import (
    ChecklistStepForm,
    EngagementEditForm,
    MonthlyPackageForm,
    ParticipantsAddForm,
    PerSessionForm,
    ResourceForm,
    ScheduleForm,
    SessionForm,
    TeamWorkshopForm,
)
from web.dashboard.pages import flash_errors, page_of
from web.forms import apply_validation_error


def _client_of(data: dict) -> Client | NewClient:
    """The client chosen in the form, or the new one typed in (the service finds or creates it)."""
    return data.get("client") or NewClient(
        name=data["new_client_name"], email=data["new_client_email"]
    )


@member_required
def engagement_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    kind = kind if kind in EngagementKind.values else ""
    status = request.GET.get("status", "")
    status = status if status in EngagementStatus.values else ""
    engagements = selectors.engagement_list(request.membership, kind=kind, status=status)
    return render(
        request,
        "engagements/engagement_list.html",
        {
            "page": page_of(request, engagements),
            "kind": kind,
            "status": status,
            "kinds": EngagementKind.choices,
            "statuses": EngagementStatus.choices,
        },
    )


@ability_required("engagements.change")
def engagement_new(request: HttpRequest) -> HttpResponse:
    return render(request, "engagements/engagement_new.html")


def _guided_flow(request: HttpRequest, *, form_class, kind: str, title: str, create):
    """One guided set-up: validate, run its service (which creates a new client too, in the
    same transaction), show the checklist. A refusal leaves nothing half-made behind."""
    form = form_class(request.POST or None, request.FILES or None, membership=request.membership)
    if request.method == "POST" and form.is_valid():
        try:
            engagement = create(form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{title} set up. Here is its checklist.")
            return redirect(engagement)
    return render(
        request, "engagements/engagement_form.html", {"form": form, "kind": kind, "title": title}
    )


@ability_required("engagements.change")
@require_http_methods(["GET", "POST"])
def engagement_create_per_session(request: HttpRequest) -> HttpResponse:
    def create(data):
        return session_services.engagement_create_per_session(
            practice=request.practice,
            actor=request.user,
            client=_client_of(data),
            coach=data["coach"],
            session_minutes=data["session_minutes"],
            first_session_at=data["first_session_at"],
            send_platform_invite=data["send_platform_invite"],
            aims=data["aims"],
            allowance_override_reason=data["allowance_override_reason"],
        )

    return _guided_flow(
        request,
        form_class=PerSessionForm,
        kind=EngagementKind.PER_SESSION,
        title="Per-session coaching",
        create=create,
    )


@ability_required("engagements.change")
@require_http_methods(["GET", "POST"])
def engagement_create_monthly_package(request: HttpRequest) -> HttpResponse:
    def create(data):
        return session_services.engagement_create_monthly_package(
            practice=request.practice,
            actor=request.user,
            client=_client_of(data),
            coach=data["coach"],
            hours_per_month=data["hours_per_month"],
            cadence=data["cadence"],
            session_minutes=data["session_minutes"],
            preferred_weekday=data["preferred_weekday"],
            preferred_time=data["preferred_time"],
            starts_on=data["starts_on"],
            months=data["months"],
            aims=data["aims"],
        )

    return _guided_flow(
        request,
        form_class=MonthlyPackageForm,
        kind=EngagementKind.MONTHLY_PACKAGE,
        title="Monthly package",
        create=create,
    )


@ability_required("engagements.change")
@require_http_methods(["GET", "POST"])
def engagement_create_team_workshop(request: HttpRequest) -> HttpResponse:
    def create(data):
        return session_services.engagement_create_team_workshop(
            practice=request.practice,
            actor=request.user,
            coach=data["coach"],
            title=data["title"],
            core_subject=data["core_subject"],
            participants=data["participants"],
            organization=data["organization"],
            template=data["template"],
            agenda_items=data["agenda_items"],
            starts_at=data["starts_at"],
            session_minutes=data["session_minutes"],
        )

    return _guided_flow(
        request,
        form_class=TeamWorkshopForm,
        kind=EngagementKind.TEAM_WORKSHOP,
        title="Team workshop",
        create=create,
    )


@member_required
def engagement_detail(request: HttpRequest, engagement_pk: int) -> HttpResponse:
    membership = request.membership
    engagement = selectors.engagement_get_for_member(membership, engagement_pk)
    collection = getattr(engagement, "collection", None)
    sessions = list(engagement.sessions.select_related("client").order_by("starts_at")[:100])
    seat = selectors.open_seat_of(engagement.client) if engagement.client_id else None
    attach_allowances(sessions, seat)
    return render(
        request,
        "engagements/engagement_detail.html",
        {
            "engagement": engagement,
            "steps": engagement.steps.order_by("position"),
            "collection": collection,
            "sessions": sessions,
            "seat": seat,
            "allowance": seat_allowance(seat, at=timezone.now()) if seat else None,
            "session_form": SessionForm(
                membership=membership, initial={"minutes": engagement.session_minutes}
            ),
            "can_edit": can(membership, "engagements.change"),
            "schedule_form": _schedule_form(engagement),
            "calls": calls_for_engagement(request.practice, engagement.pk),
            **chat_selectors.slack_page_context(engagement, collection),
        },
    )


def _schedule_form(engagement: Engagement) -> ScheduleForm | None:
    if engagement.kind != EngagementKind.MONTHLY_PACKAGE:
        return None
    return ScheduleForm(
        initial={
            "cadence": engagement.cadence,
            "preferred_weekday": engagement.preferred_weekday,
            "preferred_time": engagement.preferred_time,
        }
    )


@member_required
@require_http_methods(["GET", "POST"])
def engagement_edit(request: HttpRequest, engagement_pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_member_write(request.membership, engagement_pk)
    form = EngagementEditForm(
        request.POST or None,
        initial={
            "title": engagement.title,
            "status": engagement.status,
            "aims": engagement.aims,
            "send_platform_invite": engagement.send_platform_invite,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.engagement_update(
                engagement=engagement, actor=request.user, data=form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return redirect(engagement)
    return render(request, "engagements/form.html", {"form": form, "title": f"Edit {engagement}"})


@member_required
@require_http_methods(["GET", "POST"])
def checklist_step(request: HttpRequest, engagement_pk: int, step_key: str) -> HttpResponse:
    engagement = selectors.engagement_get_for_member_write(request.membership, engagement_pk)
    if request.method != "POST":
        return redirect(engagement)
    step = engagement.steps.filter(key=step_key).first()
    if step is None:
        raise Http404("No such step.")
    form = ChecklistStepForm(request.POST)
    error = None
    if form.is_valid():
        try:
            services.checklist_step_set(
                engagement=engagement, actor=request.user, key=step_key, **form.cleaned_data
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    else:
        error = "Choose a valid state."
    if request.htmx:
        step.refresh_from_db()
        return render(
            request,
            "engagements/_step.html",
            {"step": step, "engagement": engagement, "can_edit": True, "error": error},
            status=200 if error is None else 400,
        )
    if error:
        messages.error(request, error)
    return redirect(engagement)


@member_required
@require_http_methods(["GET", "POST"])
def engagement_slack_retry(request: HttpRequest, engagement_pk: int) -> HttpResponse:
    """ "Try again": the engagement's failed or unfinished Slack work queued again."""
    engagement = selectors.engagement_get_for_member_write(request.membership, engagement_pk)
    if request.method != "POST":
        return redirect(engagement)
    try:
        chat_services.slack_work_retry(engagement=engagement, actor=request.user)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(request, "Slack: trying again. The checklist says how it went.")
    return redirect(f"{engagement.get_absolute_url()}#slack")


@member_required
@require_http_methods(["GET", "POST"])
def session_add(request: HttpRequest, engagement_pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_member(request.membership, engagement_pk)
    if request.method != "POST":
        return redirect(engagement)
    form = SessionForm(request.POST, membership=request.membership)
    if form.is_valid():
        try:
            session_services.session_schedule(
                practice=request.practice,
                actor=request.user,
                engagement=engagement,
                starts_at=form.cleaned_data["starts_at"],
                minutes=form.cleaned_data["minutes"],
                location=form.cleaned_data["location"],
                allowance_override_reason=form.cleaned_data["allowance_override_reason"],
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "Session scheduled.")
    else:
        flash_errors(request, form)
    return redirect(engagement)


# --- Collections ------------------------------------------------------------------
@member_required
def collection_detail(request: HttpRequest, collection_pk: int) -> HttpResponse:
    collection = selectors.collection_get_for_member(request.membership, collection_pk)
    audiences = selectors.resource_audiences(collection)
    return render(
        request,
        "engagements/collection_detail.html",
        {
            "collection": collection,
            "participants": collection.participants.order_by("name"),
            "resources": collection.resources.all(),
            "participants_form": ParticipantsAddForm(),
            "resource_form": ResourceForm(),
            # Whom a resource can be e-mailed to: (value, label) for the send form.
            "audiences": [
                (
                    audience,
                    f"{people[0].name} (the client)"
                    if audience == ResourceAudience.CLIENT
                    else f"Every participant ({len(people)})",
                )
                for audience, people in audiences.items()
            ],
            "can_edit": can(request.membership, "engagements.change"),
            "calls": calls_for_engagement(request.practice, collection.engagement_id),
            **chat_selectors.slack_page_context(collection.engagement, collection),
        },
    )


@member_required
@require_http_methods(["GET", "POST"])
def collection_participants_add(request: HttpRequest, collection_pk: int) -> HttpResponse:
    collection = selectors.collection_get_for_member_write(request.membership, collection_pk)
    if request.method != "POST":
        return redirect(collection)
    form = ParticipantsAddForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            added = session_services.workshop_participants_add(
                collection=collection,
                actor=request.user,
                participants=form.cleaned_data["participants"],
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, f"{added} participant(s) added.")
    else:
        flash_errors(request, form)
    return redirect(collection)


@member_required
@require_http_methods(["GET", "POST"])
def collection_resource_add(request: HttpRequest, collection_pk: int) -> HttpResponse:
    collection = selectors.collection_get_for_member_write(request.membership, collection_pk)
    if request.method != "POST":
        return redirect(collection)
    form = ResourceForm(request.POST)
    if form.is_valid():
        try:
            services.collection_resource_add(
                collection=collection, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            flash_errors(request, error)
        else:
            messages.success(request, "Resource added.")
    else:
        flash_errors(request, form)
    return redirect(collection)


@member_required
@require_http_methods(["POST"])
def collection_resource_send(request: HttpRequest, collection_pk: int) -> HttpResponse:
    """E-mail one of the collection's resources (`resource`) to the client or every
    participant (`audience`); `resend=1` sends one that was sent already again."""
    collection = selectors.collection_get_for_member_write(request.membership, collection_pk)
    resource_pk = request.POST.get("resource", "")
    if not resource_pk.isdigit():
        raise Http404("No such resource.")
    resource = get_object_or_404(collection.resources, pk=int(resource_pk))
    try:
        count = services.collection_resource_send(
            resource=resource,
            actor=request.user,
            audience=request.POST.get("audience", ""),
            resend=request.POST.get("resend") == "1",
        )
    except ValidationError as error:
        flash_errors(request, error)
    else:
        people = "1 person" if count == 1 else f"{count} people"
        messages.success(request, f"“{resource.title}” is being e-mailed to {people}.")
    return redirect(f"{collection.get_absolute_url()}#resources")


@member_required
@require_http_methods(["GET", "POST"])
def engagement_schedule(request: HttpRequest, engagement_pk: int) -> HttpResponse:
    """Change a monthly package's cadence; future sessions are regenerated."""
    engagement = selectors.engagement_get_for_member_write(request.membership, engagement_pk)
    if request.method != "POST":
        return redirect(engagement)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            session_services.engagement_schedule_change(
                engagement=engagement, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Schedule changed; future sessions were regenerated.")
    else:
        messages.error(request, "Choose a cadence, a day and a time.")
    return redirect(engagement)
