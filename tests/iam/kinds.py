"""The process kinds of the stack and which of them made each logged AWS call.

Adding a process kind is one line in KINDS: its container name in the stack, and what makes a
logged call its own (the queues its Celery worker consumes, or the process it is).
"""

import fnmatch
from dataclasses import dataclass

from django.conf import settings

from deploy.stacks.services import BACK_OFFICE_PATHS, STAFF_WRITE_METHODS, STAFF_WRITE_PATHS


@dataclass(frozen=True)
class Kind:
    name: str  # the container (and task role) in the synthesized stack
    queues: tuple[str, ...] = ()  # settings naming the queues its Celery worker consumes
    process: str | None = None  # the logged origin of the process itself, outside requests and tasks
    # The load balancer's rules that send it requests: (path patterns, methods; none: any).
    # Requests no rule matches are web's.
    routes: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()


KINDS = (
    Kind("web", process="process gunicorn"),
    # The staff writes and the back office (the Django admin over the ledger).
    Kind("staff", routes=((STAFF_WRITE_PATHS, STAFF_WRITE_METHODS), (BACK_OFFICE_PATHS, ()))),
    Kind("worker", queues=("ORDERS_QUEUE_NAME",)),
    Kind("notifier", queues=("NOTIFICATIONS_QUEUE_NAME",)),
    Kind("beat", process="process celery beat"),
    Kind("seed", process="process manage.py seed_products"),
    Kind("ledger", process="process manage.py ledger_project"),  # the back office's projector
)


def _queue_kinds() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for kind in KINDS:
        for setting in kind.queues:
            found.setdefault(getattr(settings, setting), []).append(kind.name)
    return found


def task_queue(task_name: str) -> str:
    """The queue a task is published to (CELERY_TASK_ROUTES, else the default queue)."""
    for pattern, route in settings.CELERY_TASK_ROUTES.items():
        if fnmatch.fnmatchcase(task_name, pattern):
            return route["queue"]
    return settings.CELERY_TASK_DEFAULT_QUEUE


def queue_name(call: dict) -> str | None:
    if "QueueUrl" in call:
        return call["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
    return call.get("QueueName")


def _same_queue(logged: str, configured: str) -> bool:
    # Child processes may run with their own QUEUE_PREFIX (a test's own queues): compare the
    # part after the prefix.
    return logged == configured or logged.endswith(configured.removeprefix(settings.QUEUE_PREFIX))


def kinds_of(call: dict) -> list[str] | None:
    """The kinds whose role a logged call needs; [] for the test harness's own calls (the pytest
    process, `manage.py bootstrap_aws`); None when nothing says whose it is."""
    origin = call["origin"]
    by_queue = _queue_kinds()
    if origin.startswith("request "):
        _, method, path = origin.split(" ", 2)
        for kind in KINDS:
            for paths, methods in kind.routes:
                if any(fnmatch.fnmatchcase(path, p) for p in paths) and method in (methods or (method,)):
                    return [kind.name]
        return ["web"]
    if origin.startswith("task "):
        queue = task_queue(origin.removeprefix("task "))
        return next((kinds for name, kinds in by_queue.items() if _same_queue(queue, name)), None)
    if origin == "process celery worker":  # kombu's own calls: the queue says whose
        queue = queue_name(call)
        if queue is None:
            return sorted({kind for kinds in by_queue.values() for kind in kinds})
        return next((kinds for name, kinds in by_queue.items() if _same_queue(queue, name)), [])
    for kind in KINDS:
        if kind.process == origin:
            return [kind.name]
    return []
