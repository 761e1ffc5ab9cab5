"""A seat contract's monthly statement invoiced to the company on Stripe (through the real
`stripe` library against the stand-in): one line per seat, credits as negative lines,
made once per month, marked paid when Stripe says so."""

from __future__ import annotations

import datetime as dt

import pytest
import stripe
from django_scopes import scopes_disabled

from billing.models import CompanyInvoice, CompanyInvoiceStatus
from coachhub.models import Role
from engagements import services as engagement_services
from integrations.stripe import client as stripe_api

from ..kit.factories import MembershipFactory, UserFactory, seat_client_engagement
from ..kit.http import login
from ..kit.stripe import connect, deliver

UTC = dt.UTC


@pytest.fixture
def seats(db, standin):
    """Acme's contract for 2030 with three seats, connected to Stripe. March 2030:
    Eve's plain seat-month (450), Cat chose her coach on 5 March (450), Bob on 20 March
    and had no session (a 450 credit) — 450.00 GBP to invoice."""
    practice, owner, seat, _ = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 2, 10, 12, tzinfo=UTC), name="Invoices"
    )
    contract = seat.contract
    with scopes_disabled():
        contract.seats = 3
        contract.save(update_fields=["seats"])
        contract.organization.billing_email = "accounts@acme.test"
        contract.organization.save(update_fields=["billing_email"])
        for name, day in (("Cat", 5), ("Bob", 20)):
            client = engagement_services.client_create(
                practice=practice, actor=owner, name=name, email=f"{name.lower()}@acme.test"
            )
            engagement_services.seat_assign(
                practice=practice,
                actor=owner,
                contract=contract,
                client=client,
                coach=owner,
                coach_chosen_at=dt.datetime(2030, 3, day, 12, tzinfo=UTC),
            )
    connected = connect(practice, owner, standin)
    return connected, contract


def stripe_invoices(standin, connected) -> list[dict]:
    account = standin.accounts[connected.secret_key]
    return [o for o in account.objects.values() if o.get("object") == "invoice"]


@pytest.mark.django_db
def test_the_owner_invoices_a_month_once_and_the_payment_marks_it_paid(
    seats, standin, django_capture_on_commit_callbacks
):
    connected, contract = seats
    owner = login(connected.owner, connected.practice)
    statement_url = f"/contracts/{contract.pk}/statement/"
    page = owner.get(f"{statement_url}?month=2030-03").content.decode()
    assert "Create and send the Stripe invoice" in page and "450.00 GBP" in page

    answer = owner.post(f"{statement_url}invoice/", {"month": "2030-03"}, follow=True)
    assert "Stripe sent the invoice (450.00 GBP) to accounts@acme.test" in answer.content.decode()
    [sent] = stripe_invoices(standin, connected)
    assert (sent["status"], sent["total"], sent["currency"]) == ("open", 45000, "gbp")
    assert sent["customer_email"] == "accounts@acme.test"
    assert sorted(line["amount"] for line in sent["lines"]["data"]) == [-45000, 45000, 45000]
    assert any("Credit to the company" in line["description"] for line in sent["lines"]["data"])
    with scopes_disabled():
        invoice = CompanyInvoice.objects.get(contract=contract)
    assert (invoice.month, invoice.amount_total, invoice.status) == (
        dt.date(2030, 3, 1),
        45000,
        CompanyInvoiceStatus.OPEN,
    )
    assert invoice.hosted_url.endswith(f"/invoice/{sent['id']}")
    # Every POST carried a key derived from our record, so a retry reuses its objects.
    keys = {key for key, _ in standin.accounts[connected.secret_key].idempotent}
    prefix = f"company-invoice:{connected.practice.public_id}:{contract.pk}:2030-03"
    assert {f"{prefix}:customer", f"{prefix}:invoice", f"{prefix}:finalize"} <= keys

    # A second click makes no second invoice.
    again = owner.post(f"{statement_url}invoice/", {"month": "2030-03"}, follow=True)
    assert "already invoiced" in again.content.decode()
    assert len(stripe_invoices(standin, connected)) == 1

    # The company pays on Stripe's page; Stripe's signed event marks it paid, once.
    paid = standin.invoice_pay(sent["id"])
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = deliver(owner, connected.practice, paid, connected.webhook_secret)
        assert response.status_code == 200
    with scopes_disabled():
        invoice.refresh_from_db()
    assert invoice.status == CompanyInvoiceStatus.PAID and invoice.paid_at is not None
    assert "Paid" in owner.get(f"{statement_url}?month=2030-03").content.decode()


@pytest.mark.django_db
def test_a_retry_after_a_failure_continues_with_the_same_stripe_objects(seats, standin):
    connected, _ = seats
    lines = [stripe_api.InvoiceLine(key="1", description="Seat", amount=45000)]

    def send():
        return stripe_api.company_invoice_send(
            connected.secret_key,
            customer_id="",
            company_name="Acme",
            billing_email="accounts@acme.test",
            currency="GBP",
            description="Coaching seats",
            lines=lines,
            days_until_due=30,
            metadata={},
            idempotency_key="company-invoice:test",
        )

    first, second = send(), send()
    assert (first.id, first.customer_id) == (second.id, second.customer_id)
    [invoice] = stripe_invoices(standin, connected)
    assert len(invoice["lines"]["data"]) == 1 and invoice["total"] == 45000


@pytest.mark.django_db
def test_what_cannot_be_invoiced_says_why(seats, standin):
    connected, contract = seats
    owner = login(connected.owner, connected.practice)
    url = f"/contracts/{contract.pk}/statement/invoice/"
    # January: no seat yet, nothing to invoice.
    answer = owner.post(url, {"month": "2030-01"}, follow=True).content.decode()
    assert "Nothing to invoice for January 2030" in answer
    # No billing e-mail: Stripe would not know where to send it.
    with scopes_disabled():
        contract.organization.billing_email = ""
        contract.organization.save(update_fields=["billing_email"])
    answer = owner.post(url, {"month": "2030-03"}, follow=True).content.decode()
    assert "Add a billing e-mail to Acme first" in answer
    page = owner.get(f"/contracts/{contract.pk}/statement/?month=2030-03").content.decode()
    assert "has no billing e-mail" in page
    # A bad month is a message, not a 500.
    answer = owner.post(url, {"month": "March"}, follow=True)
    assert answer.status_code == 200 and "Choose the statement" in answer.content.decode()
    assert stripe_invoices(standin, connected) == []


@pytest.mark.django_db
def test_without_stripe_the_statement_says_so(db):
    practice, owner, seat, _ = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 2, 10, 12, tzinfo=UTC), name="No Stripe"
    )
    browser = login(owner, practice)
    page = browser.get(f"/contracts/{seat.contract.pk}/statement/?month=2030-03")
    assert "Stripe is not connected" in page.content.decode()
    answer = browser.post(
        f"/contracts/{seat.contract.pk}/statement/invoice/", {"month": "2030-03"}, follow=True
    )
    assert "Connect Stripe" in answer.content.decode()


@pytest.mark.django_db
def test_only_owners_invoice_and_never_another_practices_contract(seats, world):
    connected, contract = seats
    coach = UserFactory()
    MembershipFactory(practice=connected.practice, user=coach, role=Role.COACH)
    url = f"/contracts/{contract.pk}/statement/invoice/"
    assert login(coach, connected.practice).post(url, {"month": "2030-03"}).status_code == 403
    outsider = login(world.home.owner, world.home.practice)
    assert outsider.post(url, {"month": "2030-03"}).status_code == 404
    with scopes_disabled():
        assert not CompanyInvoice.objects.filter(contract=contract).exists()


def invoice_month(owner, contract, month: str = "2030-03"):
    return owner.post(f"/contracts/{contract.pk}/statement/invoice/", {"month": month}, follow=True)


@pytest.mark.django_db
def test_a_voided_invoice_frees_the_month_for_a_corrected_one(
    seats, standin, django_capture_on_commit_callbacks
):
    connected, contract = seats
    owner = login(connected.owner, connected.practice)
    invoice_month(owner, contract)
    with scopes_disabled():
        first = CompanyInvoice.objects.get(contract=contract)
    statement = owner.get(f"/contracts/{contract.pk}/statement/?month=2030-03").content.decode()
    assert "Void this invoice" in statement

    answer = owner.post(
        f"/contracts/{contract.pk}/statement/invoice/{first.pk}/void/", follow=True
    ).content.decode()
    assert "The March 2030 invoice is void" in answer
    [voided_at_stripe] = stripe_invoices(standin, connected)
    assert voided_at_stripe["status"] == "void"
    keys = {key for key, _ in standin.accounts[connected.secret_key].idempotent}
    assert f"company-invoice-void:{connected.practice.public_id}:{first.pk}" in keys
    with scopes_disabled():
        first.refresh_from_db()
    assert first.status == CompanyInvoiceStatus.VOID and first.voided_at is not None
    assert "Create and send the Stripe invoice" in answer and "Voided on" in answer

    # The corrected statement goes out as a new Stripe invoice (new idempotency keys).
    answer = invoice_month(owner, contract).content.decode()
    assert "Stripe sent the invoice (450.00 GBP)" in answer
    invoices = stripe_invoices(standin, connected)
    assert sorted(invoice["status"] for invoice in invoices) == ["open", "void"]
    with scopes_disabled():
        current = CompanyInvoice.objects.exclude(status=CompanyInvoiceStatus.VOID).get(
            contract=contract
        )
        # Stripe's customer for the company is reused.
        assert current.stripe_customer_id == first.stripe_customer_id
    assert current.stripe_invoice_id != first.stripe_invoice_id
    # Still one live invoice per month.
    assert "already invoiced" in invoice_month(owner, contract).content.decode()

    # Stripe's own `invoice.voided` for the first one, delivered late, changes nothing.
    voided_event = next(
        event
        for event in standin.accounts[connected.secret_key].events
        if event["type"] == "invoice.voided"
    )
    with django_capture_on_commit_callbacks(execute=True):
        deliver(owner, connected.practice, voided_event, connected.webhook_secret)
    with scopes_disabled():
        current.refresh_from_db()
    assert current.status == CompanyInvoiceStatus.OPEN


@pytest.mark.django_db
def test_an_invoice_voided_in_stripes_dashboard_is_void_here_and_a_paid_one_cannot_be(
    seats, standin, django_capture_on_commit_callbacks
):
    connected, contract = seats
    owner = login(connected.owner, connected.practice)
    invoice_month(owner, contract, "2030-03")
    invoice_month(owner, contract, "2030-04")
    with scopes_disabled():
        march = CompanyInvoice.objects.get(contract=contract, month=dt.date(2030, 3, 1))
        april = CompanyInvoice.objects.get(contract=contract, month=dt.date(2030, 4, 1))

    # The coach voids March in Stripe's dashboard; Stripe's signed event tells us.
    stripe.StripeClient(
        connected.secret_key, base_addresses={"api": standin.base_url}
    ).v1.invoices.void_invoice(march.stripe_invoice_id)
    voided = standin.accounts[connected.secret_key].events[-1]
    assert voided["type"] == "invoice.voided"
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            deliver(owner, connected.practice, voided, connected.webhook_secret).status_code == 200
        )
    with scopes_disabled():
        march.refresh_from_db()
    assert march.status == CompanyInvoiceStatus.VOID

    # April is paid: it cannot be voided (refund it in Stripe instead).
    paid = standin.invoice_pay(april.stripe_invoice_id)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(owner, connected.practice, paid, connected.webhook_secret)
    page = owner.get(f"/contracts/{contract.pk}/statement/?month=2030-04").content.decode()
    assert "Void this invoice" not in page
    answer = owner.post(
        f"/contracts/{contract.pk}/statement/invoice/{april.pk}/void/", follow=True
    ).content.decode()
    assert "This invoice is paid: refund the payment in Stripe" in answer
    with scopes_disabled():
        april.refresh_from_db()
    assert april.status == CompanyInvoiceStatus.PAID


@pytest.mark.django_db
def test_voiding_is_for_owners_of_the_practice_only(seats, standin, world):
    connected, contract = seats
    invoice_month(login(connected.owner, connected.practice), contract)
    with scopes_disabled():
        invoice = CompanyInvoice.objects.get(contract=contract)
    url = f"/contracts/{contract.pk}/statement/invoice/{invoice.pk}/void/"
    coach = UserFactory()
    MembershipFactory(practice=connected.practice, user=coach, role=Role.COACH)
    assert login(coach, connected.practice).post(url).status_code == 403
    assert login(world.home.owner, world.home.practice).post(url).status_code == 404
    with scopes_disabled():
        invoice.refresh_from_db()
    assert invoice.status == CompanyInvoiceStatus.OPEN


@pytest.mark.django_db
def test_without_a_webhook_secret_no_invoice_goes_out(seats, standin):
    connected, contract = seats
    with scopes_disabled():
        connected.account.webhook_secret = ""
        connected.account.save(update_fields=["webhook_secret"])
    owner = login(connected.owner, connected.practice)
    page = owner.get(f"/contracts/{contract.pk}/statement/?month=2030-03").content.decode()
    assert "no webhook signing secret" in page
    answer = invoice_month(owner, contract).content.decode()
    assert "Add the webhook signing secret" in answer
    assert stripe_invoices(standin, connected) == []
