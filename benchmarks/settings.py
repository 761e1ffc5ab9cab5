"""Settings for benchmark runs: the app's own settings plus one minimal JSON view."""

import os
import warnings

from coachhub.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "benchmarks.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}

# `BENCH_SLOT_CACHE=off` runs a second server whose cache remembers nothing, so the
# same run can show what computing the slots costs next to what visitors get.
if os.environ.get("BENCH_SLOT_CACHE") == "off":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

# The baseline table (`/bench/insert`) and the no-op task (worker benchmark).
INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks"]  # noqa: F405

# WhiteNoise warns when `collectstatic` has not run; the benchmarks serve no static files.
warnings.filterwarnings("ignore", message="No directory at")
