"""App config: Django finds the project's management commands; process-wide signal wiring."""

from django.apps import AppConfig


class CloudCartConfig(AppConfig):
    name = "cloudcart"
    verbose_name = "CloudCart"

    def ready(self) -> None:
        # Request ids into Celery message headers and out again in the worker (issue 7).
        from cloudcart import task_context  # noqa: F401
