"""`manage.py stripe_standin [--port 12111]`: the local Stripe stand-in for development."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from integrations.stripe.standin import serve_forever


class Command(BaseCommand):
    help = (
        "Run the local stand-in for the Stripe API and hosted checkout (Stripe itself is out "
        "of reach here). Point the app at it with STRIPE_API_BASE=http://127.0.0.1:12111."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=12111)

    def handle(self, *args, host, port, **options):
        serve_forever(host, port)
