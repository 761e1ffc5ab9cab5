"""The image build's `collectstatic` only: production's static files, and no secrets.

It serves nothing and decrypts nothing, so `docker build` needs no SECRET_KEY or
FIELD_ENCRYPTION_KEYS. The image runs with `coachhub.settings` (production with
DJANGO_ENV=production), which still refuses to start without them.
"""

from .base import *  # noqa: F403
from .base import MANIFEST_STORAGES

DEBUG = False
STORAGES = MANIFEST_STORAGES
WHITENOISE_USE_FINDERS = False
