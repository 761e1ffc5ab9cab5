from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class CoachHubConfig(AppConfig):
    name = "coachhub"
    verbose_name = "CoachHub core (practices, members, tokens)"
    default = True


class CoachHubAdminConfig(admin_apps.AdminConfig):
    """The Django admin, on a site that scopes every admin view to the staff member's practices."""

    default = False
    default_site = "coachhub.admin_site.CoachHubAdminSite"
