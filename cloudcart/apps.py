"""App config: Django finds the project's management commands; process-wide signal wiring."""

from django.apps import AppConfig


class CloudCartConfig(AppConfig):
    name = "cloudcart"
    verbose_name = "CloudCart"

    def ready(self) -> None:
        # Request ids into Celery message headers and out again in the worker.
        from cloudcart import kombu_sqs, task_context  # noqa: F401

        # A worker must outlive an SQS outage (kombu 5.7.0 bug, see cloudcart/kombu_sqs.py).
        kombu_sqs.install()
        # Before the WSGI handler reads MIDDLEWARE: the Django instrumentation adds its own first.
        from cloudcart.tracing import tracing_install

        tracing_install()
