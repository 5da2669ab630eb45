"""CloudCart settings: one module, every value read from the environment.

Local defaults make `make run` and `make test` work with no `.env`; production
(`DJANGO_ENV=production`) has no default for secrets and fails fast without them.
"""

import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit

import dj_database_url
import environ
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from shop.headers import shop_file_headers

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# "production" on AWS: secrets have no default and the HTTPS hardening below is on.
DJANGO_ENV = env.str("DJANGO_ENV", default="local")
IS_PRODUCTION = DJANGO_ENV == "production"

if IS_PRODUCTION:
    # No defaults: a production process without these must not start.
    SECRET_KEY = env.str("SECRET_KEY")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    DEBUG = False
else:
    # Signs pagination cursors (and CSRF tokens); the stack keeps it in Secrets Manager.
    SECRET_KEY = env.str("SECRET_KEY", default="local-insecure-key-do-not-use-in-production")
    # Host names this server answers to, comma-separated (the stack sets the ALB's and yours).
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
    # Django's debug pages; never on in production.
    DEBUG = env.bool("DEBUG", default=False)

INSTALLED_APPS = [
    # The back office's Django admin (backoffice/) and what it stands on: its users, sessions and
    # messages live in the ledger's database; the API itself never touches them.
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "cloudcart",
    "catalog",
    "cart",
    "orders",
    "accounts",
    "notifications",
    "payments",
    "backoffice",
    # OpenAPI 3 (drf-spectacular); Swagger UI's assets come from the sidecar package, served by us.
    "drf_spectacular",
    "drf_spectacular_sidecar",
]

MIDDLEWARE = [
    # Outermost: every response, even a 413 or a 404, carries the request id.
    "cloudcart.middleware.RequestIdMiddleware",
    # `Cache-Control: private, no-store` on per-client answers (views with `private_answers`).
    "cloudcart.middleware.PrivateAnswersMiddleware",
    "cloudcart.middleware.AwsCallCountMiddleware",  # only with AWS_CALL_COUNTING
    "cloudcart.middleware.AwsCallOriginMiddleware",  # only with AWS_CALL_LOG
    "cloudcart.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware, which validates Host: the ALB health check's Host is the task's IP.
    "cloudcart.health.HealthCheckMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The admin's session and staff user. Both are lazy: a request without the session cookie
    # (every API call) never reads the database.
    "django.contrib.sessions.middleware.SessionMiddleware",
    # CSRF: Django's middleware issues the token (the browsable API's forms carry it); DRF views are
    # csrf_exempt, so cloudcart.csrf enforces it for browser writes only (header clients are exempt).
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # X-Frame-Options: DENY (asked for by `check --deploy`): nobody frames the browsable API or docs.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# A write Django's CSRF middleware refuses (views that are not DRF's) answers JSON like the rest.
CSRF_FAILURE_VIEW = "cloudcart.errors.csrf_failure"

ROOT_URLCONF = "cloudcart.urls"
WSGI_APPLICATION = "cloudcart.wsgi.application"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# DynamoDB is the system of record; the one SQL database holds the back office's order ledger (a
# projection of the orders, backoffice/) and the admin's sessions. On AWS: Aurora PostgreSQL through
# RDS Proxy, over TLS (the stack sets the URL and, from Secrets Manager, DATABASE_PASSWORD). Locally
# `make run` and the tests start a throwaway PostgreSQL (deploy/local/postgres.py); unset, a SQLite
# file is the fallback (`make run LOCAL_DATABASE=sqlite`). Production tasks that never touch it (the
# API's web and worker tasks) get no URL: their ORM has no database.
DATABASE_URL = env.str(
    "DATABASE_URL",
    default="" if IS_PRODUCTION else f"sqlite:///{Path(tempfile.gettempdir()) / 'cloudcart-ledger.sqlite3'}",
)
# Seconds a database connection is kept for the next request or batch (0: one per request).
DATABASE_CONN_MAX_AGE = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES = (
    {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DATABASE_CONN_MAX_AGE)}
    if DATABASE_URL
    else {}
)
# The password apart from the URL: ECS injects it from the database's Secrets Manager secret.
DATABASE_PASSWORD = env.str("DATABASE_PASSWORD", default="")
if DATABASES and DATABASE_PASSWORD:
    DATABASES["default"]["PASSWORD"] = DATABASE_PASSWORD
if DATABASES and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A dead database fails an admin page or a projector batch in seconds, not a hung worker.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
# Set where `collectstatic` runs (the container image); locally whitenoise serves app static
# files (the browsable API's CSS/JS) straight from the installed packages instead.
STATIC_ROOT = env.str("STATIC_ROOT", default="") or None
WHITENOISE_USE_FINDERS = True
# The web shop (storefront/): Vite builds it into this directory (its files under shop/), which is
# mapped at the site's root: /shop/assets/* by whitenoise (hashed names, cached for a year), every
# other /shop/ path answered with index.html by shop.views. On AWS CloudFront serves it from S3.
STOREFRONT_DIR = Path(env.str("STOREFRONT_DIR", default=str(BASE_DIR / "storefront" / "dist")))
WHITENOISE_ROOT = STOREFRONT_DIR if STOREFRONT_DIR.is_dir() else None
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/shop/assets/"
WHITENOISE_ADD_HEADERS_FUNCTION = shop_file_headers

# Request size limit: larger bodies get 413 (see cloudcart.errors).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_BODY_BYTES", default=64 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "cloudcart.parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Cognito access tokens (`Authorization: Bearer ...`), verified locally: see accounts/.
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.CognitoAccessTokenAuthentication"],
    # Browser writes need the CSRF token (see the CSRF middleware above); everything else is open.
    "DEFAULT_PERMISSION_CLASSES": ["cloudcart.csrf.BrowserWritesNeedCsrf"],
    # No django.contrib.auth: a caller without a token is this anonymous customer.
    "UNAUTHENTICATED_USER": "accounts.users.AnonymousCustomer",
    "EXCEPTION_HANDLER": "cloudcart.errors.exception_handler",
    "URL_FORMAT_OVERRIDE": None,
    "DEFAULT_SCHEMA_CLASS": "cloudcart.openapi.AutoSchema",
    # X-Forwarded-For hops to trust for the client's address: the ALB adds one in production.
    "NUM_PROXIES": env.int("TRUSTED_PROXY_COUNT", default=1 if IS_PRODUCTION else 0),
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "cloudcart.negotiation.JSONFirstNegotiation",
}

# --- Production hardening (behind an ALB that terminates TLS) ----------------------------
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # The ALB health check speaks plain HTTP to the task.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- The back office's sign-in (backoffice/): staff sign in to /admin/ with their Cognito account ---
# No second password store: the one backend checks the e-mail and password with Cognito and lets in
# only the `staff` group (Django users are created with no usable password).
AUTHENTICATION_BACKENDS = ["backoffice.authentication.CognitoStaffBackend"]
# The admin's session cookie: HttpOnly, SameSite=Lax, Secure in production (above).
SESSION_COOKIE_NAME = "cloudcart_admin"
SESSION_COOKIE_HTTPONLY = True
# How long a staff member's admin session lasts, in seconds (8 hours).
SESSION_COOKIE_AGE = env.int("ADMIN_SESSION_SECONDS", default=8 * 3600)

# --- AWS (read in one place: cloudcart.aws) -----------------------------------------------
# Where moto's server listens locally (the Procfile starts it there): the default AWS_ENDPOINT_URL.
MOTO_HOST = env.str("MOTO_HOST", default="127.0.0.1")
MOTO_PORT = env.int("MOTO_PORT", default=4566)

# Locally moto's standalone server serves SQS, S3, Cognito, SNS and SES (AWS_ENDPOINT_URL, by
# default http://MOTO_HOST:MOTO_PORT), and AWS's DynamoDB Local serves DynamoDB on its own port
# (deploy/local/); in production leave the endpoints empty and boto3 finds the real services and
# the task role's credentials.
AWS_ENDPOINT_URL = (
    env.str("AWS_ENDPOINT_URL", default="" if IS_PRODUCTION else f"http://{MOTO_HOST}:{MOTO_PORT}") or None
)
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="" if IS_PRODUCTION else "test") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="" if IS_PRODUCTION else "test") or None
# Bounded time for every AWS call: a dead endpoint gives a 503 in seconds, not a hung worker.
AWS_CONNECT_TIMEOUT = env.float("AWS_CONNECT_TIMEOUT", default=1.0)
AWS_READ_TIMEOUT = env.float("AWS_READ_TIMEOUT", default=3.0)
AWS_MAX_RETRIES = env.int("AWS_MAX_RETRIES", default=1)
# Which local server is DynamoDB: "dynamodb-local" (AWS's DynamoDB Local, deploy/local/) or "moto"
# (moto's server, its DynamoDB requests serialized) for anyone who cannot or will not use AWS's.
LOCAL_DYNAMODB = env.str("LOCAL_DYNAMODB", default="dynamodb-local")
if LOCAL_DYNAMODB not in ("dynamodb-local", "moto"):
    raise ValueError(f"LOCAL_DYNAMODB must be dynamodb-local or moto, not {LOCAL_DYNAMODB!r}")
DYNAMODB_LOCAL_PORT = env.int("DYNAMODB_LOCAL_PORT", default=4700)
_dynamodb_local_url = (
    AWS_ENDPOINT_URL if LOCAL_DYNAMODB == "moto" else f"http://127.0.0.1:{DYNAMODB_LOCAL_PORT}"
)
# DynamoDB's own endpoint (PynamoDB models' host, the boto3 dynamodb client), under botocore's name
# so every AWS tool in this environment agrees. Unset: DynamoDB Local at 127.0.0.1:DYNAMODB_LOCAL_PORT
# (moto's AWS_ENDPOINT_URL with LOCAL_DYNAMODB=moto); in production, AWS.
DYNAMODB_ENDPOINT_URL = (
    env.str("AWS_ENDPOINT_URL_DYNAMODB", default="" if IS_PRODUCTION else _dynamodb_local_url)
    or AWS_ENDPOINT_URL
)
# Count the AWS calls each request makes (cloudcart.aws.aws_calls_counted) and answer them in an
# `X-AWS-Calls: dynamodb=2, sqs=1` header and the access log: on in tests and `make bench`.
AWS_CALL_COUNTING = env.bool("AWS_CALL_COUNTING", default=False)
# A file every process appends the AWS operations it calls to, once each, with who called
# (a request, a Celery task, the process itself) and on what (tables, queues, buckets): the
# test suite turns it into the IAM actions each process kind needs (tests/iam/). Empty: off.
AWS_CALL_LOG = env.str("AWS_CALL_LOG", default="")

# Table names: each defaults to the prefix + its name (tests use a unique prefix per run); the
# CDK stack sets every name.
TABLE_PREFIX = env.str("TABLE_PREFIX", default="cloudcart-")
PRODUCTS_TABLE = env.str("PRODUCTS_TABLE", default=f"{TABLE_PREFIX}products")
CARTS_TABLE = env.str("CARTS_TABLE", default=f"{TABLE_PREFIX}carts")
ORDERS_TABLE = env.str("ORDERS_TABLE", default=f"{TABLE_PREFIX}orders")
IDEMPOTENCY_TABLE = env.str("IDEMPOTENCY_TABLE", default=f"{TABLE_PREFIX}idempotency")

# Queue names share the prefix, so a test run's queues are as private as its tables.
QUEUE_PREFIX = env.str("QUEUE_PREFIX", default=TABLE_PREFIX)
ORDERS_QUEUE_NAME = env.str("ORDERS_QUEUE_NAME", default=f"{QUEUE_PREFIX}orders")
ORDERS_DLQ_NAME = env.str("ORDERS_DLQ_NAME", default=f"{QUEUE_PREFIX}orders-dlq")
# A message that failed this many receives goes to the DLQ.
ORDERS_MAX_RECEIVES = 5
# The worker's hard limit per task, and the SQS visibility timeout kept well above it so a
# message is never redelivered while its task can still be running.
ORDER_TASK_TIME_LIMIT = env.int("ORDER_TASK_TIME_LIMIT", default=60)
ORDERS_VISIBILITY_TIMEOUT = env.int("ORDERS_VISIBILITY_TIMEOUT", default=ORDER_TASK_TIME_LIMIT * 3)

# --- Shop -----------------------------------------------------------------------------------
# The ISO 4217 code of every price and total (one currency per shop).
SHOP_CURRENCY = env.str("SHOP_CURRENCY", default="USD")
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
# Old cursors stop working after a day: bounded replay of stale keys.
CURSOR_MAX_AGE_SECONDS = 24 * 3600
# The `Retry-After` of a 503 when DynamoDB or SQS is unreachable or throttling.
RETRY_AFTER_SECONDS = env.int("RETRY_AFTER_SECONDS", default=5)

# --- Catalog read cache ------------------------------------------------------------
# Catalog GETs (product, listing, category page) may be served from a per-process cache up to
# this many seconds old; it is also the `Cache-Control: max-age` a CDN or the ALB may honour.
# 0 turns the cache off. Cart pricing and checkout never use it (see catalog/cache.py).
CATALOG_CACHE_SECONDS = env.float("CATALOG_CACHE_SECONDS", default=5.0)
CATALOG_CACHE_MAX_ENTRIES = env.int("CATALOG_CACHE_MAX_ENTRIES", default=2048)
# When DynamoDB fails (unreachable, timing out, throttling), the last good answer is served for
# this many seconds past its freshness before the answer becomes 503.
CATALOG_STALE_IF_ERROR_SECONDS = env.float("CATALOG_STALE_IF_ERROR_SECONDS", default=60.0)
# Threads per process that may wait on catalog reads at once: keep it below GUNICORN_THREADS
# (default 4), so /healthz and the other paths always find a free thread while DynamoDB hangs.
CATALOG_READ_SLOTS = env.int("CATALOG_READ_SLOTS", default=3)
REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"] = "cloudcart.negotiation.JSONFirstNegotiation"

# --- Catalog: product images (S3 presigned POST in, CloudFront out) -------------------------
# The private bucket staff upload product images to (bootstrap_aws creates it locally; the stack
# on AWS). Objects live under products/{id}/.
PRODUCT_IMAGES_BUCKET = env.str("PRODUCT_IMAGES_BUCKET", default=f"{TABLE_PREFIX}product-images")
# The largest image a signed upload may carry and an attached object may be (bytes).
PRODUCT_IMAGE_MAX_BYTES = env.int("PRODUCT_IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
# Where clients fetch images: `image_url` = this + "/" + the key. On AWS the CloudFront
# distribution's URL (the stack sets it); locally the bucket on the local S3 endpoint.
PRODUCT_IMAGES_BASE_URL = env.str(
    "PRODUCT_IMAGES_BASE_URL",
    default="" if IS_PRODUCTION else f"{AWS_ENDPOINT_URL}/{PRODUCT_IMAGES_BUCKET}",
).rstrip("/")
# A signed upload form is valid this long.
PRODUCT_IMAGE_UPLOAD_EXPIRES_SECONDS = 600

# --- Accounts: Cognito sign-in (accounts/) ----------------------------------------------------
# Production: the stack sets the pool and app client ids. Locally both stay empty and the app
# finds them by name on moto, where `bootstrap_aws` creates them.
COGNITO_USER_POOL_ID = env.str("COGNITO_USER_POOL_ID", default="")
COGNITO_CLIENT_ID = env.str("COGNITO_CLIENT_ID", default="")
COGNITO_USER_POOL_NAME = env.str("COGNITO_USER_POOL_NAME", default=f"{TABLE_PREFIX}customers")
COGNITO_CLIENT_NAME = env.str("COGNITO_CLIENT_NAME", default="cloudcart-web")
# Cognito may be served apart from the other services (a test points it at a dead port); default: the same.
COGNITO_ENDPOINT_URL = env.str("COGNITO_ENDPOINT_URL", default="") or AWS_ENDPOINT_URL
COGNITO_STAFF_GROUP = "staff"
# Tokens always name the real AWS issuer (moto's too); the keys are fetched from the JWKS URL,
# which on AWS is the issuer's and locally moto's `{endpoint}/{pool}/.well-known/jwks.json`.
# Empty: derived from the region, the pool id and the endpoint (accounts/cognito.py).
COGNITO_ISSUER = env.str("COGNITO_ISSUER", default="")
COGNITO_JWKS_URL = env.str("COGNITO_JWKS_URL", default="")
# The JWKS document is refetched this often, and for a token naming an unknown `kid` (Cognito
# rotated its keys) at most once per COGNITO_JWKS_REFETCH_SECONDS.
COGNITO_JWKS_CACHE_SECONDS = env.int("COGNITO_JWKS_CACHE_SECONDS", default=3600)
COGNITO_JWKS_REFETCH_SECONDS = env.float("COGNITO_JWKS_REFETCH_SECONDS", default=30.0)
# Clock skew allowed on a token's `exp` and `iat`, in seconds.
COGNITO_TOKEN_LEEWAY_SECONDS = env.int("COGNITO_TOKEN_LEEWAY_SECONDS", default=30)
# Locally a registration is confirmed at once (no e-mail is sent); on AWS the customer confirms
# with the code Cognito e-mails (`POST /auth/confirm`).
ACCOUNTS_AUTO_CONFIRM = env.bool("ACCOUNTS_AUTO_CONFIRM", default=not IS_PRODUCTION)
# Brute-force guard on sign-in (accounts/login_guard.py), per account and per address: after this
# many failed sign-ins, sign-in answers 429 for the lock's time, whatever the password.
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=5)
LOGIN_FAILURES_PER_ADDRESS = env.int("LOGIN_FAILURES_PER_ADDRESS", default=20)
# The sign-in guard's first lock, in seconds (the longest a person who mistyped waits); each lock
# that follows another is twice as long, up to LOGIN_LOCK_MAX_SECONDS.
LOGIN_LOCK_SECONDS = env.int("LOGIN_LOCK_SECONDS", default=60)
LOGIN_LOCK_MAX_SECONDS = env.int("LOGIN_LOCK_MAX_SECONDS", default=3600)
# The sign-in guard forgets an account's (or address's) failures after this many seconds without
# a sign-in attempt; keep it above LOGIN_LOCK_MAX_SECONDS.
LOGIN_FAILURE_MEMORY_SECONDS = env.int("LOGIN_FAILURE_MEMORY_SECONDS", default=86400)
# A staff write re-checks the caller's `staff` group at Cognito when the last check of that
# caller (per process) is older than this, in seconds: removal from the group stops staff writes
# within this bound (the access token itself lists groups for up to an hour).
STAFF_RECHECK_SECONDS = env.int("STAFF_RECHECK_SECONDS", default=60)
# `make run` signs these two up (the second in the staff group) and prints them; production
# never runs that command. Local defaults only: they satisfy the pool's password policy.
DEMO_CUSTOMER_EMAIL = env.str("DEMO_CUSTOMER_EMAIL", default="customer@example.com")
DEMO_CUSTOMER_PASSWORD = env.str("DEMO_CUSTOMER_PASSWORD", default="Customer-Passw0rd")
DEMO_STAFF_EMAIL = env.str("DEMO_STAFF_EMAIL", default="staff@example.com")
DEMO_STAFF_PASSWORD = env.str("DEMO_STAFF_PASSWORD", default="Staff-Passw0rd!")
# Checkout without signing in (guest checkout) is allowed unless this is true (then 401).
CHECKOUT_REQUIRES_SIGN_IN = env.bool("CHECKOUT_REQUIRES_SIGN_IN", default=False)

# --- Orders: checkout, Celery over SQS, the worker and the reconciler --------------
# SQS may be served apart from DynamoDB (and a test points it at a dead port); default: the same.
SQS_ENDPOINT_URL = env.str("SQS_ENDPOINT_URL", default="") or AWS_ENDPOINT_URL
# Real AWS: the stack sets the queue's URL. Locally (moto) it is derived from the endpoint.
ORDERS_QUEUE_URL = env.str("ORDERS_QUEUE_URL", default="")
ORDER_MAX_LINES = 99
ORDER_MAX_LINE_QTY = 999
IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_TTL_SECONDS = 24 * 3600
# A checkout (reads, the order's transaction, its retries on conflicts and timeouts) gives up
# after this long: well inside the load balancer's 60 s idle timeout.
CHECKOUT_DEADLINE_SECONDS = env.float("CHECKOUT_DEADLINE_SECONDS", default=20.0)
# The reconciler re-publishes orders still PENDING this long after checkout, every interval.
ORDERS_RECONCILE_AFTER_SECONDS = env.int("ORDERS_RECONCILE_AFTER_SECONDS", default=120)
ORDERS_RECONCILE_INTERVAL_SECONDS = env.float("ORDERS_RECONCILE_INTERVAL_SECONDS", default=60.0)
ORDERS_RECONCILE_BATCH = env.int("ORDERS_RECONCILE_BATCH", default=500)
# Poison orders end: every publish of an order is counted on the order (checkout's is the first),
# and the reconciler waits twice as long before each further one (AFTER, 2x, 4x, ...), so an
# order whose message fails every time is published at most this many times (the DLQ holds at
# most as many copies) and is then FAILED (reason `processing_failed`) for an operator to retry
# with `manage.py order_retry`. With the defaults that is about an hour after checkout: a worker
# outage shorter than that fails nothing.
ORDERS_MAX_PUBLISHES = env.int("ORDERS_MAX_PUBLISHES", default=5)

# Long polling: a ReceiveMessage waits up to this long for a message (SQS's maximum is 20).
ORDERS_WAIT_TIME_SECONDS = env.int("ORDERS_WAIT_TIME_SECONDS", default=10)
ORDERS_POLLING_INTERVAL = env.float("ORDERS_POLLING_INTERVAL", default=0.0)
# moto's queue URLs are `{endpoint}/{account}/{name}` (it reads only the name).
if not ORDERS_QUEUE_URL and SQS_ENDPOINT_URL:
    ORDERS_QUEUE_URL = f"{SQS_ENDPOINT_URL.rstrip('/')}/123456789012/{ORDERS_QUEUE_NAME}"

# --- Payments: Stripe PaymentIntents (payments/), localstripe locally ---------------------
# "stripe": checkout opens a PaymentIntent (manual capture) and the order waits AWAITING_PAYMENT
# until it is authorised; the worker captures once the stock is taken. "none": orders confirm on
# stock alone (a shop paid elsewhere).
PAYMENTS_PROVIDER = env.str("PAYMENTS_PROVIDER", default="stripe")
if PAYMENTS_PROVIDER not in ("stripe", "none"):
    raise ValueError(f"PAYMENTS_PROVIDER must be stripe or none, not {PAYMENTS_PROVIDER!r}")
# localstripe's port (deploy/local/localstripe.py): `make run` and the test session start it.
LOCALSTRIPE_PORT = env.int("LOCALSTRIPE_PORT", default=8420)
_localstripe_url = f"http://127.0.0.1:{LOCALSTRIPE_PORT}"
# Stripe's API keys and the webhook endpoint's signing secret (Secrets Manager on AWS). The local
# defaults are what localstripe accepts (any sk_/pk_ key) and the secret its webhook is registered
# with at start-up (`manage.py stripe_local_webhook`).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="" if IS_PRODUCTION else "sk_test_local_cloudcart")
STRIPE_PUBLISHABLE_KEY = env.str(
    "STRIPE_PUBLISHABLE_KEY", default="" if IS_PRODUCTION else "pk_test_local_cloudcart"
)
STRIPE_WEBHOOK_SECRET = env.str(
    "STRIPE_WEBHOOK_SECRET", default="" if IS_PRODUCTION else "whsec_local_cloudcart"
)
if IS_PRODUCTION and PAYMENTS_PROVIDER == "stripe":
    _missing = [
        name
        for name, value in (
            ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY),
            ("STRIPE_PUBLISHABLE_KEY", STRIPE_PUBLISHABLE_KEY),
            ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET),
        )
        if not value
    ]
    if _missing:
        raise ImproperlyConfigured(f"PAYMENTS_PROVIDER=stripe needs {', '.join(_missing)}")
# Where the Stripe library sends API calls: localstripe locally; empty on AWS (Stripe itself).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="" if IS_PRODUCTION else _localstripe_url)
# Stripe.js for the browser: localstripe's shim locally, Stripe's own on AWS.
STRIPE_JS_URL = env.str(
    "STRIPE_JS_URL",
    default="https://js.stripe.com/v3/" if IS_PRODUCTION else f"{_localstripe_url}/js.stripe.com/v3/",
)
# Bounded time for every Stripe call (seconds), and the library's own retries of a failed call
# (each with the same idempotency key): Stripe unreachable becomes a 503 in seconds.
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=10.0)
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=1)
# An order unpaid this long after checkout becomes EXPIRED and its PaymentIntent is cancelled.
PAYMENT_TIMEOUT_SECONDS = env.int("PAYMENT_TIMEOUT_SECONDS", default=1800)
# The payments reconciler (beat, every interval) asks Stripe about orders still AWAITING_PAYMENT
# this long after checkout: a lost webhook never leaves a paid order waiting.
PAYMENTS_RECONCILE_AFTER_SECONDS = env.int("PAYMENTS_RECONCILE_AFTER_SECONDS", default=120)
PAYMENTS_RECONCILE_INTERVAL_SECONDS = env.float("PAYMENTS_RECONCILE_INTERVAL_SECONDS", default=60.0)
PAYMENTS_RECONCILE_BATCH = env.int("PAYMENTS_RECONCILE_BATCH", default=200)
# Checkout then needs a `shipping_address` (it is optional by default).
SHIPPING_ADDRESS_REQUIRED = env.bool("SHIPPING_ADDRESS_REQUIRED", default=False)

# --- Notifications: order events on SNS, e-mail receipts through SES (notifications/) ------
# SNS and SES may be served apart from the rest (a test points SES at a dead port); default: the same.
SNS_ENDPOINT_URL = env.str("SNS_ENDPOINT_URL", default="") or AWS_ENDPOINT_URL
# Where SES is (and, locally, where `manage.py outbox` reads moto's record of sent e-mails).
SES_ENDPOINT_URL = env.str("SES_ENDPOINT_URL", default="") or AWS_ENDPOINT_URL
# One "sent" marker per order, state and channel (notifications.models.NotificationMarker).
NOTIFICATIONS_TABLE = env.str("NOTIFICATIONS_TABLE", default=f"{TABLE_PREFIX}notifications")
# Notifications travel on their own queue (and DLQ), so a slow or failing SES never delays orders.
NOTIFICATIONS_QUEUE_NAME = env.str("NOTIFICATIONS_QUEUE_NAME", default=f"{QUEUE_PREFIX}notifications")
NOTIFICATIONS_DLQ_NAME = env.str("NOTIFICATIONS_DLQ_NAME", default=f"{QUEUE_PREFIX}notifications-dlq")
# Real AWS: the stack sets the queue's URL. Locally (moto) it is derived from the endpoint.
NOTIFICATIONS_QUEUE_URL = env.str("NOTIFICATIONS_QUEUE_URL", default="")
if not NOTIFICATIONS_QUEUE_URL and SQS_ENDPOINT_URL:
    NOTIFICATIONS_QUEUE_URL = f"{SQS_ENDPOINT_URL.rstrip('/')}/123456789012/{NOTIFICATIONS_QUEUE_NAME}"
NOTIFICATIONS_MAX_RECEIVES = 5
# The notify task's hard limit; a claimed send older than this (plus 5 s) belongs to a dead attempt.
NOTIFY_TASK_TIME_LIMIT = env.int("NOTIFY_TASK_TIME_LIMIT", default=30)
# Retries after SES/SNS throttling or outage back off exponentially up to this many seconds...
NOTIFY_RETRY_BACKOFF_MAX = env.int("NOTIFY_RETRY_BACKOFF_MAX", default=60)
# ...this many times; then the message is received NOTIFICATIONS_MAX_RECEIVES more times and dead-lettered.
NOTIFY_MAX_RETRIES = env.int("NOTIFY_MAX_RETRIES", default=10)
# Above the longest retry countdown plus a run: a retried task waits unacked in the worker.
NOTIFICATIONS_VISIBILITY_TIMEOUT = env.int(
    "NOTIFICATIONS_VISIBILITY_TIMEOUT", default=NOTIFY_RETRY_BACKOFF_MAX + 2 * NOTIFY_TASK_TIME_LIMIT
)
# E-mails to one recipient address per clock hour; past it an e-mail is skipped (logged, its
# marker SKIPPED), the order unaffected: checkout takes any address, and the sender is the shop.
NOTIFY_EMAILS_PER_RECIPIENT_PER_HOUR = env.int("NOTIFY_EMAILS_PER_RECIPIENT_PER_HOUR", default=10)
# The SNS topic every order state change is published to. Locally (moto) its ARN is derived.
ORDER_EVENTS_TOPIC_NAME = env.str("ORDER_EVENTS_TOPIC_NAME", default=f"{QUEUE_PREFIX}order-events")
# Real AWS: the stack sets the topic's ARN (the events schema: docs/events.md).
ORDER_EVENTS_TOPIC_ARN = env.str("ORDER_EVENTS_TOPIC_ARN", default="")
if not ORDER_EVENTS_TOPIC_ARN and SNS_ENDPOINT_URL:
    ORDER_EVENTS_TOPIC_ARN = f"arn:aws:sns:{AWS_REGION}:123456789012:{ORDER_EVENTS_TOPIC_NAME}"
# Who receipts come from (an SES-verified identity). Production has no default (the stack sets
# it): without it e-mails fail loudly in the notify task (to its DLQ); orders are unaffected.
NOTIFICATIONS_SENDER = env.str(
    "NOTIFICATIONS_SENDER", default="" if IS_PRODUCTION else "CloudCart <orders@cloudcart.example>"
)
# The API's local port (`make run`'s): the default SHOP_URL points at it.
WEB_PORT = env.int("WEB_PORT", default=8000)
# The base URL of the order link in e-mails (`{SHOP_URL}/orders/{id}`); the stack sets the API's URL.
SHOP_URL = env.str("SHOP_URL", default="" if IS_PRODUCTION else f"http://127.0.0.1:{WEB_PORT}")
# The shop's name in e-mail subjects and bodies.
SHOP_NAME = env.str("SHOP_NAME", default="CloudCart")
# SES configuration set (sending events, reputation metrics); empty: none (moto, local).
SES_CONFIGURATION_SET = env.str("SES_CONFIGURATION_SET", default="")
# The queues a worker process consumes: "orders", "notifications" or both (the default, local).
WORKER_QUEUES = env.list("WORKER_QUEUES", default=["orders", "notifications"])
# The worker's pool: "threads" (one process; its tasks spend their time waiting on AWS, so
# threads overlap the waits at a fraction of prefork's CPU and memory), "prefork" or "solo".
WORKER_POOL = env.str("WORKER_POOL", default="threads")
# Tasks one worker process runs at once (threads; processes with prefork).
WORKER_CONCURRENCY = env.int("WORKER_CONCURRENCY", default=16)

# --- Back office: the order ledger's projector (backoffice/) -------------------------------
# The projector consumes the order events topic through its own queue (subscribed with raw
# delivery; bootstrap_aws locally, the stack on AWS) and its DLQ.
LEDGER_QUEUE_NAME = env.str("LEDGER_QUEUE_NAME", default=f"{QUEUE_PREFIX}ledger")
LEDGER_DLQ_NAME = env.str("LEDGER_DLQ_NAME", default=f"{QUEUE_PREFIX}ledger-dlq")
# Real AWS: the stack sets the queue's URL. Locally (moto) it is derived from the endpoint.
LEDGER_QUEUE_URL = env.str("LEDGER_QUEUE_URL", default="")
if not LEDGER_QUEUE_URL and SQS_ENDPOINT_URL:
    LEDGER_QUEUE_URL = f"{SQS_ENDPOINT_URL.rstrip('/')}/123456789012/{LEDGER_QUEUE_NAME}"
# An event the projector failed this many receives goes to the DLQ (alarmed).
LEDGER_MAX_RECEIVES = 5
# A received batch is projected (one DynamoDB read, one SQL transaction) well inside this.
LEDGER_VISIBILITY_TIMEOUT = env.int("LEDGER_VISIBILITY_TIMEOUT", default=30)
# Long polling of the ledger queue (SQS's maximum is 20 s).
LEDGER_WAIT_TIME_SECONDS = env.int("LEDGER_WAIT_TIME_SECONDS", default=ORDERS_WAIT_TIME_SECONDS)
# Receive loops per projector process, each with its own database connection: a batch waits on
# SQS, DynamoDB and PostgreSQL in turn, so several loops keep all three busy (8 projected 260-301
# events/s in the bench, 4 179-305: docs/performance.md).
LEDGER_PROJECTOR_THREADS = env.int("LEDGER_PROJECTOR_THREADS", default=8)
# How often the projector puts its lag metric (the largest age, sent to projected, of the events
# it projected meanwhile); the alarm watches the queue's own oldest-message age.
LEDGER_LAG_METRIC_SECONDS = env.float("LEDGER_LAG_METRIC_SECONDS", default=60.0)
# Rows per page of the admin's lists.
ADMIN_PAGE_SIZE = env.int("ADMIN_PAGE_SIZE", default=50)

# --- Celery over SQS: broker, queues, worker, beat ---------------------------------------
# Celery (cloudcart/celery.py reads every CELERY_* setting). The broker is the one place that
# turns the AWS settings into kombu's terms: kombu takes the SQS endpoint from the URL's host and
# port (it has no endpoint option); on AWS it is plain `sqs://` and boto3 finds the task role.
_sqs_endpoint = urlsplit(SQS_ENDPOINT_URL) if SQS_ENDPOINT_URL else None
_sqs_credentials = (
    f"{quote(AWS_ACCESS_KEY_ID, safe='')}:{quote(AWS_SECRET_ACCESS_KEY or '', safe='')}@"
    if AWS_ACCESS_KEY_ID
    else ""
)
CELERY_BROKER_URL = f"sqs://{_sqs_credentials}{_sqs_endpoint.netloc if _sqs_endpoint else ''}"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "region": AWS_REGION,
    "is_secure": _sqs_endpoint is None or _sqs_endpoint.scheme == "https",
    "visibility_timeout": ORDERS_VISIBILITY_TIMEOUT,
    "wait_time_seconds": ORDERS_WAIT_TIME_SECONDS,
    "polling_interval": ORDERS_POLLING_INTERVAL,
    # Predefined: kombu never lists or creates queues (bootstrap_aws / the stack own them).
    # Without a URL (AWS, none set) kombu finds the queue by name.
    "predefined_queues": {
        name: {"url": url}
        for name, url in (
            (ORDERS_QUEUE_NAME, ORDERS_QUEUE_URL),
            (NOTIFICATIONS_QUEUE_NAME, NOTIFICATIONS_QUEUE_URL),
        )
        if url
    },
    # The same bounded time as every other AWS call: a dead endpoint fails a publish in seconds.
    "client-config": {
        "connect_timeout": AWS_CONNECT_TIMEOUT,
        "read_timeout": AWS_READ_TIMEOUT,
        "retries": {"mode": "standard", "total_max_attempts": 1 + AWS_MAX_RETRIES},
        # Our code builds every message; botocore's check of each request costs CPU for nothing.
        "parameter_validation": False,
    },
}
CELERY_TASK_DEFAULT_QUEUE = ORDERS_QUEUE_NAME
# Notification tasks go to their own queue; each worker consumes the queues WORKER_QUEUES names.
CELERY_TASK_ROUTES = {"notifications.tasks.*": {"queue": NOTIFICATIONS_QUEUE_NAME}}
_QUEUE_NAMES = {"orders": ORDERS_QUEUE_NAME, "notifications": NOTIFICATIONS_QUEUE_NAME}
CELERY_TASK_QUEUES = [Queue(_QUEUE_NAMES[kind], routing_key=_QUEUE_NAMES[kind]) for kind in WORKER_QUEUES]
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# A publish that fails is retried once, quickly; after that checkout answers anyway (the order
# is stored) and the reconciler publishes it later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
# Messages each worker process takes per receive. 1 made every order wait for its own SQS round
# trip (checkout-to-CONFIRMED p50 12 s vs 0.5 s at 20 orders/s, tests/bench/checkout_bench.py);
# a prefetched message waits invisible, so prefetch x time limit should stay near the visibility
# timeout (a later redelivery is harmless: processing is idempotent).
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
CELERY_WORKER_POOL = WORKER_POOL
CELERY_WORKER_CONCURRENCY = WORKER_CONCURRENCY
# A publishing connection per task thread (the worker enqueues each final order's notifications):
# with Celery's default of 10, the pool's other threads queued for a producer.
CELERY_BROKER_POOL_LIMIT = max(10, WORKER_CONCURRENCY)
# SQS has no broadcast for remote control or events; the worker needs neither.
CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
CELERY_WORKER_SEND_TASK_EVENTS = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Custom CloudWatch metrics (cloudcart/metrics.py): the beat heartbeat and the oldest PENDING
# order's age, which two alarms watch. The stack sets its own namespace per stack.
METRICS_NAMESPACE = env.str("METRICS_NAMESPACE", default="CloudCart")
# How often beat publishes the heartbeat task (a worker puts the metric).
BEAT_HEARTBEAT_SECONDS = env.float("BEAT_HEARTBEAT_SECONDS", default=60.0)
# Each periodic run expires when the next one is due: while no worker consumes (workers down,
# SQS unreachable), beat's messages do not pile up into a burst of runs on recovery.
CELERY_BEAT_SCHEDULE = {
    "orders-reconcile": {
        "task": "orders.tasks.orders_reconcile",
        "schedule": ORDERS_RECONCILE_INTERVAL_SECONDS,
        "options": {"expires": ORDERS_RECONCILE_INTERVAL_SECONDS},
    },
    "payments-reconcile": {
        "task": "payments.tasks.payments_reconcile",
        "schedule": PAYMENTS_RECONCILE_INTERVAL_SECONDS,
        "options": {"expires": PAYMENTS_RECONCILE_INTERVAL_SECONDS},
    },
    "beat-heartbeat": {
        "task": "cloudcart.tasks.beat_heartbeat",
        "schedule": BEAT_HEARTBEAT_SECONDS,
        "options": {"expires": BEAT_HEARTBEAT_SECONDS},
    },
}

# --- Tracing (OpenTelemetry, cloudcart/tracing.py) -------------------------------------------
# Off: no tracer at all (the bench's baseline for the tracing overhead). On: spans with ids in
# every log line and in the messages' headers, recorded only when exported (below).
TRACING_ENABLED = env.bool("TRACING_ENABLED", default=True)
# Where spans go (OTLP over HTTP, e.g. the ADOT collector beside the task: http://localhost:4318);
# empty: nowhere. The SDK reads its other OTEL_EXPORTER_OTLP_* and OTEL_TRACES_SAMPLER variables itself.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
# This process's name in traces: the stack sets one per service, the Procfile for worker and notifier.
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="cloudcart")
# Tests and local debugging: also write every span to this file, one JSON object per line.
TRACES_FILE = env.str("TRACES_FILE", default="")
# Paths whose requests get no span (the load balancer's checks), comma-separated regexes.
TRACING_EXCLUDED_URLS = env.str("TRACING_EXCLUDED_URLS", default="healthz,readyz")

# --- Logging ---------------------------------------------------------------------------------
# The root logger's level (botocore, pynamodb and urllib3 stay at WARNING).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# One JSON object per line, each with the request id (None outside a request/task).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "cloudcart.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "cloudcart.logs.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str(
                "LOG_FORMAT", default="json"
            ),  # "json" lines, or "plain" for humans at a terminal
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "pynamodb": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        # A 4xx is the client's doing and gunicorn's access line already records it; Django's own
        # "Not Found: ..." warning would be a second line per request. 5xx still log (ERROR).
        "django.request": {"level": "ERROR"},
        # A wrong Host is answered 400 JSON (cloudcart.errors.handler400): its traceback is noise.
        "django.security.DisallowedHost": {"level": "CRITICAL"},
    },
}

# --- Operability: OpenAPI, throttles ------------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "CloudCart API",
    "DESCRIPTION": (
        "Catalog, cart and checkout. Every error is JSON `{code, detail}` (field errors under "
        "`errors`); every response carries `X-Request-ID`. The error codes: docs/api.md."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # PATCH /cart sets a whole line: its body is not a partial update.
    "COMPONENT_SPLIT_PATCH": False,
    # An order's status and its payment's status are both "status": name each set of choices.
    "ENUM_NAME_OVERRIDES": {"OrderStatusEnum": "orders.lifecycle.STATUSES"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.openapi.postprocess_bearer_errors",
        "cloudcart.openapi.postprocess_common",
    ],
}

# Write throttles per client (cloudcart.throttling), counted in a shared DynamoDB table so all
# workers and hosts enforce one limit. "N/s|m|h|d"; empty disables a scope.
THROTTLE_TABLE = env.str("THROTTLE_TABLE", default=f"{TABLE_PREFIX}throttle")
THROTTLE_RATES = {
    "cart_write": env.str("THROTTLE_CART_WRITE_RATE", default="120/min"),
    "checkout": env.str("THROTTLE_CHECKOUT_RATE", default="20/min"),
    # Checkouts of clients with no identity (no cart id, cookie or token), per client address; a
    # WAF rate rule at the load balancer limits every address's checkouts before they get here.
    "guest_checkout": env.str("THROTTLE_GUEST_CHECKOUT_RATE", default="30/hour"),
    # Every /auth/* call (register, confirm, login, refresh, logout): each one costs a Cognito call.
    "auth": env.str("THROTTLE_AUTH_RATE", default="30/min"),
}
