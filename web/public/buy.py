"""Public pages of a sale: an offer's buy link, and the pages Stripe Checkout returns to."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from billing import services
from billing.models import Checkout, Offer, Purchase
from coachhub.models import Practice
from coachhub.tenancy import practice_contact_email, practice_scope, scopes_disabled
from coachhub.timezones import zone_names
from web.forms import apply_validation_error
from web.limits import change_refused, post_refused
from web.public.forms import BuyForm


def _public_offer(practice_slug: str, offer_id) -> tuple[Practice, Offer]:
    practice = get_object_or_404(Practice, slug=practice_slug)
    with practice_scope(practice):
        offer = (
            Offer.objects.filter(practice=practice, public_id=offer_id, is_active=True)
            .select_related("coach", "practice")
            .first()
        )
    if offer is None:
        raise Http404("This offer is not on sale.")
    return practice, offer


@require_http_methods(["GET", "POST"])
def buy(request: HttpRequest, practice_slug: str, offer_id) -> HttpResponse:
    """A buy link: name and e-mail, then Stripe Checkout."""
    practice, offer = _public_offer(practice_slug, offer_id)
    if refused := post_refused(request, practice_id=practice.pk):
        return refused
    form = BuyForm(request.POST or None, offer=offer)
    status = 200
    with practice_scope(practice):
        if request.method == "POST" and form.is_bot:
            form.refuse()
            status = 400
        elif request.method == "POST" and form.is_valid():
            if refused := change_refused(request, practice_id=practice.pk):
                return refused
            zone = form.cleaned_data["tz"]
            try:
                checkout = services.checkout_start(
                    offer=offer,
                    name=form.cleaned_data["name"],
                    email=form.cleaned_data["email"],
                    time_zone=zone if zone in zone_names() else "",
                    places=form.cleaned_data.get("places") or 1,
                )
            except ValidationError as error:
                apply_validation_error(form, error)
                status = 400
            else:
                return redirect(checkout.url)
        elif request.method == "POST":
            status = 400
        return render(
            request,
            "billing/public/buy.html",
            {
                "practice": practice,
                "offer": offer,
                "form": form,
                "payments_ready": practice.payments_connected,
                "contact_email": ""
                if practice.payments_connected
                else practice_contact_email(practice),
            },
            status=status,
        )


def _public_checkout(checkout_id) -> Checkout:
    """Its unguessable id is the capability (Stripe's success and cancel URLs carry it)."""
    with scopes_disabled():
        checkout = (
            Checkout.objects.select_related("practice", "offer", "booking__session")
            .filter(public_id=checkout_id)
            .first()
        )
    if checkout is None:
        raise Http404("No such checkout.")
    return checkout


def checkout_done(request: HttpRequest, checkout_id) -> HttpResponse:
    """Stripe's success_url. The webhook may still be on its way: say what we know."""
    checkout = _public_checkout(checkout_id)
    with practice_scope(checkout.practice):
        purchase = Purchase.objects.filter(checkout=checkout).select_related("engagement").first()
        return render(
            request,
            "billing/public/checkout_done.html",
            {"checkout": checkout, "practice": checkout.practice, "purchase": purchase},
        )


def checkout_cancelled(request: HttpRequest, checkout_id) -> HttpResponse:
    checkout = _public_checkout(checkout_id)
    return render(
        request,
        "billing/public/checkout_cancelled.html",
        {"checkout": checkout, "practice": checkout.practice},
    )
