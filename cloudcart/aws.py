"""The one place that turns settings into AWS clients and PynamoDB connection settings.

Every process builds its clients once and reuses them; nothing here is built per request.
Only `AWS_ENDPOINT_URL` differs between moto (local, tests) and real AWS (production).
"""

import functools

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    HTTPClientError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)
from django.conf import settings

# DynamoDB/SQS error codes that mean "the service is busy or failing, try again later".
TRANSIENT_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestThrottled",
        "TransactionInProgressException",
    }
)


class DynamoMeta:
    """Base for every PynamoDB model's `Meta`: endpoint, region, credentials and time limits."""

    host = settings.AWS_ENDPOINT_URL
    region = settings.AWS_REGION
    aws_access_key_id = settings.AWS_ACCESS_KEY_ID
    aws_secret_access_key = settings.AWS_SECRET_ACCESS_KEY
    connect_timeout_seconds = settings.AWS_CONNECT_TIMEOUT
    read_timeout_seconds = settings.AWS_READ_TIMEOUT
    max_retry_attempts = settings.AWS_MAX_RETRIES
    # gunicorn threads and Celery threads share one connection pool per model.
    max_pool_connections = 32


@functools.cache
def client(service_name: str):
    """A boto3 client for `service_name`, built once per process (boto3 clients are thread-safe)."""
    # A service may have its own endpoint setting (SQS_ENDPOINT_URL); otherwise AWS_ENDPOINT_URL.
    endpoint_url = (
        getattr(settings, f"{service_name.upper()}_ENDPOINT_URL", None) or settings.AWS_ENDPOINT_URL
    )
    return boto3.session.Session().client(
        service_name,
        endpoint_url=endpoint_url,
        region_name=settings.AWS_REGION,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        config=Config(
            connect_timeout=settings.AWS_CONNECT_TIMEOUT,
            read_timeout=settings.AWS_READ_TIMEOUT,
            retries={"mode": "standard", "total_max_attempts": 1 + settings.AWS_MAX_RETRIES},
            max_pool_connections=32,
        ),
    )


def _causes(exc: BaseException):
    """`exc` and everything it wraps: Python's exception chain and PynamoDB's `cause`."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__


def is_transient_aws_error(exc: BaseException) -> bool:
    """True when `exc` means AWS is unreachable, timing out or throttling (retry later)."""
    for cause in _causes(exc):
        if isinstance(cause, (BotocoreConnectionError, HTTPClientError)):
            return True
        if isinstance(cause, ClientError):
            error = cause.response.get("Error", {})
            status = cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if error.get("Code") in TRANSIENT_ERROR_CODES or status >= 500:
                return True
    return False
