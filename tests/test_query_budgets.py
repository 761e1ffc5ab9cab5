"""Lists cost the same number of queries for 3 rows as for 50 (no N+1 anywhere)."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from coachhub.models import Role
from engagements import services
from engagements.participants import Participant
from sessions_app import services as session_services

from .kit.factories import MembershipFactory, PracticeFactory, UserFactory
from .kit.http import login

pytestmark = pytest.mark.django_db

PAGES = ["/dashboard/", "/clients/", "/engagements/", "/companies/"]
API_LISTS = [
    "/api/v1/clients/",
    "/api/v1/engagements/",
    "/api/v1/collections/",
    "/api/v1/organizations/",
    "/api/v1/contracts/",
]


def practice_with_rows(rows: int):
    from engagements.services import practice_set_up

    owner = UserFactory()
    practice = practice_set_up(owner=owner, name=f"Budget {rows}")
    now = timezone.now()
    with scopes_disabled():
        for index in range(rows):
            organization = services.organization_create(
                practice=practice, actor=owner, name=f"Company {index}"
            )
            contract = services.contract_create(
                practice=practice,
                actor=owner,
                organization=organization,
                starts_on=(now - dt.timedelta(days=30)).date(),
                ends_on=(now + dt.timedelta(days=300)).date(),
                seats=3,
                sessions_per_seat_per_month=2,
                session_minutes=55,
                price_per_seat_month=100,
            )
            client = services.client_create(
                practice=practice,
                actor=owner,
                name=f"Client {index}",
                email=f"c{index}@example.org",
                coach=owner,
                organization=organization,
                tags=["a"],
            )
            if index % 2:
                services.seat_assign(
                    practice=practice, actor=owner, contract=contract, client=client, coach=owner
                )
            session_services.engagement_create_per_session(
                practice=practice,
                actor=owner,
                client=client,
                coach=owner,
                first_session_at=now + dt.timedelta(days=1, hours=index),
            )
        session_services.engagement_create_team_workshop(
            practice=practice,
            actor=owner,
            coach=owner,
            title="W",
            core_subject="S",
            participants=[Participant(f"P{i}", f"p{i}@e.org") for i in range(rows)],
            starts_at=now + dt.timedelta(days=4),  # after the hourly 1:1 sessions above
        )
    return practice, owner


def count_queries(browser, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries)


@pytest.mark.parametrize("url", PAGES + API_LISTS)
def test_same_queries_for_3_and_50_rows(url):
    counts = {}
    for rows in (3, 50):
        practice, owner = practice_with_rows(rows)
        counts[rows] = count_queries(login(owner, practice), url)
    assert counts[3] == counts[50], f"{url}: {counts}"


@pytest.mark.parametrize("role", [Role.COACH, Role.ASSISTANT])
def test_role_filtered_lists_keep_their_budget(role):
    counts = {}
    for rows in (3, 50):
        practice, owner = practice_with_rows(rows)
        member = MembershipFactory(practice=practice, role=role).user
        counts[rows] = [
            count_queries(login(member, practice), url) for url in ("/clients/", "/api/v1/clients/")
        ]
    assert counts[3] == counts[50]


def test_scoped_models_refuse_queries_outside_a_practice():
    """The guard: forgetting the scope fails closed instead of reading every practice."""
    from django_scopes import ScopeError

    from engagements.models import Client

    PracticeFactory()
    with pytest.raises(ScopeError):
        list(Client.objects.all())
    with pytest.raises(ScopeError):
        Client.objects.filter(name="x").exists()
