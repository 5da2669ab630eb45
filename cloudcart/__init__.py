"""The CloudCart Django project."""

# Load the Celery app with Django, so `@shared_task` tasks bind to it in web and worker alike.
from cloudcart.celery import app as celery_app

__all__ = ["celery_app"]
