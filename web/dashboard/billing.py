"""Dashboard pages for billing: the Stripe connection, offers, purchases, company invoices."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billing import selectors, services
from billing.events import HANDLERS, event_process_again
from billing.models import CompanyInvoice, EventStatus, Offer, StripeEvent
from coachhub.links import absolute
from coachhub.models import Practice
from coachhub.money import money_shown
from coachhub.tenancy import ability_required, member_required
from coachhub.timezones import parse_month
from engagements.selectors import contract_get_for_member
from integrations.errors import IntegrationError
from web.dashboard.billing_forms import OfferForm, StripeConnectForm
from web.forms import apply_validation_error


def webhook_url(practice: Practice) -> str:
    return absolute(reverse("stripe_webhook", kwargs={"practice_public_id": practice.public_id}))


@ability_required("payments.manage")
@require_http_methods(["GET", "POST"])
def stripe_settings(request: HttpRequest) -> HttpResponse:
    practice = request.practice
    form = StripeConnectForm(request.POST or None)
    if request.method == "POST" and request.POST.get("action") == "disconnect":
        services.stripe_account_disconnect(practice=practice, actor=request.user)
        messages.success(request, "Stripe disconnected; paid links stop offering checkout.")
        return redirect("stripe_settings")
    if request.method == "POST" and form.is_valid():
        try:
            services.stripe_account_connect(
                practice=practice, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Stripe key checked with Stripe and saved.")
            return redirect("stripe_settings")
    account = services.stripe_account_of(practice)
    events = StripeEvent.objects.filter(practice=practice).order_by("-received_at")[:20]
    return render(
        request,
        "billing/stripe_settings.html",
        {
            "form": form,
            "account": account,
            "webhook_url": webhook_url(practice),
            "events": events,
            "handled_events": sorted(_handled_events()),
            "failed_count": StripeEvent.objects.filter(
                practice=practice, status__in=[EventStatus.FAILED, EventStatus.DEAD]
            ).count(),
            "invalid_count": StripeEvent.objects.filter(
                practice=practice, status=EventStatus.INVALID
            ).count(),
        },
    )


def _handled_events() -> list[str]:
    return list(HANDLERS)


@member_required
def offer_list(request: HttpRequest) -> HttpResponse:
    offers = Offer.objects.filter(practice=request.practice).select_related("coach", "practice")
    return render(
        request,
        "billing/offer_list.html",
        {"offers": offers, "account": services.stripe_account_of(request.practice)},
    )


@ability_required("offers.manage")
@require_http_methods(["GET", "POST"])
def offer_edit(request: HttpRequest, offer_pk: int | None = None) -> HttpResponse:
    offer = None
    if offer_pk is not None:
        offer = Offer.objects.filter(practice=request.practice, pk=offer_pk).first()
        if offer is None:
            raise Http404("No such offer.")
    form = OfferForm(
        request.POST or None,
        instance=offer,
        practice=request.practice,
        initial=None if offer else {"coach": request.user.pk},
    )
    if request.method == "POST" and form.is_valid():
        try:
            fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
            services.offer_save(
                practice=request.practice, actor=request.user, offer=offer, **fields
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "Offer saved.")
            return redirect("offer_list")
    return render(request, "billing/offer_form.html", {"form": form, "offer": offer})


@member_required
def purchase_list(request: HttpRequest) -> HttpResponse:
    """Coaches see what their own offers sold; owners and assistants the practice's."""
    purchases = selectors.purchase_list(request.membership)
    return render(request, "billing/purchase_list.html", {"purchases": purchases})


@ability_required("payments.manage")
@require_POST
def stripe_event_retry(request: HttpRequest, event_pk: int) -> HttpResponse:
    """Process a failed or invalid event again (after fixing what its error says)."""
    event = StripeEvent.objects.filter(practice=request.practice, pk=event_pk).first()
    if event is None:
        raise Http404("No such event.")
    event_process_again(event=event, actor=request.user)
    messages.success(request, f"{event.type} queued for processing again.")
    return redirect("stripe_settings")


@ability_required("payments.manage")
@require_POST
def company_invoice_create(request: HttpRequest, contract_pk: int) -> HttpResponse:
    """Invoice one month of a seat contract's statement to the company, on Stripe."""
    contract = contract_get_for_member(request.membership, contract_pk)
    statement_url = reverse("contract_statement", kwargs={"contract_pk": contract.pk})
    parsed = parse_month(request.POST.get("month", ""))
    if parsed is None:
        messages.error(request, "Choose the statement's month (YYYY-MM).")
        return redirect(statement_url)
    year, month = parsed
    try:
        invoice = services.company_invoice_create(
            practice=request.practice,
            actor=request.user,
            contract=contract,
            year=year,
            month=month,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except IntegrationError as error:
        messages.error(request, services.stripe_trouble(error, outcome="no invoice was sent"))
    else:
        messages.success(
            request,
            f"Stripe sent the invoice ({money_shown(invoice.amount_total, invoice.currency)}) "
            f"to {contract.organization.billing_email}.",
        )
    return redirect(f"{statement_url}?month={year}-{month:02d}")


@ability_required("payments.manage")
@require_POST
def company_invoice_void(request: HttpRequest, contract_pk: int, invoice_pk: int) -> HttpResponse:
    """Void an unpaid company invoice on Stripe, so the month can be invoiced again."""
    contract = contract_get_for_member(request.membership, contract_pk)
    invoice = CompanyInvoice.objects.filter(
        practice=request.practice, contract=contract, pk=invoice_pk
    ).first()
    if invoice is None:
        raise Http404("No such invoice.")
    try:
        services.company_invoice_void(
            practice=request.practice, actor=request.user, invoice=invoice
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    except IntegrationError as error:
        messages.error(
            request, services.stripe_trouble(error, outcome="the invoice was not voided")
        )
    else:
        messages.success(
            request,
            f"The {invoice.month:%B %Y} invoice is void: {contract.organization} can no longer "
            "pay it. Correct the statement if needed, then invoice the month again.",
        )
    statement_url = reverse("contract_statement", kwargs={"contract_pk": contract.pk})
    return redirect(f"{statement_url}?month={invoice.month:%Y-%m}")
