from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoachHubConfig(AppConfig):
    name = "coachhub"
    verbose_name = "CoachHub core (practices, members, tokens)"
    default = True

    def ready(self) -> None:
        # The core's tasks live beside their work (coachhub.tasks is their base class, so it
        # cannot import them); importing the module registers them with Celery.
        from . import invitations  # noqa: F401


class CoachHubAdminConfig(admin_apps.AdminConfig):
    """The Django admin, on a site that scopes every admin view to the staff member's practices."""

    default = False
    default_site = "coachhub.admin_site.CoachHubAdminSite"
