"""Caring fixtures: the home practice's per-session engagement, its next session (booked
by its client two days ahead), and the client's portal browser."""

from __future__ import annotations

import pytest
from django_scopes import scopes_disabled

from coachhub.models import Membership


@pytest.fixture
def home(world):
    return world.home


@pytest.fixture
def session(home):
    return home.objects["session"]


@pytest.fixture
def membership(home):
    def of(role: str) -> Membership:
        with scopes_disabled():
            return Membership.objects.get(practice=home.practice, user=home.member(role))

    return of
