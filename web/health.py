"""`GET /healthz`: database, broker and worker reachability as JSON, for load balancers."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from coachhub.celery import app


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachability (503 if either is down); workers are reported only,
    so a stopped worker does not take the web nodes out of a load balancer."""
    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True, "vendor": connection.vendor}
    except Exception as error:  # noqa: BLE001 - any failure means unhealthy
        checks["database"] = {"ok": False, "error": error.__class__.__name__}
    redis_url = settings.REDIS_URL
    if not redis_url:
        checks["broker"] = {"ok": True, "kind": "in-process (tasks run eagerly)"}
        checks["workers"] = {"ok": True, "kind": "in-process"}
    else:
        try:
            redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1).ping()
            checks["broker"] = {"ok": True, "kind": "redis"}
        except Exception as error:  # noqa: BLE001
            checks["broker"] = {"ok": False, "kind": "redis", "error": error.__class__.__name__}
        checks["workers"] = _worker_check() if checks["broker"]["ok"] else {"ok": False}
    healthy = checks["database"]["ok"] and checks["broker"]["ok"]
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def _worker_check() -> dict:
    try:
        replies = app.control.ping(timeout=0.5)
    except Exception as error:  # noqa: BLE001
        return {"ok": False, "error": error.__class__.__name__}
    return {"ok": bool(replies), "responding": len(replies)}
