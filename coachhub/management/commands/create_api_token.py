from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from coachhub.models import Practice, User
from coachhub.services import api_token_create
from coachhub.tenancy import practice_scope


class Command(BaseCommand):
    help = "Create a practice-scoped API token for a member and print it (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("email", help="The member's e-mail address")
        parser.add_argument("practice_slug", help="The practice's slug")
        parser.add_argument("--name", default="API token", help="A label for the token")

    def handle(self, *args, email: str, practice_slug: str, name: str, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with e-mail {email}.")
        practice = Practice.objects.filter(slug=practice_slug).first()
        if practice is None:
            raise CommandError(f"No practice with slug {practice_slug}.")
        with practice_scope(practice):
            try:
                _, key = api_token_create(practice=practice, user=user, name=name)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(key)
