"""`make run PORT=…`: the server and e-mailed links (SITE_URL) move together, and a busy
port is reported in one line, before anything starts (devtools/devserver.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "MAKEFLAGS", "MFLAGS")}
    return {**env, "ENV_FILE": str(tmp_path / "absent.env"), **extra}


def devserver(port: int, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devtools.devserver", str(port)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_free_port_gives_the_site_url_of_that_port(tmp_path):
    port = free_port()
    result = devserver(port, clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"http://127.0.0.1:{port}"


def test_a_site_url_set_in_the_env_file_or_environment_is_kept(tmp_path):
    (tmp_path / ".env").write_text("SITE_URL=https://tunnel.example.org\n")
    env = clean_env(tmp_path, ENV_FILE=str(tmp_path / ".env"))
    assert devserver(free_port(), env).stdout.strip() == "https://tunnel.example.org"
    env = clean_env(tmp_path, SITE_URL="https://other.example.org")
    assert devserver(free_port(), env).stdout.strip() == "https://other.example.org"


def test_a_busy_port_says_in_one_line_how_to_choose_another(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = devserver(port, clean_env(tmp_path))
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert f"Port {port}" in line and "make run PORT=" in line


def make_run(port: int, tmp_path: Path) -> subprocess.CompletedProcess:
    """`make run` with manage.py replaced by a stand-in that prints SITE_URL and its arguments."""
    installed = ROOT / ".venv" / ".installed"
    pyproject = ROOT / "pyproject.toml"
    if not installed.exists() or installed.stat().st_mtime < pyproject.stat().st_mtime:
        pytest.skip("make run would reinstall .venv first; run `make install`")
    script = "import os,sys; print(os.environ['SITE_URL'], *sys.argv[1:])"
    stand_in = f'{sys.executable} -c "{script}"'
    return subprocess.run(
        ["make", "--no-print-directory", "run", f"PORT={port}", f"MANAGE={stand_in}"],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_make_run_port_moves_the_server_and_every_link_together(tmp_path):
    port = free_port()
    result = make_run(port, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    site_url = f"http://127.0.0.1:{port}"
    printed = [line for line in result.stdout.splitlines() if line.startswith(site_url)]
    assert f"{site_url} demo" in printed  # the demo prints its links with it
    assert f"{site_url} runserver 127.0.0.1:{port}" in printed


def test_make_run_on_a_busy_port_starts_nothing(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = make_run(port, tmp_path)
    assert result.returncode != 0
    assert "runserver" not in result.stdout and "demo" not in result.stdout
    assert "make run PORT=" in result.stderr
