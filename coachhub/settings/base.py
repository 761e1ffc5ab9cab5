"""Settings shared by every environment. Every value comes from the environment.

With no variables at all the app runs on its embedded default: SQLite, Celery
tasks run in-process (eager), e-mail printed to the console, local-memory cache.
`DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to Redis for the Celery broker
and the cache (and real workers).
"""

import datetime as dt

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from marshmallow.validate import OneOf, Range, Regexp

from coachhub.observability import sentry_init

from .environment import BASE_DIR, DJANGO_ENV, env

DEBUG = env.bool("DJANGO_DEBUG", False)
SECRET_KEY = env.str(
    "SECRET_KEY",
    "development-only-key-never-used-in-production-5f1c0a9e7b2d4c8a9e3f6b1d0c7a2e4f",
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "coachhub.apps.CoachHubAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "coachhub",
    "engagements",
    "chat",
    "billing",
    "sessions_app",
    "caring",
    "integrations",
    "web",
]

MIDDLEWARE = [
    # First: every log line of a request, its 500 included, carries the request's id.
    "coachhub.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "coachhub.tenancy.TenantMiddleware",
    "coachhub.timezones.ViewerTimeZoneMiddleware",
]

ROOT_URLCONF = "web.urls"
WSGI_APPLICATION = "coachhub.wsgi.application"
ASGI_APPLICATION = "coachhub.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "coachhub.context_processors.tenancy",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.dj_db_url(
        "DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env.int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so two bookings serialise instead of
    # failing with "database is locked" half way through a transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker, tasks ---------------------------------------------------
REDIS_URL = env.str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "coachhub",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", 300)
# A task that failed (a provider's fault, a timeout) backs off from this many seconds,
# doubling each time; a rate limit waits what the provider's Retry-After asks instead.
TASK_RETRY_BACKOFF_SECONDS = env.int("TASK_RETRY_BACKOFF_SECONDS", 30)
# A task not acknowledged within the visibility timeout is redelivered by Redis.
# It must be longer than any task's time limit, countdown or retry backoff, or a
# slow task would run twice (see README, "Workers").
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", 6 * 3600)
}
# Celery's Django fixup closes the database connection before and after every task
# unless it is told to reuse it; a new PostgreSQL connection per task cost more
# than most tasks (benchmarks/event_worker). Workers keep their connection the way
# web processes do instead: `coachhub.celery` runs Django's close_old_connections
# around each task, which honours DB_CONN_MAX_AGE and the health checks.
CELERY_DB_REUSE_MAX = 2**31
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Periodic work; the DatabaseScheduler copies these into django-celery-beat's tables,
# where an admin can change them.
CELERY_BEAT_SCHEDULE = {
    "session-reminders": {
        "task": "sessions_app.tasks.reminders_send",
        "schedule": 300.0,
    },
    # Prep questionnaires at each practice's lead time; missed commitments flagged and
    # their reminders sent at each practice's chosen hour (both once, however often beat runs).
    "prep-questionnaires": {
        "task": "caring.tasks.preps_send",
        "schedule": 300.0,
    },
    "commitments-sweep": {
        "task": "caring.tasks.commitments_sweep",
        "schedule": 900.0,
    },
    "release-expired-holds": {
        "task": "sessions_app.tasks.holds_release",
        "schedule": 300.0,
    },
    "external-calendars-refresh": {
        "task": "sessions_app.tasks.external_calendars_refresh",
        "schedule": env.int("CALENDAR_REFRESH_SECONDS", 900),
    },
    # What a dead worker held (a Stripe or Slack event in flight, or its retry) is
    # queued again within minutes, not when Redis's visibility timeout hands it back.
    "stripe-events-recover": {
        "task": "billing.tasks.stripe_events_recover_all",
        "schedule": 60.0,
    },
    "slack-events-recover": {
        "task": "chat.tasks.slack_events_recover_all",
        "schedule": 60.0,
    },
    # A collection's channel and invites, and the posts, likewise (chat/services/recovery),
    # SLACK_WORK_RECOVER_SECONDS after they were due.
    "slack-work-recover": {
        "task": "chat.tasks.slack_work_recover_all",
        "schedule": 60.0,
    },
    "stripe-reconcile": {
        "task": "billing.tasks.stripe_reconcile_all",
        "schedule": env.int("STRIPE_RECONCILE_SECONDS", 900),
    },
    # The integration call log keeps INTEGRATION_CALLS_KEEP_DAYS days.
    "integration-calls-prune": {
        "task": "coachhub.tasks.integration_calls_prune",
        "schedule": 3600.0,
    },
}

# --- E-mail -----------------------------------------------------------------
# console:// (default), smtp://user:pass@host:587/?tls=true, submission://…, file:///path
_email = env.dj_email_url("EMAIL_URL", default="console://")
if "EMAIL_BACKEND" not in _email:
    raise ImproperlyConfigured(
        "EMAIL_URL must start with console://, smtp://, submission://, smtps://, file:// "
        "or memory://"
    )
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_TIMEOUT = _email.get("EMAIL_TIMEOUT") or 10
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
if EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    # One file per message. dj-email-url drops the "/" of file:///path; the path is
    # everything after "file://".
    EMAIL_FILE_PATH = env.str("EMAIL_URL").removeprefix("file://").split("?")[0]
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "CoachHub <no-reply@coachhub.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Absolute links in e-mails and calendar invites (reschedule/cancel, session pages, feeds).
SITE_URL = env.str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Secrets at rest and Stripe ------------------------------------------------
# Fernet keys for the secrets practices store (first encrypts, all decrypt).
# Empty outside production: a key is derived from SECRET_KEY (coachhub/encryption.py).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", [])


def fernet_keys_checked(keys: list[str]) -> list[str]:
    """Fail at start, naming the variable, rather than at the first stored secret."""
    for key in keys:
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key; make one with "
                "python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None
    return keys


FIELD_ENCRYPTION_KEYS = fernet_keys_checked(FIELD_ENCRYPTION_KEYS)
# Where the `stripe` library sends API calls. Stripe itself by default; the local
# stand-in (`python -m devtools.stripe_standin`, not shipped) in development and tests.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", "https://api.stripe.com").rstrip("/")
# Slack: the operator's CoachHub Slack app ("Add to Slack"). Without a client id and
# secret the Integrations page offers only a pasted bot token of the practice's own app.
# SLACK_API_BASE points the real `slack_sdk` at the local stand-in in development.
SLACK_API_BASE = env.str("SLACK_API_BASE", "https://slack.com/api/").rstrip("/") + "/"
SLACK_CLIENT_ID = env.str("SLACK_CLIENT_ID", "")
SLACK_CLIENT_SECRET = env.str("SLACK_CLIENT_SECRET", "")
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", "")
# The integration call log keeps this many days of rows; beat prunes older ones.
INTEGRATION_CALLS_KEEP_DAYS = env.int("INTEGRATION_CALLS_KEEP_DAYS", 30)
# Slack work (a channel's calls, a post) due this long ago and not taken is queued again
# by beat's recovery sweep: its worker died, or its message was lost.
SLACK_WORK_RECOVER_SECONDS = env.int("SLACK_WORK_RECOVER_SECONDS", 180)
# Webhook signatures older than this (or this far in the future) are refused.
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env.int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)
# External calendar URLs on private/loopback addresses are refused in production
# (a coach could otherwise make the server fetch from its own network).
CALENDAR_ALLOW_PRIVATE_URLS = env.bool("CALENDAR_ALLOW_PRIVATE_URLS", DJANGO_ENV != "production")

# --- Accounts ---------------------------------------------------------------
AUTH_USER_MODEL = "coachhub.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "sesame.backends.ModelBackend",  # the client portal's sign-in links
]
# Client portal sign-in links (django-sesame; docs/decisions.md says why these lengths).
# A link in a session e-mail or invite lasts PORTAL_LINK_DAYS and may be opened again;
# a link the client asks for on the sign-in page lasts PORTAL_REQUESTED_LINK_MINUTES
# and signs in once.
PORTAL_LINK_DAYS = env.int("PORTAL_LINK_DAYS", 7, validate=Range(min=1, max=60))
PORTAL_REQUESTED_LINK_MINUTES = env.int(
    "PORTAL_REQUESTED_LINK_MINUTES", 60, validate=Range(min=5, max=24 * 60)
)
SESAME_MAX_AGE = dt.timedelta(days=PORTAL_LINK_DAYS)
SESAME_ONE_TIME = False  # single use is the requested link's rule only (web/portal/signin.py)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env.str(
    "ACCOUNT_EMAIL_VERIFICATION", "mandatory", validate=OneOf(["mandatory", "optional", "none"])
)
# Accepts the invitation a visitor followed once they sign in or up (coachhub.invitations).
ACCOUNT_ADAPTER = "coachhub.accounts.AccountAdapter"
ACCOUNT_SIGNUP_FORM_CLASS = "web.dashboard.practice_forms.PracticeSignupForm"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_RATE_LIMITS = {
    "login_failed": "5/5m/ip,5/5m/key",
    "login": "30/m/ip",
    # Each sign-up makes an account and a practice: bounded per hour as well.
    "signup": "20/m/ip,60/h/ip",
    "reset_password": "20/m/ip,5/m/key",
}
# Behind a proxy, the visitor's address is this many entries from the end of
# X-Forwarded-For (0: REMOTE_ADDR). The sign-in limits and the public pages' limits use it.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0)

# --- Rate limits on the public pages (web/limits.py) -------------------
# "count/period", the period one of s, m, h, d, optionally with a multiple ("100/15m").
_RATE = Regexp(r"^\d+/\d*[smhd]$", error="{input!r} is not a rate such as 20/m or 10/h.")
# Every POST a visitor sends without signing in (booking, manage links, buy links, invitations).
PUBLIC_POST_RATE_PER_ADDRESS = env.str("PUBLIC_POST_RATE_PER_ADDRESS", "20/m", validate=_RATE)
PUBLIC_POST_RATE_PER_PRACTICE = env.str("PUBLIC_POST_RATE_PER_PRACTICE", "300/m", validate=_RATE)
# Those that change something: bookings and purchases (each may create a client and an
# engagement), reschedules, cancellations, invitations accepted.
PUBLIC_CHANGE_RATE_PER_ADDRESS = env.str("PUBLIC_CHANGE_RATE_PER_ADDRESS", "30/h", validate=_RATE)
PUBLIC_CHANGE_RATE_PER_PRACTICE = env.str(
    "PUBLIC_CHANGE_RATE_PER_PRACTICE", "300/h", validate=_RATE
)
RATELIMIT_IP_META_KEY = "web.limits.client_address"

ACCOUNT_EMAIL_SUBJECT_PREFIX = "[CoachHub] "
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "CoachHub"

# --- API --------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "web.api.auth.PracticeTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "web.api.base.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CoachHub API",
    "DESCRIPTION": "Practice-scoped API. Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from our own static files: the docs work with no outside network.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"WeekdayEnum": "engagements.models.Weekday"},
}

# --- Internationalisation, static files ---------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Production serves hashed, compressed copies that collectstatic writes (production.py,
# and build.py for the image build).
MANIFEST_STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Outside production WhiteNoise serves straight from the app folders, so
# `make run` needs no collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Files browsers ask for at the site's root (/favicon.ico), served as they are with
# DEBUG on or off, with or without collectstatic.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"

SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True


# Each line names its request (X-Request-ID), Celery task and practice, "-" when none.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "coachhub.observability.LogContextFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s request=%(request_id)s "
            "task=%(task_id)s practice=%(practice_id)s %(message)s"
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The stripe library logs every request at INFO; keep failures only.
        "stripe": {"level": "WARNING"},
        # slack_sdk logs every request's headers and form at DEBUG: the bot token and the
        # app's client secret. Never below INFO, whatever LOG_LEVEL says.
        "slack_sdk": {"level": "INFO"},
        # Tasks run in-process log "Task … succeeded" for every e-mail; a worker keeps them.
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
    },
}

# --- Error reports ------------------------------------------------------------------
# Set: web processes and workers report exceptions to Sentry, without personal data or
# secrets (coachhub/observability.py). Unset: Sentry is not initialised at all.
SENTRY_DSN = env.str("SENTRY_DSN", "")
if SENTRY_DSN:
    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", DJANGO_ENV),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )
