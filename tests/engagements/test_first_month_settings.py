"""The first-month rule's cut-off day and its late-month credit are settings of the
contract: edited on the contract's page (and the API), shown there, and applied by the
statement and its CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django_scopes import scopes_disabled

from billing.statements import contract_statement
from engagements.models import Contract
from engagements.seat_billing import FirstMonthOutcome, first_month_charge

from ..kit.factories import seat_client_engagement
from ..kit.http import login

UTC = dt.UTC


def contract_form(contract: Contract, **changes) -> dict:
    data = {
        "title": contract.title,
        "starts_on": contract.starts_on.isoformat(),
        "ends_on": contract.ends_on.isoformat(),
        "seats": contract.seats,
        "sessions_per_seat_per_month": contract.sessions_per_seat_per_month,
        "session_minutes": contract.session_minutes,
        "price_per_seat_month": str(contract.price_per_seat_month),
        "first_month_cutoff_day": contract.first_month_cutoff_day,
        "first_month_credit": "on" if contract.first_month_credit else "",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value != ""}


def csv_rows(browser, contract: Contract, month: str) -> list[list[str]]:
    export = browser.get(f"/contracts/{contract.pk}/statement/?month={month}&format=csv")
    return list(csv.reader(io.StringIO(export.content.decode())))


@pytest.mark.django_db
def test_a_contract_with_a_cutoff_on_the_10th_bills_and_credits_by_it():
    # Chosen on the 12th: before the default cut-off (15th), after this contract's (10th).
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 3, 12, 12, tzinfo=UTC), name="Cut-off"
    )
    contract = seat.contract
    browser = login(owner, practice)
    response = browser.post(
        f"/contracts/{contract.pk}/edit/", contract_form(contract, first_month_cutoff_day=10)
    )
    assert response.status_code == 302
    with scopes_disabled():
        contract.refresh_from_db()
        assert contract.first_month_cutoff_day == 10
        [line] = contract_statement(contract, year=2030, month=3).lines
    assert (line.outcome, line.amount) == ("Credit to the company", Decimal("-450.00"))
    assert "after the 10th" in line.explanation
    page = browser.get(f"/contracts/{contract.pk}/").content.decode()
    assert "on or before the 10th" in page
    statement_page = browser.get(f"/contracts/{contract.pk}/statement/?month=2030-03")
    assert "on or before the 10th" in statement_page.content.decode()
    rows = csv_rows(browser, contract, "2030-03")
    assert rows[1][6:8] == ["Credit to the company", "-450.00"]
    assert rows[-1][7] == "-450.00"


@pytest.mark.django_db
def test_with_the_credit_switched_off_an_unused_late_first_month_is_not_billed():
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 3, 18, 12, tzinfo=UTC), name="No credit"
    )
    contract = seat.contract
    browser = login(owner, practice)
    response = browser.post(
        f"/contracts/{contract.pk}/edit/", contract_form(contract, first_month_credit="")
    )
    assert response.status_code == 302
    with scopes_disabled():
        contract.refresh_from_db()
        assert contract.first_month_credit is False
        [line] = contract_statement(contract, year=2030, month=3).lines
    assert (line.outcome, line.amount) == ("Not billable", Decimal("0"))
    assert "no credit" in line.explanation
    assert "not billed (no credit)" in browser.get(f"/contracts/{contract.pk}/").content.decode()
    rows = csv_rows(browser, contract, "2030-03")
    assert rows[1][6:8] == ["Not billable", "0.00"]
    assert rows[-1][7] == "0.00"


@pytest.mark.django_db
def test_a_new_contract_keeps_the_15th_and_the_credit_and_refuses_a_29th():
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 3, 12, 12, tzinfo=UTC), name="Defaults"
    )
    contract = seat.contract
    assert (contract.first_month_cutoff_day, contract.first_month_credit) == (15, True)
    browser = login(owner, practice)
    page = browser.get(f"/contracts/{contract.pk}/").content.decode()
    assert "on or before the 15th" in page and f"/contracts/{contract.pk}/edit/" in page
    response = browser.post(
        f"/contracts/{contract.pk}/edit/", contract_form(contract, first_month_cutoff_day=29)
    )
    assert response.status_code == 200  # the form again, with the error
    with scopes_disabled():
        contract.refresh_from_db()
    assert contract.first_month_cutoff_day == 15


@pytest.mark.django_db
def test_the_api_reads_and_changes_the_first_month_settings():
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 3, 12, 12, tzinfo=UTC), name="API rule"
    )
    browser = login(owner, practice)
    url = f"/api/v1/contracts/{seat.contract.pk}/"
    assert browser.get(url).json()["first_month_cutoff_day"] == 15
    response = browser.patch(
        url,
        {"first_month_cutoff_day": 5, "first_month_credit": False},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert (response.json()["first_month_cutoff_day"], response.json()["first_month_credit"]) == (
        5,
        False,
    )


@pytest.mark.parametrize(
    "day, sessions, under_contract, credit, outcome",
    [
        (20, 0, True, True, FirstMonthOutcome.FULL_PRICE),  # on or before the 20th
        (21, 0, True, True, FirstMonthOutcome.CREDIT),
        (21, 0, True, False, FirstMonthOutcome.NOT_BILLABLE),
        (21, 1, True, False, FirstMonthOutcome.FULL_PRICE),
        (21, 0, False, True, FirstMonthOutcome.NOT_BILLABLE),
    ],
)
def test_the_rule_with_a_cutoff_on_the_20th(day, sessions, under_contract, credit, outcome):
    charge = first_month_charge(
        chosen_at=dt.datetime(2030, 5, day, 12, tzinfo=UTC),
        zone=ZoneInfo("Europe/London"),
        sessions_in_first_month=sessions,
        under_contract=under_contract,
        price_per_seat_month=Decimal("100"),
        cutoff_day=20,
        credit_when_unused=credit,
    )
    assert charge.outcome == outcome
