"""The Docker image builds with no secrets, and no .env ever enters it.

Docker does not run here, so the Dockerfile's own collectstatic step is run as written,
outside Docker, with no secret in the environment.
"""

import datetime as dt
import fnmatch
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from gunicorn import glogging
from gunicorn.config import Config

ROOT = Path(__file__).resolve().parents[2]
SECRETS = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS")


def collectstatic_step() -> tuple[dict[str, str], list[str]]:
    """The Dockerfile's collectstatic RUN step: its variables and its command."""
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    (step,) = [line for line in lines if line.startswith("RUN ") and "collectstatic" in line]
    words = shlex.split(step.removeprefix("RUN "))
    variables = {}
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        variables[name] = value
    return variables, words


def test_the_image_collectstatic_step_needs_no_secret(tmp_path):
    variables, command = collectstatic_step()
    assert not set(SECRETS) & set(variables), "the build step must not carry secrets"
    assert command[0] == "python"
    clean = {
        name: value
        for name, value in os.environ.items()
        if name not in (*SECRETS, "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    result = subprocess.run(
        [sys.executable, *command[1:]],
        cwd=ROOT,
        env={
            **clean,
            **variables,
            "STATIC_ROOT": str(tmp_path),
            "ENV_FILE": str(tmp_path / "no.env"),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Production's hashed, compressed copies, as the running image serves them.
    assert (tmp_path / "staticfiles.json").exists()
    assert list((tmp_path / "css").glob("*.css.gz"))


def test_the_running_image_still_refuses_to_start_without_secrets(tmp_path):
    variables, _ = collectstatic_step()
    runtime = {name: value for name, value in variables.items() if name != "DJANGO_SETTINGS_MODULE"}
    clean = {
        name: value
        for name, value in os.environ.items()
        if name not in (*SECRETS, "DJANGO_SETTINGS_MODULE")
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            **clean,
            **runtime,
            "DJANGO_ENV": "production",
            "ALLOWED_HOSTS": "coachhub.example.com",
            "ENV_FILE": str(tmp_path / "no.env"),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_dockerignore_keeps_every_env_file_out_of_the_image():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for path in (".env", ".env.production", "deploy/.env", "coachhub/.env.local"):
        assert any(
            fnmatch.fnmatch(path, pattern.replace("**/", "*/")) or fnmatch.fnmatch(path, pattern)
            for pattern in patterns
        ), path
    assert "!.env" not in patterns


def test_compose_and_readme_name_every_required_variable():
    """Production stops without these; compose must pass them and the README must say so."""
    compose = (ROOT / "docker-compose.yml").read_text()
    readme = (ROOT / "README.md").read_text()
    deploy_section = readme.split("## Production shape")[1].split("\n## ")[0]
    for name in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "ALLOWED_HOSTS", "SITE_URL"):
        assert f"{name}: ${{{name}:?" in compose, name
        assert f"`{name}` | required" in deploy_section, name


def _access_log_formats() -> dict[str, str]:
    """The gunicorn access-log format of the image and of compose's web service."""
    found = {}
    for name, marker in (("Dockerfile", "CMD "), ("docker-compose.yml", "command: ")):
        for line in (ROOT / name).read_text().splitlines():
            if "--access-logformat" in line:
                words = json.loads(line.strip().removeprefix(marker))
                found[name] = words[words.index("--access-logformat") + 1]
    return found


def test_the_access_log_never_writes_a_query_string():
    """Portal links carry their sign-in token in ?sesame=: the log keeps the path only."""
    formats = _access_log_formats()
    assert set(formats) == {"Dockerfile", "docker-compose.yml"}
    logger = glogging.Logger(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/portal/practice/?sesame=SECRET-TOKEN",
        "PATH_INFO": "/portal/practice/",
        "QUERY_STRING": "sesame=SECRET-TOKEN",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
    }
    response = SimpleNamespace(status="302 Found", sent=0, headers=[("X-Request-Id", "abc123")])
    atoms = logger.atoms(response, [], environ, dt.timedelta(milliseconds=12))
    for name, log_format in formats.items():
        line = log_format % glogging.SafeAtoms(atoms)
        assert "SECRET-TOKEN" not in line, name
        assert '"GET /portal/practice/ HTTP/1.1" 302' in line and "request=abc123" in line, name
