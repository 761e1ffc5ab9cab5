"""Seat allowances and the first-month billing rule, at time-zone edges."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_scopes import scopes_disabled
from hypothesis import given, settings
from hypothesis import strategies as st

from coachhub.timezones import month_bounds
from engagements.seat_billing import FirstMonthOutcome, first_month_charge
from sessions_app.allowances import seat_allowance
from sessions_app.services import session_create

from ..kit.factories import UserFactory, seat_client_engagement
from ..kit.http import login

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
PRICE = Decimal("450.00")


def local(zone, *args):
    return dt.datetime(*args, tzinfo=zone)


# --- The first-month rule, as a table --------------------------------------------
CASES = [
    # chosen (local), sessions, under contract, expected outcome
    ((2026, 3, 1, 9, 0), 0, True, FirstMonthOutcome.FULL_PRICE),
    ((2026, 3, 10, 9, 0), 1, True, FirstMonthOutcome.FULL_PRICE),
    ((2026, 3, 10, 9, 0), 2, False, FirstMonthOutcome.FULL_PRICE),
    ((2026, 3, 15, 23, 30), 0, True, FirstMonthOutcome.FULL_PRICE),  # still the 15th
    ((2026, 3, 15, 23, 30), 2, True, FirstMonthOutcome.FULL_PRICE),
    ((2026, 3, 16, 0, 30), 0, True, FirstMonthOutcome.CREDIT),  # the 16th
    ((2026, 3, 16, 0, 30), 0, False, FirstMonthOutcome.NOT_BILLABLE),
    ((2026, 3, 16, 0, 30), 1, True, FirstMonthOutcome.FULL_PRICE),
    ((2026, 3, 16, 0, 30), 2, False, FirstMonthOutcome.FULL_PRICE),
    ((2026, 3, 31, 23, 59), 0, True, FirstMonthOutcome.CREDIT),
    ((2026, 3, 31, 23, 59), 1, False, FirstMonthOutcome.FULL_PRICE),
]


@pytest.mark.parametrize("chosen, sessions, under_contract, expected", CASES)
def test_first_month_rule_table(chosen, sessions, under_contract, expected):
    charge = first_month_charge(
        chosen_at=local(LONDON, *chosen).astimezone(UTC),
        zone=LONDON,
        sessions_in_first_month=sessions,
        under_contract=under_contract,
        price_per_seat_month=PRICE,
    )
    assert charge.outcome == expected
    expected_amount = {"full_price": PRICE, "credit": -PRICE, "not_billable": Decimal("0")}
    assert charge.amount == expected_amount[expected]


def test_the_15th_is_decided_in_the_practice_zone_not_utc():
    # 23:30 on the 15th in New York is already 04:30 on the 16th in UTC.
    chosen = local(NEW_YORK, 2026, 3, 15, 23, 30).astimezone(UTC)
    assert chosen.day == 16
    in_new_york = first_month_charge(
        chosen_at=chosen,
        zone=NEW_YORK,
        sessions_in_first_month=0,
        under_contract=True,
        price_per_seat_month=PRICE,
    )
    in_utc = first_month_charge(
        chosen_at=chosen,
        zone=ZoneInfo("UTC"),
        sessions_in_first_month=0,
        under_contract=True,
        price_per_seat_month=PRICE,
    )
    assert in_new_york.outcome == FirstMonthOutcome.FULL_PRICE
    assert in_utc.outcome == FirstMonthOutcome.CREDIT


@given(
    day=st.integers(1, 28),
    hour=st.integers(0, 23),
    sessions=st.integers(0, 2),
    under_contract=st.booleans(),
    zone=st.sampled_from(
        [
            "Europe/London",
            "America/New_York",
            "Australia/Lord_Howe",
            "Asia/Kolkata",
            "Pacific/Chatham",
        ]
    ),
)
@settings(max_examples=200, deadline=None)
def test_first_month_rule_matches_its_statement(day, hour, sessions, under_contract, zone):
    zone = ZoneInfo(zone)
    chosen = dt.datetime(2026, 10, day, hour, 15, tzinfo=zone).astimezone(UTC)
    charge = first_month_charge(
        chosen_at=chosen,
        zone=zone,
        sessions_in_first_month=sessions,
        under_contract=under_contract,
        price_per_seat_month=PRICE,
    )
    if day <= 15 or sessions > 0:
        assert charge.outcome == FirstMonthOutcome.FULL_PRICE
    elif under_contract:
        assert charge.outcome == FirstMonthOutcome.CREDIT
    else:
        assert charge.outcome == FirstMonthOutcome.NOT_BILLABLE


def test_negative_session_count_is_a_programming_error():
    with pytest.raises(ValueError):
        first_month_charge(
            chosen_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
            zone=LONDON,
            sessions_in_first_month=-1,
            under_contract=True,
            price_per_seat_month=PRICE,
        )


# --- Month boundaries in a zone ----------------------------------------------------
def test_month_bounds_follow_dst():
    start, end = month_bounds(2026, 3, LONDON)  # clocks go forward on 29 March
    assert start == dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    assert end == dt.datetime(2026, 3, 31, 23, 0, tzinfo=UTC)  # 1 April 00:00 BST
    start, end = month_bounds(2026, 12, NEW_YORK)
    assert start == dt.datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    assert end == dt.datetime(2027, 1, 1, 5, 0, tzinfo=UTC)


# --- Allowance with real sessions ----------------------------------------------------
@pytest.fixture
def seat_setup(db):
    return seat_client_engagement(year=2026, chosen_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def book(practice, owner, engagement, when, **extra):
    with scopes_disabled():
        return session_create(
            practice=practice,
            actor=owner,
            engagement=engagement,
            starts_at=when,
            minutes=55,
            now=dt.datetime(2026, 3, 1, tzinfo=UTC),
            **extra,
        )


def test_allowance_counts_sessions_in_the_local_month(seat_setup):
    practice, owner, seat, engagement = seat_setup
    # 23:30 on 31 March in London is 22:30 UTC: March. 00:30 on 1 April London is
    # 23:30 UTC on 31 March: April.
    book(practice, owner, engagement, local(LONDON, 2026, 3, 31, 23, 30))
    book(practice, owner, engagement, local(LONDON, 2026, 4, 1, 0, 30))
    with scopes_disabled():
        march = seat_allowance(seat, at=local(LONDON, 2026, 3, 20, 12, 0))
        april = seat_allowance(seat, at=local(LONDON, 2026, 4, 20, 12, 0))
    assert (march.used, march.remaining) == (1, 1)
    assert (april.used, april.remaining) == (1, 1)


def test_booking_beyond_the_allowance_is_refused_with_a_clear_message(seat_setup):
    practice, owner, seat, engagement = seat_setup
    book(practice, owner, engagement, local(LONDON, 2026, 3, 10, 10, 0))
    book(practice, owner, engagement, local(LONDON, 2026, 3, 17, 10, 0))
    coach = UserFactory()
    from coachhub.models import Membership, Role

    Membership.objects.create(practice=practice, user=coach, role=Role.COACH)
    with pytest.raises(ValidationError) as refused:
        with scopes_disabled():
            session_create(
                practice=practice,
                actor=coach,
                engagement=engagement,
                starts_at=local(LONDON, 2026, 3, 24, 10, 0),
                minutes=55,
                now=dt.datetime(2026, 3, 1, tzinfo=UTC),
            )
    assert "used all 2 sessions" in " ".join(refused.value.messages)
    assert "March 2026" in " ".join(refused.value.messages)
    # A coach cannot override; an owner can, and the reason is kept.
    with pytest.raises(ValidationError):
        with scopes_disabled():
            session_create(
                practice=practice,
                actor=coach,
                engagement=engagement,
                starts_at=local(LONDON, 2026, 3, 24, 10, 0),
                minutes=55,
                allowance_override_reason="please",
                now=dt.datetime(2026, 3, 1, tzinfo=UTC),
            )
    session = book(
        practice,
        owner,
        engagement,
        local(LONDON, 2026, 3, 24, 10, 0),
        allowance_override_reason="Agreed extra session with HR",
    )
    assert session.allowance_override_reason == "Agreed extra session with HR"
    from coachhub.models import AuditEntry

    with scopes_disabled():
        assert AuditEntry.objects.filter(
            action="session.create",
            object_id=str(session.pk),
            data__override="Agreed extra session with HR",
        ).exists()
    # April is a new month with a fresh allowance.
    book(practice, owner, engagement, local(LONDON, 2026, 4, 1, 10, 0))


def test_seat_clients_cannot_be_booked_into_the_past(seat_setup):
    practice, owner, seat, engagement = seat_setup
    with pytest.raises(ValidationError) as refused, scopes_disabled():
        session_create(
            practice=practice,
            actor=owner,
            engagement=engagement,
            starts_at=dt.datetime(2026, 2, 27, 10, tzinfo=UTC),
            minutes=55,
            now=dt.datetime(2026, 3, 1, tzinfo=UTC),
        )
    assert "past" in " ".join(refused.value.messages)


def test_seat_clients_cannot_be_booked_outside_the_contract(seat_setup):
    practice, owner, seat, engagement = seat_setup
    with pytest.raises(ValidationError) as refused, scopes_disabled():
        session_create(
            practice=practice,
            actor=owner,
            engagement=engagement,
            starts_at=dt.datetime(2027, 1, 5, 10, tzinfo=UTC),
            minutes=55,
            now=dt.datetime(2026, 3, 1, tzinfo=UTC),
        )
    assert "outside" in " ".join(refused.value.messages)


def test_late_cancels_and_no_shows_count_as_used(seat_setup):
    from sessions_app.models import SessionStatus

    practice, owner, seat, engagement = seat_setup
    first = book(practice, owner, engagement, local(LONDON, 2026, 3, 10, 10, 0))
    second = book(practice, owner, engagement, local(LONDON, 2026, 3, 11, 10, 0))
    with scopes_disabled():
        first.status = SessionStatus.LATE_CANCELLED
        first.save()
        second.status = SessionStatus.CANCELLED
        second.save()
        allowance = seat_allowance(seat, at=local(LONDON, 2026, 3, 12, 0, 0))
    assert allowance.used == 1


def test_seat_client_card_shows_programme_contract_and_usage(seat_setup):
    practice, owner, seat, engagement = seat_setup
    with time_machine.travel(dt.datetime(2026, 3, 5, 9, 0, tzinfo=UTC), tick=False):
        book(practice, owner, engagement, local(LONDON, 2026, 3, 10, 10, 0))
        page = login(owner, practice).get(f"/clients/{seat.client_id}/").content.decode()
    assert "Acme" in page
    assert "March 2026" in page
    assert "<strong>1</strong> of 2 sessions used" in page
    assert engagement.title in page
    assert "March 2026: 1 of 2 used, 1 left" in page  # on the session card itself
