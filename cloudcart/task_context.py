"""The request id rides in every Celery message's headers; the worker's log lines carry it.
Every task's AWS calls are logged as its own (`task <name>`) when AWS_CALL_LOG is on.

Connected once per process in CloudCartConfig.ready(), so both the web (publisher) and the
worker (consumer) have it. The worker also keeps Django's JSON logging instead of Celery's own,
and builds its AWS clients before its pool starts.
"""

import logging.config

from celery import Task, signals
from django.conf import settings

from cloudcart.aws import aws_call_origin
from cloudcart.logs import request_id_var

HEADER = "cloudcart_request_id"


@signals.before_task_publish.connect
def request_id_to_headers(headers=None, **kwargs) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id:
        headers[HEADER] = request_id


@signals.task_prerun.connect
def request_id_from_headers(task=None, **kwargs) -> None:
    request = getattr(task, "request", None)
    # Protocol 2 copies custom message headers onto the task's request context.
    request_id = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    request_id_var.set(request_id)


@signals.task_postrun.connect
def request_id_clear(**kwargs) -> None:
    request_id_var.set(None)


@signals.worker_init.connect
def clients_warm(**kwargs) -> None:
    """The AWS clients are built before the pool's threads (or forked processes) start: see
    cloudcart.aws.clients_warm."""
    from cloudcart import aws

    aws.clients_warm()


@signals.setup_logging.connect
def worker_logging(**kwargs) -> None:
    """Connected, so Celery leaves logging to us: the same JSON lines as the web process."""
    logging.config.dictConfig(settings.LOGGING)


class OriginTask(Task):
    """The app's task class: a task's AWS calls belong to the task, in a worker or called directly."""

    def __call__(self, *args, **kwargs):
        if not settings.AWS_CALL_LOG:
            return super().__call__(*args, **kwargs)
        with aws_call_origin(f"task {self.name}"):
            return super().__call__(*args, **kwargs)
