from django.apps import AppConfig


class CaringConfig(AppConfig):
    name = "caring"
    verbose_name = "Caring between sessions"
