"""`python -m devtools.slack_standin [--host H] [--port P]`: the stand-in for development
(`make slack-standin`); point the app at it with SLACK_API_BASE=http://127.0.0.1:12112/api/.

The app's credentials come from the environment, with defaults the app's development
settings can share: SLACK_STANDIN_SIGNING_SECRET, SLACK_STANDIN_CLIENT_ID,
SLACK_STANDIN_CLIENT_SECRET, and SLACK_STANDIN_EVENTS_URL (the app's Request URL)."""

from __future__ import annotations

import argparse
import os

from .api import serve_forever

DEFAULTS = {
    "SLACK_STANDIN_SIGNING_SECRET": "standin-signing-secret",
    "SLACK_STANDIN_CLIENT_ID": "1111111111.2222222222",
    "SLACK_STANDIN_CLIENT_SECRET": "standin-client-secret",
    "SLACK_STANDIN_EVENTS_URL": "http://127.0.0.1:8000/slack/events/",
}


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and the environment, and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.slack_standin",
        description=(
            "Run the local stand-in for the Slack Web API, OAuth install and events (Slack "
            "itself is out of reach here). Point the app at it with "
            "SLACK_API_BASE=http://127.0.0.1:12112/api/."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12112)
    arguments = parser.parse_args(argv)
    setting = {name: os.environ.get(name) or default for name, default in DEFAULTS.items()}
    try:
        serve_forever(
            arguments.host,
            arguments.port,
            signing_secret=setting["SLACK_STANDIN_SIGNING_SECRET"],
            client_id=setting["SLACK_STANDIN_CLIENT_ID"],
            client_secret=setting["SLACK_STANDIN_CLIENT_SECRET"],
            events_url=setting["SLACK_STANDIN_EVENTS_URL"],
        )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
