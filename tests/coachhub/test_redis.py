"""Against the real Redis: the health check and the cache the app uses in production."""

import os

import pytest


@pytest.mark.redis
@pytest.mark.django_db
def test_healthz_reports_a_reachable_redis_broker(client, settings):
    settings.REDIS_URL = os.environ["REDIS_URL"]
    response = client.get("/healthz")
    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["broker"] == {"ok": True, "kind": "redis"}
    assert "workers" in checks  # reported, but a stopped worker does not fail the check


@pytest.mark.redis
def test_the_redis_cache_backend_round_trips():
    from django.core.cache.backends.redis import RedisCache

    cache = RedisCache(os.environ["REDIS_URL"], {"KEY_PREFIX": "coachhub-test"})
    cache.set("probe", {"ok": 1}, timeout=5)
    assert cache.get("probe") == {"ok": 1}
    cache.delete("probe")
