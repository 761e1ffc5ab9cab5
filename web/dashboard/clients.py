"""Dashboard pages for clients, companies, seat contracts and their monthly statements."""

from __future__ import annotations

import csv
import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from billing import statements
from billing.models import CompanyInvoiceStatus
from billing.services import stripe_account_of
from caring.selectors import client_missed_commitments, with_missed_commitments
from coachhub.permissions import can, require
from coachhub.tenancy import ability_required, member_required
from coachhub.timezones import parse_month
from engagements import selectors, services
from engagements.models import ClientStatus
from sessions_app.allowances import attach_allowances, seat_allowance, seat_allowances
from sessions_app.models import Session
from web.dashboard.forms import (
    ClientForm,
    ContractForm,
    OrganizationForm,
    PrivateNotesForm,
    SeatAssignForm,
)
from web.dashboard.pages import page_of
from web.forms import apply_validation_error


@member_required
def client_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    status = request.GET.get("status", "")
    if status not in ClientStatus.values:
        status = ""
    clients = with_missed_commitments(
        selectors.client_list(request.membership, search=search, status=status)
    )
    return render(
        request,
        "engagements/client_list.html",
        {
            "page": page_of(request, clients),
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
    attach_allowances(sessions, seat)
    return render(
        request,
        "engagements/client_detail.html",
        {
            "client": client,
            "seat": seat,
            "allowance": seat_allowance(seat, at=now) if seat else None,
            "engagements": client.engagements.select_related("coach").order_by("-created_at"),
            "sessions": sessions,
            "can_read_notes": can(membership, "clients.notes"),
            "missed_commitments": client_missed_commitments(client),
            "can_change_commitments": can(membership, "engagements.change"),
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
            "page": page_of(request, selectors.organization_list(request.membership)),
            "contracts": selectors.contract_list(request.membership)[:50],
        },
    )


@ability_required("companies.manage")
@require_http_methods(["GET", "POST"])
def organization_create(request: HttpRequest) -> HttpResponse:
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


@ability_required("companies.manage")
@require_http_methods(["GET", "POST"])
def contract_create(request: HttpRequest) -> HttpResponse:
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
def contract_edit(request: HttpRequest, contract_pk: int) -> HttpResponse:
    contract = selectors.contract_get_for_member_write(request.membership, contract_pk)
    form = ContractForm(
        request.POST or None,
        membership=request.membership,
        editing=True,
        initial={name: getattr(contract, name) for name in services.CONTRACT_FIELDS},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.contract_update(contract=contract, actor=request.user, data=form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Contract saved.")
            return redirect(contract)
    return render(request, "engagements/form.html", {"form": form, "title": f"Edit {contract}"})


@member_required
@require_http_methods(["GET", "POST"])
def contract_detail(request: HttpRequest, contract_pk: int) -> HttpResponse:
    membership = request.membership
    contract = selectors.contract_get_for_member(membership, contract_pk)
    form = SeatAssignForm(request.POST or None, membership=membership)
    if request.method == "POST":
        require(membership, "companies.manage")  # the page is for all, its form for owners
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
    allowances = seat_allowances(seats, contract, at=now)
    rows = [(seat, allowances[seat.pk]) for seat in seats]
    return render(
        request,
        "engagements/contract_detail.html",
        {"contract": contract, "rows": rows, "form": form},
    )


@member_required
def contract_statement(request: HttpRequest, contract_pk: int) -> HttpResponse:
    """The monthly statement (`?month=YYYY-MM`, default this month); `?format=csv` to export."""
    contract = selectors.contract_get_for_member(request.membership, contract_pk)
    zone = request.practice.zone
    today = timezone.now().astimezone(zone).date()
    year, month = parse_month(request.GET.get("month", "")) or (today.year, today.month)
    statement = statements.contract_statement(contract, year=year, month=month)
    if request.GET.get("format") == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"statement-{contract.organization.name}-{year}-{month:02d}.csv".replace(" ", "-")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        csv.writer(response).writerows(statements.statement_csv_rows(statement))
        return response
    previous = dt.date(year, month, 1) - dt.timedelta(days=1)
    following = dt.date(year, month, 28) + dt.timedelta(days=5)
    stripe_account = stripe_account_of(request.practice)
    invoices = list(contract.invoices.filter(month=dt.date(year, month, 1)))
    return render(
        request,
        "engagements/contract_statement.html",
        {
            "contract": contract,
            "statement": statement,
            # Invoicing the company on Stripe (billing): the month's invoice, if one is
            # not void, and the voided ones as history.
            "company_invoice": next(
                (i for i in invoices if i.status != CompanyInvoiceStatus.VOID), None
            ),
            "voided_invoices": [i for i in invoices if i.status == CompanyInvoiceStatus.VOID],
            "stripe_connected": bool(stripe_account and stripe_account.verified_at),
            "stripe_hears_back": bool(stripe_account and stripe_account.webhook_secret),
            "previous": f"{previous.year}-{previous.month:02d}",
            "following": f"{following.year}-{following.month:02d}",
            "this_month": f"{year}-{month:02d}",
        },
    )
