"""Shared fixtures: the session's real moto server, its tables, and the app over HTTP."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connections
from rest_framework.test import APIClient

from catalog.models import Product
from catalog.services import product_build
from cloudcart.bootstrap import aws_bootstrap
from deploy.local.postgres import Postgres
from tests import aws_env
from tests.accounts.support import access_token_for, email_new, user_create
from tests.aws_env import free_port
from tests.iam.plugin import pytest_sessionfinish  # noqa: F401 - the IAM check, after the last test
from tests.processes import Gunicorn, LocalAws, LocalStripe

ROOT = Path(__file__).resolve().parent.parent


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Files with a slow test first. `make test` hands whole files to its workers in this order
    (--dist loadfile --no-loadscope-reorder), so the long ones start early and the short ones fill
    in around them; xdist's own order (most tests first) left a one-test minute to end the run."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: each file stays in one piece


@pytest.fixture(scope="session", autouse=True)
def local_aws():
    """The local AWS servers over real HTTP for the whole session (DynamoDB Local + moto), with
    our tables and queues in them."""
    servers = LocalAws(moto_port=aws_env.MOTO_PORT, dynamodb_port=aws_env.DYNAMODB_PORT)
    servers.start()
    aws_bootstrap(wait_seconds=30)
    yield servers
    servers.stop()


@pytest.fixture(scope="session")
def localstripe():
    """The session's localstripe (a fake Stripe over HTTP) on its free port; the payment tests use it."""
    server = LocalStripe(aws_env.LOCALSTRIPE_PORT)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def django_db_setup(django_db_blocker):
    """The session's one PostgreSQL (the engine Aurora runs), started on first use and migrated.

    Replaces pytest-django's test-database set-up: the server is the session's own (like its
    tables), so tests and the processes they start (gunicorn, the projector) share one database.
    Tests use unique ids, as they do in DynamoDB.
    """
    server = Postgres(port=aws_env.POSTGRES_PORT)
    server.start()
    with django_db_blocker.unblock():
        call_command("migrate", interactive=False, verbosity=0)
    yield server
    connections.close_all()
    server.stop()


@pytest.fixture
def ledger_db(django_db_setup, django_db_blocker):
    """Database access for a test, outside any test transaction: what the test writes is
    committed and seen by other processes (and what they write is seen by the test)."""
    with django_db_blocker.unblock():
        yield
        connections.close_all()


@pytest.fixture(scope="session")
def moto_server(local_aws):
    """moto's server (SQS, S3, Cognito, SNS, SES; DynamoDB too with LOCAL_DYNAMODB=moto)."""
    return local_aws.moto


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def catalog_empty():
    """An empty products table, for tests that compare a listing with the whole catalog."""
    with Product.batch_write() as batch:
        for product in Product.scan(attributes_to_get=["id"]):
            batch.delete(product)
    yield


@pytest.fixture
def make_product():
    """Store a product with a unique id (tests share the session's tables)."""

    def make(
        *,
        name: str = "Test product",
        category: str | None = None,
        price_cents: int = 1000,
        stock: int = 10,
        product_id: str | None = None,
    ) -> Product:
        product = product_build(
            product_id=product_id or f"t-{uuid.uuid4().hex[:12]}",
            name=name,
            category=category or f"cat-{uuid.uuid4().hex[:8]}",
            price_cents=price_cents,
            stock=stock,
        )
        product.save()
        return product

    return make


@pytest.fixture(scope="session")
def storefront_built() -> None:
    """The web shop built (storefront/dist), as `make test` does first: a no-op when it is fresh."""
    subprocess.run(["make", "--no-print-directory", "-s", "storefront"], cwd=ROOT, check=True, timeout=600)


@pytest.fixture(scope="session")
def web(local_aws, storefront_built):
    """The app under real gunicorn (DEBUG off), talking to the session's local AWS servers; it
    serves the web shop at /shop/ too."""
    server = Gunicorn(free_port(), name="web")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium (Debian's, through Playwright) for the session's browser tests."""
    from playwright.sync_api import sync_playwright

    from tests.ops.test_browser import CHROMIUM, CHROMIUM_FLAGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (make browser)")
    # Playwright's sync API keeps an asyncio loop running in this thread while it lives, and Django
    # then refuses ORM calls as if from async code; the tests that read the ledger between two
    # page steps are plain synchronous code.
    unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        if unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = unsafe


@pytest.fixture
def customer_token() -> str:
    """A fresh customer's access token from the session's moto Cognito pool."""
    email = email_new("customer")
    user_create(email=email)
    return access_token_for(email=email)


@pytest.fixture
def staff_token() -> str:
    """A fresh staff member's (group `staff`) access token from the session's moto Cognito pool."""
    email = email_new("staff")
    user_create(email=email, staff=True)
    return access_token_for(email=email)
