"""`python -m devtools.stripe_standin [--host H] [--port P]`: the stand-in for development
(`make stripe-standin`); point the app at it with STRIPE_API_BASE=http://127.0.0.1:12111."""

from __future__ import annotations

import argparse

from .api import serve_forever


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m devtools.stripe_standin",
        description=(
            "Run the local stand-in for the Stripe API and hosted checkout (Stripe itself is "
            "out of reach here). Point the app at it with STRIPE_API_BASE=http://127.0.0.1:12111."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    arguments = parser.parse_args(argv)
    try:
        serve_forever(arguments.host, arguments.port)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
