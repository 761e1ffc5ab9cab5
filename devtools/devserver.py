"""`make run`'s first step: is the port free, and which SITE_URL goes with it.

`python -m devtools.devserver PORT` prints the SITE_URL for a development server on
127.0.0.1:PORT — SITE_URL from the environment or `.env` (ENV_FILE) when one is set, else
http://127.0.0.1:PORT, so e-mailed links follow the port — or, when the port is taken,
says in one line how to choose another and exits 1, before anything starts.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
from pathlib import Path

from dotenv import dotenv_values

HOST = "127.0.0.1"
PROJECT = Path(__file__).resolve().parent.parent


def port_is_free(port: int, host: str = HOST) -> bool:
    """Bind as runserver does (address reuse on), so a port in TIME_WAIT counts as free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def busy_port_message(port: int) -> str:
    """One line naming a free port to use instead."""
    other = next((p for p in range(port + 1, min(port + 50, 65536)) if port_is_free(p)), None)
    choice = f"make run PORT={other}" if other else "make run PORT=<another port>"
    return f"Port {port} on {HOST} is in use (another `make run`?); choose another: {choice}"


def site_url_for(port: int) -> str:
    """SITE_URL as set (environment first, then the .env file), else this server's address."""
    if os.environ.get("SITE_URL"):
        return os.environ["SITE_URL"]
    env_file = Path(os.environ.get("ENV_FILE") or PROJECT / ".env")
    configured = dotenv_values(env_file).get("SITE_URL") if env_file.is_file() else None
    return configured or f"http://{HOST}:{port}"


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit() or not 0 < int(argv[0]) < 65536:
        print(
            f"PORT must be a number from 1 to 65535, e.g. make run PORT=8011 (got {argv})",
            file=sys.stderr,
        )
        return 2
    port = int(argv[0])
    if not port_is_free(port):
        print(busy_port_message(port), file=sys.stderr)
        return 1
    print(site_url_for(port))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
