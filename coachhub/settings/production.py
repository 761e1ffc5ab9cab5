"""Production: what differs is security hardening and required secrets.

Passes `manage.py check --deploy --fail-level WARNING` with SECRET_KEY and
ALLOWED_HOSTS set (see README, "Configuration").
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import MANIFEST_STORAGES, env, fernet_keys_checked

DEBUG = False
SECRET_KEY = env.str("SECRET_KEY")  # required: no default in production
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
# Stored Stripe and Slack secrets must not depend on SECRET_KEY in production.
FIELD_ENCRYPTION_KEYS = fernet_keys_checked(env.list("FIELD_ENCRYPTION_KEYS"))
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must hold at least one Fernet key.")

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", True)
# Load balancers and container health checks probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if env.bool("SECURE_PROXY_SSL_HEADER", True):
    # gunicorn sits behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_REFERRER_POLICY = "same-origin"

STORAGES = MANIFEST_STORAGES
WHITENOISE_USE_FINDERS = False
WHITENOISE_AUTOREFRESH = False
