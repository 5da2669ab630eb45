"""The Celery app: configured from Django's CELERY_* settings, brokered by SQS (kombu)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudcart.settings")

# OriginTask: each task's AWS calls are attributed to it in the AWS call log (AWS_CALL_LOG).
app = Celery("cloudcart", task_cls="cloudcart.task_context:OriginTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
