"""App config so that Django finds the project's own management commands."""

from django.apps import AppConfig


class CloudCartConfig(AppConfig):
    name = "cloudcart"
    verbose_name = "CloudCart"
