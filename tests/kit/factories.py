"""factory_boy factories for people, practices and tenant rows, and one seat-client set-up."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django_scopes import scopes_disabled

from coachhub.models import Membership, Practice, Role, User
from engagements.models import Client, Contract, Organization


# Tenant rows are created outside any request, so creation runs with scopes disabled;
# reads in tests do the same explicitly.
class ScopedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with scopes_disabled():
            return super()._create(model_class, *args, **kwargs)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    time_zone = "Europe/London"
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")
    time_zone = "Europe/London"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    practice = factory.SubFactory(PracticeFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.COACH


class OrganizationFactory(ScopedFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Company {n}")


class ClientFactory(ScopedFactory):
    class Meta:
        model = Client

    name = factory.Sequence(lambda n: f"Client {n}")
    email = factory.Sequence(lambda n: f"client{n}@example.org")
    time_zone = "Europe/London"


class ContractFactory(ScopedFactory):
    class Meta:
        model = Contract

    organization = factory.SubFactory(
        OrganizationFactory, practice=factory.SelfAttribute("..practice")
    )
    starts_on = dt.date(2026, 1, 1)
    ends_on = dt.date(2026, 12, 31)
    seats = 10
    sessions_per_seat_per_month = 2
    session_minutes = 55
    price_per_seat_month = Decimal("400.00")


def seat_client_engagement(*, year: int, chosen_at: dt.datetime, name: str = "Seats"):
    """A London practice whose owner coaches one seat client (2 sessions a month, contract
    for the whole `year`) on a per-session engagement funded by the seat.

    Returns (practice, owner, seat, engagement).
    """
    from engagements import services
    from engagements.services import practice_set_up
    from sessions_app import services as session_services

    owner = UserFactory(time_zone="Europe/London")
    practice = practice_set_up(owner=owner, name=name, time_zone="Europe/London")
    with scopes_disabled():
        organization = services.organization_create(practice=practice, actor=owner, name="Acme")
        contract = services.contract_create(
            practice=practice,
            actor=owner,
            organization=organization,
            starts_on=dt.date(year, 1, 1),
            ends_on=dt.date(year, 12, 31),
            seats=2,
            sessions_per_seat_per_month=2,
            session_minutes=55,
            price_per_seat_month=Decimal("450.00"),
        )
        client = services.client_create(
            practice=practice, actor=owner, name="Eve", email="eve@acme.test"
        )
        seat = services.seat_assign(
            practice=practice,
            actor=owner,
            contract=contract,
            client=client,
            coach=owner,
            coach_chosen_at=chosen_at,
        )
        engagement = session_services.engagement_create_per_session(
            practice=practice, actor=owner, client=client, coach=owner
        )
    return practice, owner, seat, engagement
