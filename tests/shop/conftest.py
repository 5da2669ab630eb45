"""The web shop's browser tests share one stack per module (gunicorn + a worker, payments by
localstripe: its worker must not outlive them, other modules count on no worker running) and the
session's Chromium; pages are checked with axe-core from the shop's own packages."""

from pathlib import Path

import pytest

from tests.aws_env import free_port
from tests.processes import CeleryProcess, Gunicorn

AXE = Path(__file__).resolve().parents[2] / "storefront" / "node_modules" / "axe-core" / "axe.min.js"
# The shop's stack runs with payments on (Stripe.js from localstripe's shim), as `make run` does.
# Receipts: a first SES call on a loaded machine can take seconds; the session default (6 s) is for
# the tests of that limit.
SHOP_ENV = {"PAYMENTS_PROVIDER": "stripe", "NOTIFY_TASK_TIME_LIMIT": "9"}


@pytest.fixture(scope="module")
def shop(local_aws, localstripe, storefront_built):
    """gunicorn serving the API and /shop/, plus a Celery worker (orders and notifications)."""
    web = Gunicorn(free_port(), env=SHOP_ENV, name="shop-web")
    worker = CeleryProcess("worker", concurrency=2, env=SHOP_ENV, name="shop-worker")
    yield web
    worker.stop()
    web.stop()


@pytest.fixture
def page(chromium):
    """A fresh shopper: own cookies and storage."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page, *, exclude: tuple[str, ...] = ()) -> list[dict]:
    """axe-core's serious and critical violations on the page as it stands."""
    # Evaluated through the DevTools protocol, which the shop's CSP (no inline script) leaves alone.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;0")
    results = page.evaluate(
        "async (exclude) => await axe.run({exclude: exclude.map((s) => [s])}, {resultTypes: ['violations']})",
        list(exclude),
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
