"""`manage.py stripe_reconcile [--practice SLUG]`: take in Stripe events that never arrived."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scopes_disabled

from billing.events import stripe_reconcile
from billing.models import StripeAccount
from coachhub.tenancy import practice_scope
from integrations.errors import IntegrationError


class Command(BaseCommand):
    help = "List each connected practice's recent Stripe events and process any never received."

    def add_arguments(self, parser):
        parser.add_argument("--practice", help="Only this practice (its slug).")

    def handle(self, *args, practice=None, **options):
        with scopes_disabled():
            accounts = StripeAccount.objects.filter(verified_at__isnull=False).select_related(
                "practice"
            )
            if practice:
                accounts = accounts.filter(practice__slug=practice)
            accounts = list(accounts)
        if practice and not accounts:
            raise CommandError(f"No practice {practice!r} with Stripe connected.")
        for number, account in enumerate(accounts, start=1):
            with practice_scope(account.practice):
                try:
                    seen, new = stripe_reconcile(practice=account.practice)
                except IntegrationError as error:
                    self.stderr.write(f"[{number}/{len(accounts)}] {account.practice}: {error}")
                    continue
            self.stdout.write(
                f"[{number}/{len(accounts)}] {account.practice}: {seen} events at Stripe, "
                f"{new} new to us"
            )
