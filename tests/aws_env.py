"""Point this test session at its own local AWS servers and table prefix before Django reads settings.

Loaded with `-p tests.aws_env` (see pyproject.toml) because pytest-django imports the settings
before any conftest runs. The servers are started by the `moto_server` fixture in conftest:
moto for everything but DynamoDB, which is DynamoDB Local unless LOCAL_DYNAMODB=moto.
"""

import os
import socket
import uuid


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


MOTO_PORT = free_port()
MOTO_URL = f"http://127.0.0.1:{MOTO_PORT}"

os.environ["DJANGO_ENV"] = "local"
os.environ["AWS_ENDPOINT_URL"] = MOTO_URL
LOCAL_DYNAMODB = os.environ.setdefault("LOCAL_DYNAMODB", "dynamodb-local")
DYNAMODB_PORT = free_port() if LOCAL_DYNAMODB == "dynamodb-local" else None
os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = f"http://127.0.0.1:{DYNAMODB_PORT}" if DYNAMODB_PORT else MOTO_URL
os.environ.pop("DYNAMODB_LOCAL_PORT", None)
os.environ["AWS_ACCESS_KEY_ID"] = "test"
os.environ["AWS_SECRET_ACCESS_KEY"] = "test"
os.environ["AWS_REGION"] = "us-east-1"
# Tests pin the AWS calls a request makes (cloudcart.aws.aws_calls_counted, `X-AWS-Calls`).
os.environ["AWS_CALL_COUNTING"] = "1"
# Every process of the session logs the AWS operations it calls here; at the end the IAM check
# (tests/iam/) holds them against the stack's task roles. One file per session (xdist workers
# inherit the controller's).
os.environ.setdefault(
    "AWS_CALL_LOG",
    os.path.join(
        os.path.dirname(__file__), "artifacts", f"aws-calls-{os.getpid()}-{uuid.uuid4().hex[:8]}.jsonl"
    ),
)
os.makedirs(os.path.dirname(os.environ["AWS_CALL_LOG"]), exist_ok=True)
# Every run gets its own tables (and queues), so runs never see each other's data.
os.environ["TABLE_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}-"
for name in ("PRODUCTS_TABLE", "CARTS_TABLE", "ORDERS_TABLE", "IDEMPOTENCY_TABLE"):
    os.environ.pop(name, None)
# The whole session is one client (127.0.0.1): tests that are not about throttling must not hit
# the production rates. tests/ops/test_throttling.py sets its own.
os.environ.setdefault("THROTTLE_CART_WRITE_RATE", "100000/min")
os.environ.setdefault("THROTTLE_CHECKOUT_RATE", "100000/min")
os.environ.setdefault("THROTTLE_GUEST_CHECKOUT_RATE", "100000/min")
os.environ.setdefault("THROTTLE_AUTH_RATE", "100000/min")
# Sign-in failures from this one address add up across the session (the fuzz run makes many):
# tests/accounts/test_auth_api.py sets its own limits.
os.environ.setdefault("LOGIN_FAILURES_PER_ADDRESS", "100000")
# Tests read what they just wrote: the catalog read cache is off unless a test turns it on
# (tests/catalog/test_read_cache.py).
os.environ["CATALOG_CACHE_SECONDS"] = "0"

# The ledger's PostgreSQL (deploy/local/postgres.py): its port is chosen now, so every process the
# session starts gets the same DATABASE_URL, but the server starts only when a test first needs the
# database (the `django_db_setup` fixture): tests that use none never pay for it.
POSTGRES_PORT = free_port()
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{POSTGRES_PORT}/cloudcart"
os.environ.pop("DATABASE_PASSWORD", None)
for name in ("LEDGER_QUEUE_NAME", "LEDGER_DLQ_NAME", "LEDGER_QUEUE_URL"):
    os.environ.pop(name, None)
os.environ["LEDGER_WAIT_TIME_SECONDS"] = "1"
# The projector's lag metric every second (60 s on AWS), so its processes in the suite put it.
os.environ["LEDGER_LAG_METRIC_SECONDS"] = "1"

# Orders: short queue timings, so a killed worker's messages come back in seconds and
# workers stop quickly; the queues share the run's unique prefix.
for name in ("QUEUE_PREFIX", "ORDERS_QUEUE_NAME", "ORDERS_DLQ_NAME", "ORDERS_QUEUE_URL", "SQS_ENDPOINT_URL"):
    os.environ.pop(name, None)
os.environ["ORDER_TASK_TIME_LIMIT"] = "6"
os.environ["ORDERS_VISIBILITY_TIMEOUT"] = "10"
os.environ["ORDERS_WAIT_TIME_SECONDS"] = "1"

# Notifications: their own queue, topic and table under the run's prefix; short timings, so a
# killed worker's notification comes back in seconds and an SES outage is retried every ~2 s.
for name in (
    "NOTIFICATIONS_TABLE",
    "NOTIFICATIONS_QUEUE_NAME",
    "NOTIFICATIONS_DLQ_NAME",
    "NOTIFICATIONS_QUEUE_URL",
    "ORDER_EVENTS_TOPIC_NAME",
    "ORDER_EVENTS_TOPIC_ARN",
    "SNS_ENDPOINT_URL",
    "SES_ENDPOINT_URL",
    "WORKER_QUEUES",
):
    os.environ.pop(name, None)
os.environ["NOTIFY_TASK_TIME_LIMIT"] = "6"
os.environ["NOTIFY_RETRY_BACKOFF_MAX"] = "2"
os.environ["NOTIFICATIONS_VISIBILITY_TIMEOUT"] = "10"

# Payments: the session's own localstripe on a free port (started by the `localstripe` fixture).
# The suite runs with payments off, as every test before payments did; the payment tests switch
# to Stripe (the `settings` fixture in process, PAYMENTS_PROVIDER in the env of what they spawn).
os.environ.setdefault("PAYMENTS_PROVIDER", "none")
LOCALSTRIPE_PORT = free_port()
os.environ["LOCALSTRIPE_PORT"] = str(LOCALSTRIPE_PORT)
for name in ("STRIPE_API_BASE", "STRIPE_JS_URL", "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY"):
    os.environ.pop(name, None)
os.environ["STRIPE_WEBHOOK_SECRET"] = "whsec_test_session"
# Short Stripe timeouts: a stopped localstripe is a 503 within a second or two.
os.environ["STRIPE_TIMEOUT_SECONDS"] = "3"
