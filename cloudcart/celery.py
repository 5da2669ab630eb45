"""The Celery app: configured from Django's CELERY_* settings, brokered by SQS (kombu)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudcart.settings")

app = Celery("cloudcart")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
