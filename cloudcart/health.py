"""Liveness (`/healthz`, no dependencies) and readiness (`/readyz`, the AWS services we need)."""

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.http import JsonResponse

from cloudcart import aws

logger = logging.getLogger(__name__)


def dynamodb_ready() -> None:
    aws.client("dynamodb").describe_table(TableName=settings.PRODUCTS_TABLE)


def sqs_ready() -> None:
    """The orders queue answers: checkout can publish and the worker can receive."""
    sqs = aws.client("sqs")
    url = settings.ORDERS_QUEUE_URL or sqs.get_queue_url(QueueName=settings.ORDERS_QUEUE_NAME)["QueueUrl"]
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])


# Each check raises when its dependency is not usable. Later features append theirs.
READINESS_CHECKS = {"dynamodb": dynamodb_ready}
READINESS_CHECKS["sqs"] = sqs_ready


def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_state(name: str, check) -> str:
    try:
        check()
        return "ok"
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        logger.warning("Readiness check %s failed: %s", name, exc)
        return "unavailable"


def readyz(request):
    # The checks run side by side: a hung AWS endpoint costs one call's timeout, not the sum.
    with ThreadPoolExecutor(max_workers=len(READINESS_CHECKS)) as pool:
        futures = {name: pool.submit(_check_state, name, check) for name, check in READINESS_CHECKS.items()}
    checks = {name: future.result() for name, future in futures.items()}
    if all(state == "ok" for state in checks.values()):
        return JsonResponse({"status": "ok", "checks": checks})
    response = JsonResponse(
        {"code": "service_unavailable", "detail": "A dependency is unavailable.", "checks": checks},
        status=503,
    )
    response["Retry-After"] = str(settings.RETRY_AFTER_SECONDS)
    return response


class HealthCheckMiddleware:
    """Answers `GET /healthz` before Django validates the Host header.

    The load balancer's health check sends the task's private IP as Host, which ALLOWED_HOSTS
    rightly does not list: without this, CommonMiddleware answers 400 and no task turns healthy.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            return healthz(request)
        return self.get_response(request)
