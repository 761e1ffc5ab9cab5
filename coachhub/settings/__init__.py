"""Pick the settings module for DJANGO_ENV (development, production or test).

`DJANGO_SETTINGS_MODULE=coachhub.settings` is the default everywhere; the
environment decides which flavour loads, so one image runs in every role.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_DJANGO_ENV = os.environ.get("DJANGO_ENV", "development")

if _DJANGO_ENV == "production":
    from .production import *  # noqa: F403
elif _DJANGO_ENV == "test":
    from .test import *  # noqa: F403
elif _DJANGO_ENV == "development":
    from .base import *  # noqa: F403
else:
    raise ImproperlyConfigured(
        f"DJANGO_ENV={_DJANGO_ENV!r} is not one of development, production, test."
    )
