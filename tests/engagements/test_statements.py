"""Monthly statements per seat contract: the first-month rule applied seat by seat,
shown on the contract's page and exported as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django_scopes import scopes_disabled

from billing.statements import contract_statement
from sessions_app.models import Session, SessionStatus

from ..kit.factories import seat_client_engagement
from ..kit.http import login

UTC = dt.UTC


def _sessions(engagement, seat, starts: list[dt.datetime]) -> None:
    for start in starts:
        Session.objects.create(
            practice=engagement.practice,
            engagement=engagement,
            coach=engagement.coach,
            client=engagement.client,
            seat=seat,
            consumes="seat_month",
            title="Seat session",
            status=SessionStatus.COMPLETED,
            starts_at=start,
            ends_at=start + dt.timedelta(minutes=55),
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "chosen_day, sessions, outcome, amount",
    [
        (10, 0, "Full price", "450.00"),
        (15, 1, "Full price", "450.00"),
        (16, 0, "Credit to the company", "-450.00"),
        (20, 1, "Full price", "450.00"),
        (20, 2, "Full price", "450.00"),
    ],
)
def test_first_month_lines(chosen_day, sessions, outcome, amount):
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 3, chosen_day, 12, tzinfo=UTC)
    )
    with scopes_disabled():
        _sessions(
            engagement, seat, [dt.datetime(2030, 3, 25 + n, 9, tzinfo=UTC) for n in range(sessions)]
        )
        statement = contract_statement(seat.contract, year=2030, month=3)
        [line] = statement.lines
        assert (line.first_month, line.sessions, line.outcome) == (True, sessions, outcome)
        assert line.amount == Decimal(amount) and statement.total == Decimal(amount)
        # The month after is a plain seat-month, whatever was used.
        april = contract_statement(seat.contract, year=2030, month=4)
        assert [(x.first_month, x.amount) for x in april.lines] == [(False, Decimal("450.00"))]
        # Before the coach was chosen there is nothing to bill.
        assert contract_statement(seat.contract, year=2030, month=2).lines == []


@pytest.mark.django_db
def test_the_statement_page_and_csv(world):
    practice, owner, seat, engagement = seat_client_engagement(
        year=2030, chosen_at=dt.datetime(2030, 3, 18, 12, tzinfo=UTC), name="Statements"
    )
    browser = login(owner, practice)
    page = browser.get(f"/contracts/{seat.contract.pk}/statement/?month=2030-03")
    assert page.status_code == 200
    assert "Credit to the company" in page.content.decode()
    export = browser.get(f"/contracts/{seat.contract.pk}/statement/?month=2030-03&format=csv")
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0][:3] == ["client", "email", "coach chosen"]
    assert rows[1][0] == "Eve" and rows[1][7] == "-450.00"
    assert rows[-1][0] == "total" and rows[-1][7] == "-450.00"
    assert browser.get(f"/contracts/{seat.contract.pk}/statement/?month=bad").status_code == 200
