"""Metrics a coach reads: revenue by month, order value, offer mix, renewals, sessions
and seat use — counted in the practice's own calendar, and never another coach's money."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from billing import services as billing_services
from billing.metrics import revenue_by_month, revenue_metrics, seat_utilisation
from billing.models import Offer, Payment, Purchase
from coachhub.models import Membership, Role
from coachhub.money import from_minor, money_shown, to_minor
from engagements import services as engagement_services
from engagements.services import practice_set_up
from sessions_app import services as session_services
from sessions_app.models import Session, SessionStatus
from sessions_app.selectors import sessions_by_month
from tests.kit.factories import UserFactory
from tests.kit.http import login
from web.dashboard.charts import ChartPoint, axis_ticks, bar_chart

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2026, 6, 15, tzinfo=UTC)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


class Shop:
    """An Auckland practice (owner + coach) with one offer of each kind."""

    def __init__(self):
        self.owner = UserFactory(time_zone="Pacific/Auckland")
        self.coach = UserFactory(time_zone="Pacific/Auckland")
        self.practice = practice_set_up(
            owner=self.owner, name="Metrics", time_zone="Pacific/Auckland"
        )
        Membership.objects.create(practice=self.practice, user=self.coach, role=Role.COACH)
        self.clients = 0
        with scopes_disabled():
            save = billing_services.offer_save
            common = {"practice": self.practice, "actor": self.owner, "coach": self.owner}
            self.single = save(**common, kind="single_session", name="One", price="120.00")
            self.pack = save(**common, kind="session_pack", name="Five", price="550.00", sessions=5)
            self.monthly = save(
                **common,
                kind="monthly_package",
                name="Monthly",
                price="280.00",
                hours_per_month="2",
                months=3,
                session_minutes=60,
            )
            self.workshop = save(
                practice=self.practice,
                actor=self.coach,
                coach=self.coach,
                kind="team_workshop",
                name="Workshop",
                price="1800.00",
                capacity=10,
            )

    def membership(self, user) -> Membership:
        return Membership.objects.select_related("practice").get(practice=self.practice, user=user)

    def paid(self, offer: Offer, *payments: str, currency: str = "GBP", refunded: int = 0):
        """A purchase as the pipeline leaves it: one Payment per checkout or invoice."""
        self.clients += 1
        amount = to_minor(offer.price, currency)
        with scopes_disabled():
            client = engagement_services.client_find_or_create(
                practice=self.practice,
                actor=self.owner,
                email=f"buyer{self.clients}@example.org",
                name=f"Buyer {self.clients}",
            )[0]
            purchase = Purchase.objects.create(
                practice=self.practice,
                offer=offer,
                client=client,
                amount_total=amount,
                amount_refunded=refunded,
                currency=currency,
                paid_at=at(payments[0]),
                stripe_checkout_id=f"cs_{self.clients}",
                stripe_subscription_id=f"sub_{self.clients}" if offer.is_subscription else "",
            )
            for number, when in enumerate(payments):
                Payment.objects.create(
                    practice=self.practice,
                    purchase=purchase,
                    stripe_id=f"in_{self.clients}_{number}",
                    amount=amount,
                    currency=currency,
                    paid_at=at(when),
                )
        return purchase


@pytest.fixture
def shop() -> Shop:
    shop = Shop()
    # 12:00 UTC on 31 March is 01:00 on 1 April in Auckland: April's revenue.
    shop.paid(shop.single, "2026-03-31T12:00")
    shop.paid(shop.pack, "2026-06-01T09:00", refunded=11000)
    shop.paid(shop.monthly, "2026-04-10T00:00", "2026-05-10T00:00")  # renewed
    shop.paid(shop.monthly, "2026-05-01T00:00")  # renewal due 31 May: not renewed
    shop.paid(shop.monthly, "2026-06-05T00:00")  # renewal not due yet
    shop.paid(shop.workshop, "2026-05-20T00:00")  # the coach's own offer
    shop.paid(shop.single, "2026-06-02T00:00", currency="USD")
    shop.paid(shop.single, "2025-05-01T00:00")  # before the 12 months
    return shop


def test_revenue_by_month_in_the_practice_calendar(shop):
    with scopes_disabled():
        revenue = revenue_by_month(shop.membership(shop.owner), now=NOW)
    months = {month.month: (month.amount, month.payments) for month in revenue.months}
    assert len(revenue.months) == 12
    assert revenue.months[0].month == dt.date(2025, 7, 1)
    assert revenue.months[-1].month == dt.date(2026, 6, 1)
    assert months[dt.date(2026, 3, 1)] == (0, 0)
    assert months[dt.date(2026, 4, 1)] == (12000 + 28000, 2)
    assert months[dt.date(2026, 5, 1)] == (28000 + 28000 + 180000, 3)
    assert months[dt.date(2026, 6, 1)] == (55000 + 28000, 2)
    assert revenue.total == 359000
    assert revenue.other_currencies == {"USD": 12000}


def test_order_value_mix_and_renewals(shop):
    with scopes_disabled():
        metrics = revenue_metrics(shop.membership(shop.owner), now=NOW)
    assert metrics.orders == 6
    assert metrics.average_order_value == (12000 + 55000 + 3 * 28000 + 180000) // 6
    assert metrics.refunded == 11000
    mix = {row.label: (row.purchases, row.amount) for row in metrics.mix}
    assert mix == {
        "One-off sessions": (1, 12000),
        "Packages": (4, 55000 + 4 * 28000),
        "Team workshops": (1, 180000),
    }
    assert (metrics.subscriptions_due, metrics.subscriptions_renewed) == (2, 1)
    assert metrics.renewal_rate == 0.5


def test_a_coach_sees_only_what_their_own_offers_earned(shop):
    with scopes_disabled():
        metrics = revenue_metrics(shop.membership(shop.coach), now=NOW)
    assert metrics.by_month.total == 180000
    assert metrics.orders == 1
    assert metrics.renewal_rate is None
    with time_machine.travel(NOW, tick=False):
        page = login(shop.coach, shop.practice).get("/dashboard/metrics/").content.decode()
    assert "1,800.00 GBP" in page and "550.00 GBP" not in page


def test_no_orders_reads_as_a_dash_not_zero():
    shop = Shop()
    with scopes_disabled():
        metrics = revenue_metrics(shop.membership(shop.owner), now=NOW)
    assert metrics.orders == 0 and metrics.average_order_value is None
    assert metrics.renewal_rate is None
    page = login(shop.owner, shop.practice).get("/dashboard/metrics/").content.decode()
    assert "No orders in the last 12 months yet" in page
    assert "connect Stripe" in page


def _engagement(shop: Shop, client=None):
    with scopes_disabled():
        client = client or engagement_services.client_create(
            practice=shop.practice, actor=shop.owner, name="Sessions", email="s@example.org"
        )
        return session_services.engagement_create_per_session(
            practice=shop.practice, actor=shop.owner, client=client, coach=shop.owner
        )


def _session(engagement, starts: str, status: str, **extra) -> Session:
    with scopes_disabled():
        return Session.objects.create(
            practice=engagement.practice,
            engagement=engagement,
            coach=engagement.coach,
            client=engagement.client,
            title="Session",
            starts_at=at(starts),
            ends_at=at(starts) + dt.timedelta(minutes=55),
            status=status,
            **extra,
        )


def test_sessions_per_month_counts_time_used_in_the_practice_calendar():
    shop = Shop()
    engagement = _engagement(shop)
    _session(engagement, "2026-03-31T12:00", SessionStatus.COMPLETED)  # April in Auckland
    _session(engagement, "2026-04-20T00:00", SessionStatus.NO_SHOW)
    _session(engagement, "2026-04-21T00:00", SessionStatus.CANCELLED)  # not counted
    _session(engagement, "2026-06-20T00:00", SessionStatus.SCHEDULED)
    with scopes_disabled():
        months = sessions_by_month(shop.membership(shop.owner), now=NOW)
        coach_view = sessions_by_month(shop.membership(shop.coach), now=NOW)
    by_month = {month.month: (month.held, month.scheduled) for month in months}
    assert by_month[dt.date(2026, 3, 1)] == (0, 0)
    assert by_month[dt.date(2026, 4, 1)] == (2, 0)
    assert by_month[dt.date(2026, 6, 1)] == (0, 1)
    assert sum(month.total for month in coach_view) == 0  # the owner's sessions


def test_seat_utilisation_per_contract_and_month():
    shop = Shop()
    with scopes_disabled():
        company = engagement_services.organization_create(
            practice=shop.practice, actor=shop.owner, name="Acme"
        )
        contract = engagement_services.contract_create(
            practice=shop.practice,
            actor=shop.owner,
            organization=company,
            starts_on=dt.date(2026, 1, 1),
            ends_on=dt.date(2026, 12, 31),
            seats=5,
            sessions_per_seat_per_month=2,
            session_minutes=55,
            price_per_seat_month=Decimal("400"),
        )
        people = [
            engagement_services.client_create(
                practice=shop.practice,
                actor=shop.owner,
                name=name,
                email=f"{name.lower()}@acme.test",
                organization=company,
            )
            for name in ("Early", "Late")
        ]
        early = engagement_services.seat_assign(
            practice=shop.practice,
            actor=shop.owner,
            contract=contract,
            client=people[0],
            coach=shop.owner,
            coach_chosen_at=at("2026-01-05T00:00"),
        )
        early.ended_on = dt.date(2026, 4, 30)
        early.save(update_fields=["ended_on"])
        late = engagement_services.seat_assign(
            practice=shop.practice,
            actor=shop.owner,
            contract=contract,
            client=people[1],
            coach=shop.owner,
            coach_chosen_at=at("2026-04-20T00:00"),
        )
    engagement = _engagement(shop, client=people[1])
    _session(engagement, "2026-05-04T00:00", SessionStatus.COMPLETED, seat=late)
    _session(engagement, "2026-05-18T00:00", SessionStatus.LATE_CANCELLED, seat=late)
    _session(engagement, "2026-05-25T00:00", SessionStatus.CANCELLED, seat=late)
    with scopes_disabled():
        (row,) = seat_utilisation(shop.membership(shop.owner), now=NOW)
    assert [(m.month.month, m.seats, m.allowed, m.used) for m in row.months] == [
        (1, 1, 2, 0),
        (2, 1, 2, 0),
        (3, 1, 2, 0),
        (4, 2, 4, 0),
        (5, 1, 2, 2),
        (6, 1, 2, 0),
    ]
    assert row.rate == pytest.approx(2 / 14)


@time_machine.travel(NOW, tick=False)
def test_metrics_page_draws_its_charts_without_any_outside_request(shop):
    browser = login(shop.owner, shop.practice)
    page = browser.get("/dashboard/metrics/").content.decode()
    assert page.count("<svg") == 2
    assert "April 2026" in page and "400.00 GBP" in page  # 12,000 + 28,000 minor units
    assert "50%" in page  # renewal rate
    assert "120.00 USD" in page  # listed apart
    # Everything the page loads comes from this server (the chart is inline SVG).
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', page)
    dashboard = browser.get("/dashboard/").content.decode()
    assert "Revenue by month (GBP)" in dashboard and "Sessions per month" in dashboard


@time_machine.travel(NOW, tick=False)
def test_metrics_page_costs_the_same_queries_for_more_purchases(shop):
    browser = login(shop.owner, shop.practice)
    browser.get("/dashboard/metrics/")
    with CaptureQueriesContext(connection) as few:
        browser.get("/dashboard/metrics/")
    for _ in range(10):
        shop.paid(shop.monthly, "2026-02-01T00:00", "2026-03-01T00:00")
    with CaptureQueriesContext(connection) as many:
        browser.get("/dashboard/metrics/")
    assert len(many) == len(few)


def test_stripe_amounts_follow_the_currency_exponent():
    assert to_minor(Decimal("120.00"), "GBP") == 12000
    assert to_minor(Decimal("5000"), "JPY") == 5000  # yen have no minor unit
    assert to_minor(Decimal("1.234"), "KWD") == 1234
    assert from_minor(5000, "jpy") == Decimal("5000")
    assert money_shown(123456, "GBP") == "1,234.56 GBP"
    assert money_shown(5000, "JPY") == "5,000 JPY"
    assert Offer(price=Decimal("5000"), currency="JPY").amount_minor == 5000


@pytest.mark.parametrize(
    ("largest", "whole", "ticks"),
    [
        (0, False, [0, 1]),
        (100, False, [0, 50, 100]),
        (2200, False, [0, 1000, 2000, 3000]),
        (240, False, [0, 100, 200, 300]),
        (5, True, [0, 2, 4, 6]),
        (2, True, [0, 1, 2]),
        (0.3, False, [0, 0.1, 0.2, 0.3]),
    ],
)
def test_chart_axes_step_in_round_numbers(largest, whole, ticks):
    assert axis_ticks(largest, whole=whole) == pytest.approx(ticks)


def test_bars_scale_to_the_axis():
    chart = bar_chart(
        "Test", [ChartPoint("A", 50, "50"), ChartPoint("B", 100, "100"), ChartPoint("C", 0, "0")]
    )
    heights = [bar.height for bar in chart.bars]
    assert heights[1] == pytest.approx(2 * heights[0])
    assert heights[2] == 0
    assert chart.bars[1].y == pytest.approx(chart.gridlines[-1].y)  # the tallest meets the top
    assert [line.label for line in chart.gridlines] == ["0", "50", "100"]
    assert not chart.is_empty
    assert bar_chart("Empty", [ChartPoint("A", 0, "0")]).is_empty
