"""A seat contract's month invoiced to the company on Stripe, paid on Stripe's invoice page."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from coachhub.audit import audit_record
from coachhub.calls import call_recorded
from coachhub.models import CallProvider, Practice, User
from coachhub.money import money_shown, to_minor
from coachhub.permissions import require
from coachhub.tenancy import membership_of
from engagements.models import Contract
from integrations.stripe import client as stripe_api

from ..models import CompanyInvoice, CompanyInvoiceStatus
from ..statements import contract_statement
from .stripe_account import verified_stripe_account

COMPANY_INVOICE_DAYS_DUE = 30


def company_invoice_create(
    *, practice: Practice, actor: User, contract: Contract, year: int, month: int
) -> CompanyInvoice:
    """Invoice one month of a contract's statement on Stripe: an item per seat line
    (a first-month credit as a negative item), sent by Stripe to the company's billing
    e-mail to pay on the hosted invoice page. Once per contract and month.

    Stripe is called outside any transaction, keyed by the contract and month: two
    clicks (or two owners) get the same Stripe invoice, and the month's unique
    constraint records it once.
    """
    require(membership_of(practice, actor), "payments.manage")
    account = verified_stripe_account(practice, to="invoice companies")
    if not account.webhook_secret:
        raise ValidationError(
            "Add the webhook signing secret (Payments → Stripe) first: without it CoachHub "
            "never hears that the company paid."
        )
    organization = contract.organization
    if not organization.billing_email:
        raise ValidationError(
            f"Add a billing e-mail to {organization} first: Stripe sends the invoice there."
        )
    first_day = dt.date(year, month, 1)
    this_month = CompanyInvoice.objects.filter(
        practice=practice, contract=contract, month=first_day
    )
    _refuse_if_invoiced(this_month, first_day)
    statement = contract_statement(contract, year=year, month=month)
    currency = practice.currency
    lines = [
        stripe_api.InvoiceLine(
            key=str(line.seat.pk),
            description=f"{line.seat.client.name}: {line.outcome}",
            amount=to_minor(line.amount, currency),
        )
        for line in statement.lines
        if line.amount
    ]
    total = sum(line.amount for line in lines)
    if total <= 0:
        raise ValidationError(
            f"Nothing to invoice for {statement.label}: "
            f"the statement's total is {money_shown(total, currency)}."
        )
    earlier_customer = (
        CompanyInvoice.objects.filter(practice=practice, contract__organization=organization)
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    month_key = f"{first_day:%Y-%m}"
    idempotency_key = f"company-invoice:{practice.public_id}:{contract.pk}:{month_key}"
    if voided := this_month.filter(status=CompanyInvoiceStatus.VOID).count():
        # A re-issue after a void is a new invoice: new keys, or Stripe would hand
        # back the voided one.
        idempotency_key += f":reissue-{voided}"
    with call_recorded(
        practice_id=practice.pk,
        provider=CallProvider.STRIPE,
        operation="invoice.send",
        subject=contract,
    ):
        sent = stripe_api.company_invoice_send(
            account.secret_key,
            customer_id=earlier_customer or "",
            company_name=organization.name,
            billing_email=organization.billing_email,
            currency=currency,
            description=f"Coaching seats, {statement.label}: {contract}",
            lines=lines,
            days_until_due=COMPANY_INVOICE_DAYS_DUE,
            metadata={"coachhub_contract": str(contract.pk), "coachhub_month": month_key},
            idempotency_key=idempotency_key,
        )
    try:
        with transaction.atomic(durable=True):
            invoice = CompanyInvoice.objects.create(
                practice=practice,
                contract=contract,
                month=first_day,
                stripe_invoice_id=sent.id,
                stripe_customer_id=sent.customer_id,
                amount_total=sent.total,
                currency=currency,
                hosted_url=sent.hosted_url,
                created_by=actor,
            )
            audit_record(
                practice=practice,
                actor=actor,
                action="company_invoice.create",
                obj=invoice,
                amount=money_shown(sent.total, currency),
            )
    except IntegrityError:  # the same month, recorded by a click that came first
        _refuse_if_invoiced(this_month, first_day)
        raise
    return invoice


def _refuse_if_invoiced(this_month: QuerySet[CompanyInvoice], first_day: dt.date) -> None:
    existing = this_month.exclude(status=CompanyInvoiceStatus.VOID).first()
    if existing is not None:
        raise ValidationError(
            f"{first_day:%B %Y} is already invoiced ({existing.get_status_display()})."
        )


def _company_invoice_locked(practice: Practice, stripe_invoice_id: str) -> CompanyInvoice | None:
    """Our record of a Stripe invoice, locked while an event changes it."""
    return (
        CompanyInvoice.objects.select_for_update(of=("self",))
        .filter(practice=practice, stripe_invoice_id=stripe_invoice_id)
        .first()
    )


def company_invoice_payment_apply(
    *, practice: Practice, stripe_invoice_id: str, paid: bool, at: dt.datetime
) -> bool:
    """What Stripe says of a company invoice's payment; False if it is not one of ours.
    Paid and void are final: a late "payment failed" for an earlier attempt changes nothing."""
    invoice = _company_invoice_locked(practice, stripe_invoice_id)
    if invoice is None:
        return False
    if invoice.status in (CompanyInvoiceStatus.PAID, CompanyInvoiceStatus.VOID):
        return True
    if paid:
        invoice.status, invoice.paid_at = CompanyInvoiceStatus.PAID, at
    else:
        invoice.status = CompanyInvoiceStatus.PAYMENT_FAILED
    invoice.save(update_fields=["status", "paid_at"])
    audit_record(
        practice=practice,
        actor=None,
        action="company_invoice.paid" if paid else "company_invoice.payment_failed",
        obj=invoice,
    )
    return True


def company_invoice_void(*, practice: Practice, actor: User, invoice: CompanyInvoice) -> None:
    """Void an unpaid company invoice on Stripe (the company can no longer pay it), so a
    corrected statement can be invoiced for the same month. Stripe first, outside any
    transaction (keyed by the invoice); then our record, unless it was paid meanwhile."""
    require(membership_of(practice, actor), "payments.manage")
    account = verified_stripe_account(practice, to="void the invoice")
    if invoice.status == CompanyInvoiceStatus.VOID:
        return
    if not invoice.can_be_voided:
        raise ValidationError(
            f"This invoice is {invoice.get_status_display().lower()}: refund the "
            "payment in Stripe rather than voiding the invoice."
        )
    with call_recorded(
        practice_id=practice.pk,
        provider=CallProvider.STRIPE,
        operation="invoice.void",
        subject=invoice,
    ):
        stripe_api.company_invoice_void(
            account.secret_key,
            invoice.stripe_invoice_id,
            idempotency_key=f"company-invoice-void:{practice.public_id}:{invoice.pk}",
        )
    with transaction.atomic(durable=True):
        locked = CompanyInvoice.objects.select_for_update(of=("self",)).get(
            practice=practice, pk=invoice.pk
        )
        if locked.can_be_voided:
            _company_invoice_mark_void(locked, actor=actor, at=timezone.now())


def company_invoice_voided_apply(
    *, practice: Practice, stripe_invoice_id: str, at: dt.datetime
) -> bool:
    """Stripe says an invoice was voided (from CoachHub or Stripe's dashboard); False if
    it is not one of ours. A paid invoice stays paid."""
    invoice = _company_invoice_locked(practice, stripe_invoice_id)
    if invoice is None:
        return False
    if invoice.can_be_voided:
        _company_invoice_mark_void(invoice, actor=None, at=at)
    return True


def _company_invoice_mark_void(
    invoice: CompanyInvoice, *, actor: User | None, at: dt.datetime
) -> None:
    invoice.status, invoice.voided_at = CompanyInvoiceStatus.VOID, at
    invoice.save(update_fields=["status", "voided_at"])
    audit_record(practice=invoice.practice, actor=actor, action="company_invoice.void", obj=invoice)
