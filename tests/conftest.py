"""Shared fixtures: two practices (built by `tests/kit/world.py`), each with an owner, a
coach and an assistant.

`world.home` is the practice under test; `world.other` is a second practice full
of objects of every kind, used to prove none of them is reachable from `home`.
"""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from .kit.http import login
from .kit.world import OTHER_MARKER, World, build_practice


def pytest_runtest_setup(item):
    """`postgres` and `redis` tests run against the real servers, or skip saying why."""
    import os

    if item.get_closest_marker("postgres"):
        from django.db import connection

        if connection.vendor != "postgresql":
            pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://… (as .ci/run does)")
    if item.get_closest_marker("redis"):
        url = os.environ.get("REDIS_URL", "")
        if not url:
            pytest.skip("needs Redis: set REDIS_URL=redis://… (as .ci/run does)")
        import redis

        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
        except redis.RedisError:
            pytest.skip(f"Redis at {url} is not reachable")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and other cached state never leak from one test into the next."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(db) -> World:
    return World(home=build_practice("home"), other=build_practice("other", marker=OTHER_MARKER))


@pytest.fixture
def as_member(world):
    """`as_member("owner")` → an HTTP client signed in as that persona of the home practice."""

    def make(role: str) -> HttpClient:
        return login(world.home.member(role), world.home.practice)

    return make
