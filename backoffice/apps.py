"""App config for the back office (label `backoffice`)."""

from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "backoffice"
    label = "backoffice"
    verbose_name = "Back office"
