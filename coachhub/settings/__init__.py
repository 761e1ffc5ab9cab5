"""Pick the settings module for DJANGO_ENV (development, production or test).

`DJANGO_SETTINGS_MODULE=coachhub.settings` is the default everywhere; the
environment (or `.env`, read first: settings/environment.py) decides which flavour
loads, so one image runs in every role. A settings path to one module of this package
(`coachhub.settings.test`, `coachhub.settings.build`) loads only that module: Python
runs this file first, so it picks nothing then. Settings of our own elsewhere that
import this package (`benchmarks.settings`) get the flavour too.
"""

import os

from .environment import DJANGO_ENV

if not os.environ.get("DJANGO_SETTINGS_MODULE", "").startswith("coachhub.settings."):
    if DJANGO_ENV == "production":
        from .production import *  # noqa: F403
    elif DJANGO_ENV == "test":
        from .test import *  # noqa: F403
    else:
        from .base import *  # noqa: F403
