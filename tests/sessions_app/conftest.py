"""Fixtures for the sessions app's tests."""

from __future__ import annotations

import pytest

from ..kit.feeds import FeedServer


@pytest.fixture
def feed_server():
    """A local ICS host serving the sample feed; tests may change its body and status."""
    server = FeedServer()
    yield server
    server.close()
