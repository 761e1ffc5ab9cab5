"""The one place settings read the environment from: the process environment over `.env`.

`.env` is loaded here, before anything is read, so every variable — `DJANGO_ENV`, which picks
the settings flavour, included — comes from the same place. `ENV_FILE` names another file
(the tests use it); it is the one variable that can only come from the process environment.
"""

import os
from pathlib import Path

from environs import Env
from marshmallow.validate import OneOf

BASE_DIR = Path(__file__).resolve().parent.parent.parent
ENV_FILE = Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env")

env = Env()
env.read_env(str(ENV_FILE), recurse=False)

DJANGO_ENV = env.str(
    "DJANGO_ENV",
    "development",
    validate=OneOf(
        ["development", "production", "test"], error="{input!r} is not one of {choices}."
    ),
)
