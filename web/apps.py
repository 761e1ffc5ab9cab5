from django.apps import AppConfig


class WebConfig(AppConfig):
    """The interfaces (dashboard, public pages, API, webhooks); an app for its `demo` command."""

    name = "web"
    verbose_name = "CoachHub interfaces"
