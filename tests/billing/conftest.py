"""Billing fixtures: the Stripe stand-in on a local port and a connected home practice
(the helpers behind them are in tests/kit/stripe.py)."""

from __future__ import annotations

import pytest

from ..kit.stripe import Connected, connect, serving_standin


@pytest.fixture
def standin(settings):
    """Events are kept, not delivered: tests hand them to the webhook themselves."""
    settings.SITE_URL = "http://testserver"
    with serving_standin(settings, deliver=False) as fake:
        yield fake


@pytest.fixture
def connected(world, standin) -> Connected:
    home = world.home
    result = connect(home.practice, home.owner, standin)
    result.coach = home.coach
    return result
