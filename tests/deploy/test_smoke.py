"""deploy/smoke.py, the pipeline's post-deploy check, run against the real app and a real worker."""

import subprocess
import sys

import pytest

from catalog.models import Product
from tests.aws_env import free_port
from tests.deploy.test_stack import ROOT
from tests.processes import CeleryProcess


@pytest.fixture(scope="module")
def worker(moto_server):
    process = CeleryProcess("worker", concurrency=1, name="smoke-worker")
    yield process
    process.stop()


def _smoke(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "deploy/smoke.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=180
    )


@pytest.mark.slow
def test_smoke_passes_against_a_working_stack_and_buys_one_unit(web, worker, make_product):
    product = make_product(name="Smoke kettle", price_cents=1999, stock=5)
    result = _smoke(web.url, "--product", product.id, "--order-seconds", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok  GET /readyz: 200" in result.stdout
    assert "smoke test passed" in result.stdout
    # The checkout went through the real worker: one unit taken.
    assert int(Product.get(product.id, consistent_read=True).stock) == 4


def test_smoke_fails_when_nothing_answers():
    result = _smoke(f"http://127.0.0.1:{free_port()}", "--ready-seconds", "1")
    assert result.returncode == 1
    assert "/readyz never answered 200" in result.stderr


def test_smoke_fails_on_an_unknown_product(web):
    result = _smoke(web.url, "--product", "no-such-product", "--ready-seconds", "30")
    assert result.returncode == 1
    assert "GET /products/no-such-product: 404" in result.stderr
