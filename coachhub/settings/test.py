"""Tests: the base settings plus speed and strictness.

The database and Redis still come from DATABASE_URL / REDIS_URL, so the same
suite runs on SQLite and on PostgreSQL + Redis (see .ci/run).
"""

from .base import *  # noqa: F403
from .base import INSTALLED_APPS, MIDDLEWARE

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
ACCOUNT_RATE_LIMITS = {"login_failed": "5/5m/ip,5/5m/key"}

# N+1 detection across the whole suite (django-zeal): a request that loads a
# relation row by row raises instead of passing quietly.
INSTALLED_APPS = [*INSTALLED_APPS, "zeal"]
MIDDLEWARE = [*MIDDLEWARE, "zeal.middleware.zeal_middleware"]
ZEAL_RAISE = True
# allauth looks its e-mail address up twice while confirming; that is its code, not ours.
ZEAL_ALLOWLIST = [{"model": "account.EmailAddress", "field": "get()"}]
