"""The one place that turns settings into AWS clients and PynamoDB connection settings.

Every process builds its clients once and reuses them; nothing here is built per request.
Only endpoints differ between the local servers (tests, `make run`) and real AWS (production):
`AWS_ENDPOINT_URL` for every service, `DYNAMODB_ENDPOINT_URL`/`SQS_ENDPOINT_URL` where one has its own.
"""

import collections
import contextlib
import contextvars
import functools
import json
import os
import random
import sys
import threading
import time
from collections.abc import Iterator

import boto3
from botocore import handlers as botocore_handlers
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
        "TooManyRequestsException",  # Cognito's throttling
        # A single write to an item that a transaction is working on (DynamoDB refuses it rather
        # than wait; botocore does not retry it): busy, not broken.
        "TransactionConflictException",
    }
)


class DynamoMeta:
    """Base for every PynamoDB model's `Meta`: endpoint, region, credentials and time limits."""

    host = settings.DYNAMODB_ENDPOINT_URL
    region = settings.AWS_REGION
    aws_access_key_id = settings.AWS_ACCESS_KEY_ID
    aws_secret_access_key = settings.AWS_SECRET_ACCESS_KEY
    connect_timeout_seconds = settings.AWS_CONNECT_TIMEOUT
    read_timeout_seconds = settings.AWS_READ_TIMEOUT
    max_retry_attempts = settings.AWS_MAX_RETRIES
    # gunicorn threads and Celery threads share one connection pool per model.
    max_pool_connections = 32


_building = threading.Lock()


@functools.cache
def _session() -> boto3.session.Session:
    """One boto3 session per process: its botocore loader parses each service's model (large JSON
    files) once for every client built from it, instead of once per client.

    The session holds the credentials the settings name (the local servers' keys; none on AWS,
    where the default chain finds the task role's): PynamoDB discards a client whose signer has
    no credentials and builds another from a new session in the calling thread, so a model's
    client warmed without them would be rebuilt by every thread racing to its first request.
    """
    return boto3.session.Session(
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
    )


@functools.cache
def client(service_name: str, *, max_attempts: int | None = None):
    """A boto3 client for `service_name`, built once per process (boto3 clients are thread-safe).

    `max_attempts` overrides the SDK's retries: 1 for a call that must not be repeated blindly
    (an SES send whose answer timed out may have been sent).
    """
    # A service may have its own endpoint setting (DYNAMODB_ENDPOINT_URL, SQS_ENDPOINT_URL,
    # COGNITO_ENDPOINT_URL for cognito-idp); otherwise AWS_ENDPOINT_URL.
    own_setting = f"{service_name.split('-')[0].upper()}_ENDPOINT_URL"
    endpoint_url = getattr(settings, own_setting, None) or settings.AWS_ENDPOINT_URL
    with _building:  # a botocore session builds one client at a time (it is not thread-safe)
        return _session().client(
            service_name,
            endpoint_url=endpoint_url,
            region_name=settings.AWS_REGION,
            config=Config(
                connect_timeout=settings.AWS_CONNECT_TIMEOUT,
                read_timeout=settings.AWS_READ_TIMEOUT,
                retries={
                    "mode": "standard",
                    "total_max_attempts": max_attempts or 1 + settings.AWS_MAX_RETRIES,
                },
                max_pool_connections=32,
                # Our code builds every request (as PynamoDB's client does, which turns it off too):
                # botocore's check of each one costs CPU on every call for nothing.
                parameter_validation=False,
            ),
        )


def session_client(service_name: str, **kwargs):
    """A new client from the process's one boto3 session (see `_session`), for code that builds
    clients of its own (kombu's SQS channels: cloudcart/kombu_sqs.py)."""
    with _building:
        return _session().client(service_name, **kwargs)


def clients_warm(*, services: tuple[str, ...] = ("dynamodb",)) -> None:
    """Build this process's clients now, on one thread, before it serves (a gunicorn worker, a
    Celery worker before its pool starts): every PynamoDB model's connection and our `services`.

    Built lazily instead, the first requests or tasks of N threads race: PynamoDB builds a client
    per racing thread, each from its own botocore session (pynamodb/connection/base.py keeps one
    per thread), and each session parses the service's JSON model and the endpoint rules again.
    That was a sixth of a fresh worker's CPU in the bench's profile, and memory kept for nothing.
    Here all of them come from one botocore session, so each model file is parsed once.
    """
    from pynamodb.models import Model

    # Every model, also the one not in an app's models module (which Django imports at set-up):
    # the throttle's counter is otherwise first imported by a request, and each racing thread
    # then built its client from a botocore session of its own.
    import cloudcart.throttling  # noqa: F401

    shared = _session()._session  # boto3's botocore session
    todo, seen = list(Model.__subclasses__()), set()
    while todo:
        model = todo.pop()
        todo += model.__subclasses__()
        meta = getattr(model, "Meta", None)
        if model in seen or not getattr(meta, "table_name", None):
            continue
        seen.add(model)
        connection = model._get_connection().connection
        # pynamodb keeps its session per thread (`_local`); this thread's is the shared one.
        connection._local.session = shared
        with _building:
            connection.client  # noqa: B018 - builds (and keeps) the model's client
    for name in services:
        client(name)


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


def batch_get_items(
    request_items: dict, *, attempts: int, backoff_seconds: float
) -> dict[str, list[dict]] | None:
    """Every item one BatchGetItem request (`RequestItems`) finds, by table, as DynamoDB returns
    them; None when DynamoDB still leaves keys unprocessed after `attempts` calls in all.

    DynamoDB leaves keys unprocessed when it throttles. They are asked for again after
    `backoff_seconds`, then twice that and so on, each wait jittered down to half of itself, as
    AWS advises: an immediate, endless retry would only add load to a table already refusing it.
    What None means is the caller's: a 503 to a shopper, a task's retry later.
    """
    found: dict[str, list[dict]] = {}
    for attempt in range(attempts):
        if attempt:
            wait = backoff_seconds * 2 ** (attempt - 1)
            time.sleep(random.uniform(wait / 2, wait))
        answer = client("dynamodb").batch_get_item(RequestItems=request_items)
        for table, items in answer.get("Responses", {}).items():
            found.setdefault(table, []).extend(items)
        request_items = answer.get("UnprocessedKeys") or {}
        if not request_items:
            return found
    return None


# --- Per-request AWS call counts -------------------------------------------------------------


class AwsCalls(collections.Counter):
    """API calls made while counting, keyed `service.Operation` (e.g. `dynamodb.UpdateItem`; Stripe's
    as `stripe.PaymentIntent.create`, counted by payments.stripe_client).

    One call is one API operation as the code asked for it: botocore's own retries of that
    operation are not counted again.
    """

    def service(self, name: str) -> int:
        """All calls to one service (`dynamodb`, `sqs`)."""
        return sum(count for key, count in self.items() if key.split(".", 1)[0] == name)

    def by_service(self) -> dict[str, int]:
        totals: collections.Counter = collections.Counter()
        for key, count in self.items():
            totals[key.split(".", 1)[0]] += count
        return dict(sorted(totals.items()))

    def header_value(self) -> str:
        """`dynamodb=2, sqs=1` (services called, sorted); `none` when nothing was called."""
        return ", ".join(f"{name}={count}" for name, count in self.by_service().items()) or "none"


_calls_var: contextvars.ContextVar[AwsCalls | None] = contextvars.ContextVar("aws_calls", default=None)


def _count_call(model, **_) -> None:
    """botocore `before-call` handler: fires once per API call on every client (boto3, PynamoDB, kombu)."""
    calls = _calls_var.get()
    if calls is not None:
        calls[f"{model.service_model.service_name}.{model.name}"] += 1


def external_call_count(*, service: str, operation: str) -> None:
    """Count one call to a service that is not AWS (`stripe`) in the same per-request counter."""
    calls = _calls_var.get()
    if calls is not None:
        calls[f"{service}.{operation}"] += 1


def _count_calls_install() -> None:
    """Register `_count_call` in every botocore session this process creates from now on.

    Clients are built in three places we do not all own: our `client()`, PynamoDB (its own botocore
    session per thread, see pynamodb/connection/base.py `Connection.session`) and kombu's SQS
    transport (Celery publishes). botocore registers `BUILTIN_HANDLERS` on each new session
    (botocore/session.py `_register_builtin_handlers`), so one entry there reaches them all. It
    runs at import, before any client exists: models import this module to build their `Meta`.
    """
    spec = ("before-call", _count_call)
    if spec not in botocore_handlers.BUILTIN_HANDLERS:
        botocore_handlers.BUILTIN_HANDLERS.append(spec)


if settings.AWS_CALL_COUNTING:
    _count_calls_install()


@contextlib.contextmanager
def aws_calls_counted() -> Iterator[AwsCalls]:
    """Count the AWS calls made in this context (this thread or task), e.g. in a test:

    with aws_calls_counted() as calls:
        api.post("/cart", {"id": "1", "qty": 1}, format="json")
    assert calls.service("dynamodb") <= 3
    """
    if not settings.AWS_CALL_COUNTING:
        raise RuntimeError("AWS call counting is off: set AWS_CALL_COUNTING=1 before Django starts")
    calls = AwsCalls()
    token = _calls_var.set(calls)
    try:
        yield calls
    finally:
        _calls_var.reset(token)


# --- The AWS call log: which operations each kind of process calls, on what --------------------

# Who is calling now: "request POST /checkout", "task orders.tasks.process_order"; None outside both.
_origin_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("aws_call_origin", default=None)
# The request parameters that name what a call acts on (and, for transactions and batches, the
# kinds of item it holds): all the IAM check needs, never an item's contents.
_TARGET_PARAMS = (
    "TableName",
    "IndexName",
    "QueueUrl",
    "QueueName",
    "Bucket",
    "TopicArn",
    "UserPoolId",
    "Namespace",
)
_logged: set[str] = set()
_log_lock = threading.Lock()


@contextlib.contextmanager
def aws_call_origin(origin: str) -> Iterator[None]:
    """Attribute the AWS calls made in this context (thread or task) to `origin` in the call log."""
    token = _origin_var.set(origin)
    try:
        yield
    finally:
        _origin_var.reset(token)


def _process_origin() -> str:
    """What this process is when no request or task is running: `celery beat`, `celery worker`
    (kombu's own polling), `gunicorn`, `manage.py <command>`, or the program (pytest)."""
    args = sys.argv or [""]
    program = args[0]  # a path: `python -m celery` runs .../celery/__main__.py
    if "celery" in program:
        for kind in ("beat", "worker"):
            if kind in args:
                return f"process celery {kind}"
    if "gunicorn" in program:
        return "process gunicorn"
    if os.path.basename(program) == "manage.py" and len(args) > 1:
        return f"process manage.py {args[1]}"
    return f"process {os.path.basename(program)}"


def _call_target(params: dict) -> dict:
    target = {name: params[name] for name in _TARGET_PARAMS if isinstance(params.get(name), str)}
    if isinstance(params.get("RequestItems"), dict):  # BatchGetItem, BatchWriteItem
        target["Tables"] = sorted(params["RequestItems"])
    if isinstance(params.get("TransactItems"), list):  # TransactWriteItems, TransactGetItems
        target["Items"] = sorted(
            {(kind, body.get("TableName")) for item in params["TransactItems"] for kind, body in item.items()}
        )
    if params.get("Tagging"):  # S3 objects written with tags: one more IAM action
        target["Tagging"] = True
    return target


def _log_call(params, model, **_) -> None:
    """botocore `before-parameter-build` handler: append each new (origin, operation, target) once."""
    record = {
        "origin": _origin_var.get() or _process_origin(),
        "service": model.service_model.service_name,
        "operation": model.name,
        **_call_target(params or {}),
    }
    line = json.dumps(record, sort_keys=True, default=list)
    with _log_lock:
        if line in _logged:
            return
        _logged.add(line)
    # One write per line on an O_APPEND file: lines from many processes never interleave.
    fd = os.open(settings.AWS_CALL_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


if settings.AWS_CALL_LOG and ("before-parameter-build", _log_call) not in botocore_handlers.BUILTIN_HANDLERS:
    # Registered like `_count_call` above, so PynamoDB's and kombu's clients log too.
    botocore_handlers.BUILTIN_HANDLERS.append(("before-parameter-build", _log_call))
