"""What each Stripe event does: one handler per event type, each finding our records by
Stripe ids and metadata and calling billing's services, which key every effect so a replay
changes nothing. `StripeReads` holds what was read from Stripe before the event's
transaction (`billing.events` makes those reads, outside it)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

from coachhub.calls import call_recorded
from coachhub.models import CallProvider
from integrations.stripe import client as stripe_api
from integrations.stripe.webhooks import (
    PaidObject,
    checkout_reference,
    invoice_charge,
    invoice_paid_at,
    invoice_payment_intent,
    invoice_subscription,
    paid_from_checkout,
    stripe_time,
    subscription_started_at,
)

from . import services
from .models import Payment, Purchase, StripeAccount, StripeEvent


def on_checkout_paid(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    if obj.get("payment_status") not in ("paid", "no_payment_required"):
        return  # a delayed payment method: wait for async_payment_succeeded
    if not checkout_reference(obj):
        return  # not a CoachHub checkout (the coach sells other things on Stripe too)
    paid = paid_from_checkout(obj)
    purchase = services.purchase_ensure(practice=event.practice, paid=paid)
    services.purchase_fulfil_checkout(purchase=purchase, charge_id=paid.charge_id)


def on_checkout_failed_or_expired(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    if ref := checkout_reference(obj):
        services.checkout_expired_apply(practice=event.practice, checkout_public_id=ref)


class StripeReadNeeded(Exception):
    """A handler needs an object from Stripe first; it is read outside the transaction."""

    def __init__(self, object_id: str, *, practice_id: int, kind: str = "subscription"):
        super().__init__(f"needs {kind} {object_id} from Stripe")
        self.object_id, self.practice_id, self.kind = object_id, practice_id, kind


class StripeReads:
    """What was read from Stripe for one event, before its transaction (no outside call is
    made while the event's rows are locked): subscriptions, whose metadata older API
    shapes leave off their invoices, and charges, which a dispute names without saying
    whose they are."""

    def __init__(self, event: StripeEvent | None = None) -> None:
        self.event = event  # what the reads are for, in the call log
        self.subscription_metadata: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}

    def fetch(self, needed: StripeReadNeeded) -> None:
        account = StripeAccount.objects.get(practice_id=needed.practice_id)
        read = (
            stripe_api.charge_retrieve
            if needed.kind == "charge"
            else stripe_api.subscription_retrieve
        )
        with call_recorded(
            practice_id=needed.practice_id,
            provider=CallProvider.STRIPE,
            operation=f"{needed.kind}.retrieve",
            subject=self.event,
        ):
            found = read(account.secret_key, needed.object_id)
        if needed.kind == "charge":
            self.charges[needed.object_id] = found
        else:
            self.subscription_metadata[needed.object_id] = found.get("metadata") or {}


def _subscription_metadata(
    event: StripeEvent, subscription_id: str, metadata: dict, reads: StripeReads
) -> dict:
    if metadata.get("coachhub_checkout"):
        return metadata
    if subscription_id not in reads.subscription_metadata:
        raise StripeReadNeeded(subscription_id, practice_id=event.practice_id)
    return reads.subscription_metadata[subscription_id]


def _purchase_for_subscription(
    event: StripeEvent,
    subscription_id: str,
    metadata: dict,
    customer: str,
    reads: StripeReads,
    *,
    paid_at: dt.datetime | None,
) -> Purchase | None:
    """The subscription's purchase (made on first sight); `paid_at` is what this Stripe
    object says of when it was paid or began (the purchase keeps the earliest)."""
    found = (
        Purchase.objects.select_for_update(of=("self",))
        .select_related("engagement", "offer")
        .filter(practice=event.practice, stripe_subscription_id=subscription_id)
        .first()
    )
    if found is not None:
        services.purchase_paid_at_settle(purchase=found, at=paid_at)
        return found
    metadata = _subscription_metadata(event, subscription_id, metadata, reads)
    if not metadata.get("coachhub_checkout"):
        return None  # not a CoachHub subscription
    return services.purchase_ensure(
        practice=event.practice,
        paid=PaidObject(
            checkout_public_id=metadata["coachhub_checkout"],
            subscription_id=subscription_id,
            customer_id=customer,
            paid_at=paid_at,
        ),
    )


def on_subscription_event(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    purchase = _purchase_for_subscription(
        event,
        obj["id"],
        obj.get("metadata") or {},
        obj.get("customer") or "",
        reads,
        paid_at=subscription_started_at(obj),
    )
    if purchase is None:
        return
    status = "canceled" if event.type == "customer.subscription.deleted" else obj.get("status")
    services.subscription_state_apply(
        purchase=purchase,
        status=status or "active",
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        event_created=int(event.payload.get("created") or 0),
    )


def on_invoice(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    subscription_id, metadata = invoice_subscription(obj)
    if not subscription_id:  # a one-off invoice: a company's statement, or not ours
        services.company_invoice_payment_apply(
            practice=event.practice,
            stripe_invoice_id=obj["id"],
            paid=event.type == "invoice.paid",
            at=event.stripe_created,
        )
        return
    paid_at = None
    if event.type == "invoice.paid":  # when Stripe took the money, else the event's time
        paid_at = invoice_paid_at(obj) or stripe_time(event.payload.get("created"))
    purchase = _purchase_for_subscription(
        event, subscription_id, metadata, obj.get("customer", ""), reads, paid_at=paid_at
    )
    if purchase is None:
        return
    if not purchase.amount_total and obj.get("amount_paid"):
        purchase.amount_total = int(obj["amount_paid"])
        purchase.save(update_fields=["amount_total"])
    created = int(event.payload.get("created") or 0)
    if event.type == "invoice.paid":
        services.invoice_paid_apply(
            purchase=purchase,
            invoice_id=obj["id"],
            amount_paid=int(obj.get("amount_paid") or 0),
            event_created=created,
            payment_intent_id=invoice_payment_intent(obj),
            charge_id=invoice_charge(obj),
            paid_at=paid_at,
        )
    else:
        services.invoice_failed_apply(
            purchase=purchase, invoice_id=obj["id"], event_created=created
        )


def _purchase_for_charge(
    event: StripeEvent,
    reads: StripeReads,
    *,
    charge_id: str,
    intent: str = "",
    customer: str = "",
    charge_in_payload: bool = False,
) -> Purchase:
    """The purchase a charge paid for: by the charge itself (recorded as its payment
    arrived), its PaymentIntent, or its customer. A dispute names only the charge and,
    at most, its PaymentIntent: when those are not ours, the charge is read from Stripe
    (outside the transaction) for the PaymentIntent and customer it carries. A refund's
    event carries the charge itself, so there is nothing more to read."""
    purchases = Purchase.objects.select_for_update(of=("self",)).select_related("engagement")
    payments = Payment.objects.filter(practice=event.practice)
    if charge_id:
        paid = payments.filter(charge_id=charge_id)
        if purchase := purchases.filter(pk__in=paid.values("purchase_id")).first():
            return purchase
    if charge_id in reads.charges:
        charge = reads.charges[charge_id]
        intent = intent or _stripe_id(charge.get("payment_intent"))
        customer = customer or _stripe_id(charge.get("customer"))
    purchase = _purchase_for_intent(event, purchases, payments, intent) if intent else None
    if purchase is None and customer:
        purchase = (
            purchases.filter(practice=event.practice, stripe_customer_id=customer)
            .order_by("-paid_at")
            .first()
        )
    if purchase is None and charge_id and not charge_in_payload and charge_id not in reads.charges:
        raise StripeReadNeeded(charge_id, practice_id=event.practice_id, kind="charge")
    if purchase is None:
        raise services.NotYetProcessable(
            f"No purchase yet for charge {charge_id or intent or customer}; "
            "waiting for its checkout or invoice event."
        )
    return purchase


def _purchase_for_intent(
    event: StripeEvent, purchases: QuerySet[Purchase], payments: QuerySet[Payment], intent: str
) -> Purchase | None:
    purchase = purchases.filter(practice=event.practice, stripe_payment_intent_id=intent).first()
    if purchase is None:
        # A monthly package's payments: each paid invoice recorded its PaymentIntent.
        paid = payments.filter(payment_intent_id=intent)
        purchase = purchases.filter(pk__in=paid.values("purchase_id")).first()
    return purchase


def _stripe_id(value: Any) -> str:
    """An id Stripe gives as a string or, expanded, as the object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return value if isinstance(value, str) else ""


def on_charge_refunded(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    purchase = _purchase_for_charge(
        event,
        reads,
        charge_id=obj["id"],
        intent=_stripe_id(obj.get("payment_intent")),
        customer=_stripe_id(obj.get("customer")),
        charge_in_payload=True,
    )
    services.refund_apply(
        purchase=purchase, amount_refunded=int(obj.get("amount_refunded") or 0), charge_id=obj["id"]
    )


def on_dispute(event: StripeEvent, reads: StripeReads) -> None:
    obj = event.data_object
    charge = obj.get("charge")
    expanded = charge if isinstance(charge, dict) else {}
    purchase = _purchase_for_charge(
        event,
        reads,
        charge_id=_stripe_id(charge),
        intent=_stripe_id(obj.get("payment_intent") or expanded.get("payment_intent")),
        customer=_stripe_id(obj.get("customer") or expanded.get("customer")),
    )
    services.dispute_apply(purchase=purchase, reason=obj.get("reason") or "dispute")


def on_invoice_voided(event: StripeEvent, reads: StripeReads) -> None:
    """A company invoice voided (here or in Stripe's dashboard); the month can be invoiced
    again. Subscription invoices are Stripe's business: nothing to do."""
    obj = event.data_object
    subscription_id, _ = invoice_subscription(obj)
    if not subscription_id:
        services.company_invoice_voided_apply(
            practice=event.practice,
            stripe_invoice_id=obj["id"],
            at=event.stripe_created,
        )


HANDLERS: dict[str, Callable[[StripeEvent, StripeReads], None]] = {
    "checkout.session.completed": on_checkout_paid,
    "checkout.session.async_payment_succeeded": on_checkout_paid,
    "checkout.session.async_payment_failed": on_checkout_failed_or_expired,
    "checkout.session.expired": on_checkout_failed_or_expired,
    "customer.subscription.created": on_subscription_event,
    "customer.subscription.updated": on_subscription_event,
    "customer.subscription.deleted": on_subscription_event,
    "invoice.paid": on_invoice,
    "invoice.payment_failed": on_invoice,
    "invoice.voided": on_invoice_voided,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_dispute,
}
