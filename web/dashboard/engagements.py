"""Dashboard pages for clients, companies, contracts, engagements and collections.

Views fetch through selectors, call a service, and render; role rules live in
the selectors' `*_write` variants and in the services.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from coachhub.tenancy import member_required
from coachhub.timezones import parse_month
from engagements import selectors, services
from engagements.models import ClientStatus, EngagementKind, EngagementStatus
from sessions_app.models import Session
from web.dashboard.forms import (
    ChecklistStepForm,
    ClientForm,
    ContractForm,
    EngagementEditForm,
    MonthlyPackageForm,
    OrganizationForm,
    ParticipantsAddForm,
    PerSessionForm,
    PrivateNotesForm,
    ResourceForm,
    SeatAssignForm,
    SessionForm,
    TeamWorkshopForm,
)
from web.forms import apply_validation_error


def _flash_errors(request: HttpRequest, errors) -> None:
    """Show a small inline form's errors (or a service's refusal) on the page it returns to."""
    if isinstance(errors, ValidationError):
        for message in errors.messages:
            messages.error(request, message)
        return
    for field, field_errors in errors.errors.items():
        label = errors.fields[field].label if field in errors.fields else None
        for message in field_errors:
            messages.error(
                request, f"{label or field}: {message}" if field in errors.fields else message
            )


def _page(request: HttpRequest, queryset, per_page: int = 50):
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


# --- Clients --------------------------------------------------------------------
@member_required
def client_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    if status not in ClientStatus.values:
        status = ""
    clients = selectors.client_list(request.membership, search=search, status=status)
    return render(
        request,
        "engagements/client_list.html",
        {
            "page": _page(request, clients),
            "q": search,
            "status": status,
            "statuses": ClientStatus.choices,
        },
    )


@member_required
@require_http_methods(["GET", "POST"])
def client_create(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST or None, membership=request.membership)
    if request.method == "POST" and form.is_valid():
        try:
            client = services.client_create(
                practice=request.practice, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{client.name} added.")
            return redirect(client)
    return render(request, "engagements/form.html", {"form": form, "title": "New client"})


@member_required
def client_detail(request: HttpRequest, client_pk: int) -> HttpResponse:
    membership = request.membership
    client = selectors.client_get_for_member(membership, client_pk)
    seat = selectors.open_seat_of(client)
    now = timezone.now()
    sessions = list(
        Session.objects.filter(practice=request.practice, client=client)
        .select_related("engagement", "coach", "seat__contract__organization")
        .order_by("-starts_at")[:50]
    )
    selectors.attach_allowances(sessions, seat)
    return render(
        request,
        "engagements/client_detail.html",
        {
            "client": client,
            "seat": seat,
            "allowance": selectors.seat_allowance(seat, at=now) if seat else None,
            "engagements": client.engagements.select_related("coach").order_by("-created_at"),
            "sessions": sessions,
            "can_read_notes": membership.can_read_private_notes,
        },
    )


@member_required
@require_http_methods(["GET", "POST"])
def client_edit(request: HttpRequest, client_pk: int) -> HttpResponse:
    client = selectors.client_get_for_member_write(request.membership, client_pk)
    initial = {
        "name": client.name,
        "email": client.email,
        "time_zone": client.time_zone,
        "phone": client.phone,
        "status": client.status,
        "tags": ", ".join(client.tags),
        "organization": client.organization,
        "coach": client.coach,
    }
    form = ClientForm(request.POST or None, membership=request.membership, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.client_update(client=client, actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Client saved.")
            return redirect(client)
    return render(request, "engagements/form.html", {"form": form, "title": f"Edit {client.name}"})


@member_required
@require_http_methods(["GET", "POST"])
def client_notes(request: HttpRequest, client_pk: int) -> HttpResponse:
    client = selectors.client_get_for_member(request.membership, client_pk)
    notes = selectors.client_private_notes_for_member(request.membership, client)
    form = PrivateNotesForm(request.POST or None, initial={"private_notes": notes})
    if request.method == "POST" and form.is_valid():
        services.client_private_notes_update(
            client=client,
            membership=request.membership,
            notes=form.cleaned_data["private_notes"],
        )
        messages.success(request, "Private notes saved.")
        return redirect(client)
    return render(
        request,
        "engagements/form.html",
        {
            "form": form,
            "title": f"Private notes — {client.name}",
            "intro": "Only you and the practice owners can read these. Assistants cannot.",
        },
    )


# --- Companies and contracts --------------------------------------------------------
@member_required
def organization_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "engagements/organization_list.html",
        {
            "page": _page(request, selectors.organization_list(request.membership)),
            "contracts": selectors.contract_list(request.membership)[:50],
        },
    )


@member_required
@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
    if not request.membership.can_manage_contracts:
        raise PermissionDenied("Only the practice owner manages companies and contracts.")
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = services.organization_create(
                practice=request.practice, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return redirect(organization)
    return render(request, "engagements/form.html", {"form": form, "title": "New company"})


@member_required
def organization_detail(request: HttpRequest, organization_pk: int) -> HttpResponse:
    organization = selectors.organization_get_for_member(request.membership, organization_pk)
    return render(
        request,
        "engagements/organization_detail.html",
        {
            "organization": organization,
            "contracts": selectors.contract_list(request.membership).filter(
                organization=organization
            ),
            "clients": selectors.clients_visible_to(request.membership).filter(
                organization=organization
            ),
        },
    )


@member_required
@require_http_methods(["GET", "POST"])
def organization_edit(request: HttpRequest, organization_pk: int) -> HttpResponse:
    organization = selectors.organization_get_for_member_write(request.membership, organization_pk)
    form = OrganizationForm(
        request.POST or None,
        initial={
            "name": organization.name,
            "billing_email": organization.billing_email,
            "notes": organization.notes,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_update(
                organization=organization, actor=request.user, data=form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return redirect(organization)
    return render(request, "engagements/form.html", {"form": form, "title": f"Edit {organization}"})


@member_required
@require_http_methods(["GET", "POST"])
def contract_create(request: HttpRequest) -> HttpResponse:
    if not request.membership.can_manage_contracts:
        raise PermissionDenied("Only the practice owner manages companies and contracts.")
    form = ContractForm(
        request.POST or None,
        membership=request.membership,
        initial={"organization": request.GET.get("organization")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            contract = services.contract_create(
                practice=request.practice, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return redirect(contract)
    return render(request, "engagements/form.html", {"form": form, "title": "New seat contract"})


@member_required
@require_http_methods(["GET", "POST"])
def contract_detail(request: HttpRequest, contract_pk: int) -> HttpResponse:
    membership = request.membership
    contract = selectors.contract_get_for_member(membership, contract_pk)
    form = SeatAssignForm(request.POST or None, membership=membership)
    if request.method == "POST":
        if not membership.can_manage_contracts:
            raise PermissionDenied("Only the practice owner assigns seats.")
        if form.is_valid():
            try:
                services.seat_assign(
                    practice=request.practice,
                    actor=request.user,
                    contract=contract,
                    **form.cleaned_data,
                )
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, "Seat assigned.")
                return redirect(contract)
    now = timezone.now()
    seats = list(contract.assignments.filter(ended_on__isnull=True).select_related("client"))
    allowances = selectors.seat_allowances(seats, contract, at=now)
    rows = [(seat, allowances[seat.pk]) for seat in seats]
    return render(
        request,
        "engagements/contract_detail.html",
        {"contract": contract, "rows": rows, "form": form},
    )


# --- Engagements ------------------------------------------------------------------
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
            "page": _page(request, engagements),
            "kind": kind,
            "status": status,
            "kinds": EngagementKind.choices,
            "statuses": EngagementStatus.choices,
        },
    )


@member_required
def engagement_new(request: HttpRequest) -> HttpResponse:
    _require_engagement_editor(request)
    return render(request, "engagements/engagement_new.html")


def _require_engagement_editor(request: HttpRequest) -> None:
    if not request.membership.can_edit_engagements:
        raise PermissionDenied("Assistants can view engagements but not create them.")


def _client_from(data: dict, request: HttpRequest):
    """The chosen client, or the new one typed in (found by e-mail if already known)."""
    if data.get("client"):
        return data["client"]
    client, _ = services.client_find_or_create(
        practice=request.practice,
        actor=request.user,
        email=data["new_client_email"],
        name=data["new_client_name"],
        coach=data["coach"],
    )
    return client


def _guided_flow(request: HttpRequest, *, form_class, kind: str, title: str, create):
    """One guided set-up: validate, create (client included) in one transaction, show the
    checklist. A refusal leaves nothing half-made behind."""
    _require_engagement_editor(request)
    form = form_class(request.POST or None, request.FILES or None, membership=request.membership)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                engagement = create(form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{title} set up. Here is its checklist.")
            return redirect(engagement)
    return render(
        request, "engagements/engagement_form.html", {"form": form, "kind": kind, "title": title}
    )


@member_required
@require_http_methods(["GET", "POST"])
def engagement_create_per_session(request: HttpRequest) -> HttpResponse:
    def create(data):
        return services.engagement_create_per_session(
            practice=request.practice,
            actor=request.user,
            client=_client_from(data, request),
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


@member_required
@require_http_methods(["GET", "POST"])
def engagement_create_monthly_package(request: HttpRequest) -> HttpResponse:
    def create(data):
        return services.engagement_create_monthly_package(
            practice=request.practice,
            actor=request.user,
            client=_client_from(data, request),
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


@member_required
@require_http_methods(["GET", "POST"])
def engagement_create_team_workshop(request: HttpRequest) -> HttpResponse:
    def create(data):
        return services.engagement_create_team_workshop(
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
    selectors.attach_allowances(sessions, seat)
    return render(
        request,
        "engagements/engagement_detail.html",
        {
            "engagement": engagement,
            "steps": engagement.steps.order_by("position"),
            "collection": collection,
            "sessions": sessions,
            "seat": seat,
            "allowance": selectors.seat_allowance(seat, at=timezone.now()) if seat else None,
            "session_form": SessionForm(
                membership=membership, initial={"minutes": engagement.session_minutes}
            ),
            "can_edit": membership.can_edit_engagements,
            "schedule_form": _schedule_form(engagement),
        },
    )


def _schedule_form(engagement):
    from web.dashboard.forms import ScheduleForm

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
        from django.http import Http404

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
def session_add(request: HttpRequest, engagement_pk: int) -> HttpResponse:
    from sessions_app.services import session_schedule

    engagement = selectors.engagement_get_for_member(request.membership, engagement_pk)
    if request.method != "POST":
        return redirect(engagement)
    form = SessionForm(request.POST, membership=request.membership)
    if form.is_valid():
        try:
            session_schedule(
                practice=request.practice,
                actor=request.user,
                engagement=engagement,
                starts_at=form.cleaned_data["starts_at"],
                minutes=form.cleaned_data["minutes"],
                location=form.cleaned_data["location"],
                allowance_override_reason=form.cleaned_data["allowance_override_reason"],
            )
        except ValidationError as error:
            _flash_errors(request, error)
        else:
            messages.success(request, "Session scheduled.")
    else:
        _flash_errors(request, form)
    return redirect(engagement)


# --- Collections ------------------------------------------------------------------
@member_required
def collection_detail(request: HttpRequest, collection_pk: int) -> HttpResponse:
    collection = selectors.collection_get_for_member(request.membership, collection_pk)
    return render(
        request,
        "engagements/collection_detail.html",
        {
            "collection": collection,
            "participants": collection.participants.order_by("name"),
            "resources": collection.resources.all(),
            "participants_form": ParticipantsAddForm(),
            "resource_form": ResourceForm(),
            "can_edit": request.membership.can_edit_engagements,
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
            added = services.participants_add(
                collection=collection,
                actor=request.user,
                participants=form.cleaned_data["participants"],
            )
        except ValidationError as error:
            _flash_errors(request, error)
        else:
            messages.success(request, f"{added} participant(s) added.")
    else:
        _flash_errors(request, form)
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
            _flash_errors(request, error)
        else:
            messages.success(request, "Resource added.")
    else:
        _flash_errors(request, form)
    return redirect(collection)


@member_required
@require_http_methods(["GET", "POST"])
def engagement_schedule(request: HttpRequest, engagement_pk: int) -> HttpResponse:
    """Change a monthly package's cadence; future sessions are regenerated."""
    from web.dashboard.forms import ScheduleForm

    engagement = selectors.engagement_get_for_member_write(request.membership, engagement_pk)
    if request.method != "POST":
        return redirect(engagement)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.engagement_schedule_change(
                engagement=engagement, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Schedule changed; future sessions were regenerated.")
    else:
        messages.error(request, "Choose a cadence, a day and a time.")
    return redirect(engagement)


@member_required
def contract_statement(request: HttpRequest, contract_pk: int) -> HttpResponse:
    """The monthly statement (`?month=YYYY-MM`, default this month); `?format=csv` to export."""
    import csv

    contract = selectors.contract_get_for_member(request.membership, contract_pk)
    zone = request.practice.zone
    today = timezone.now().astimezone(zone).date()
    year, month = parse_month(request.GET.get("month", "")) or (today.year, today.month)
    statement = selectors.contract_statement(contract, year=year, month=month)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"statement-{contract.organization.name}-{year}-{month:02d}.csv".replace(" ", "-")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        writer = csv.writer(response)
        writer.writerow(
            [
                "client",
                "email",
                "coach chosen",
                "first month",
                "sessions",
                "allowed",
                "outcome",
                "amount",
                "currency",
                "why",
            ]
        )
        for line in statement.lines:
            writer.writerow(
                [
                    line.seat.client.name,
                    line.seat.client.email,
                    line.seat.coach_chosen_at.astimezone(zone).date().isoformat(),
                    "yes" if line.first_month else "no",
                    line.sessions,
                    line.allowed,
                    line.outcome,
                    f"{line.amount:.2f}",
                    request.practice.currency,
                    line.explanation,
                ]
            )
        writer.writerow(
            [
                "total",
                "",
                "",
                "",
                "",
                "",
                "",
                f"{statement.total:.2f}",
                request.practice.currency,
                "",
            ]
        )
        return response
    previous = dt.date(year, month, 1) - dt.timedelta(days=1)
    following = dt.date(year, month, 28) + dt.timedelta(days=5)
    stripe_account = getattr(request.practice, "stripe_account", None)
    invoices = list(contract.invoices.filter(month=dt.date(year, month, 1)))
    return render(
        request,
        "engagements/contract_statement.html",
        {
            "contract": contract,
            "statement": statement,
            # Invoicing the company on Stripe (billing): the month's invoice, if one is
            # not void, and the voided ones as history.
            "company_invoice": next((i for i in invoices if i.status != "void"), None),
            "voided_invoices": [i for i in invoices if i.status == "void"],
            "stripe_connected": bool(stripe_account and stripe_account.verified_at),
            "stripe_hears_back": bool(stripe_account and stripe_account.webhook_secret),
            "previous": f"{previous.year}-{previous.month:02d}",
            "following": f"{following.year}-{following.month:02d}",
            "this_month": f"{year}-{month:02d}",
        },
    )
