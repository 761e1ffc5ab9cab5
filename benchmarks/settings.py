"""Settings for benchmark runs: the app's own settings plus one minimal JSON view."""

from coachhub.settings import *  # noqa: F403

DEBUG = False
ROOT_URLCONF = "benchmarks.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
