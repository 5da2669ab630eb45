"""BatchGetItem's unprocessed keys are retried a bounded number of times, backing off, then 503.

DynamoDB leaves keys unprocessed when it throttles; the local servers never do, so a proxy at
the HTTP edge (tests/fault_proxy.py) answers like a throttling DynamoDB. The reads run in a real
`manage.py shell` process whose DynamoDB endpoint is the proxy.
"""

import json
import os
import subprocess
import sys

import pytest

from catalog.models import Product
from catalog.selectors import BATCH_GET_ATTEMPTS, BATCH_GET_BACKOFF_SECONDS
from tests.fault_proxy import FaultProxy
from tests.processes import ROOT


def _get_many_through(proxy: FaultProxy, product_ids: list[str]) -> dict:
    """products_get_many in a process whose DynamoDB endpoint is the proxy; its outcome as JSON."""
    endpoint = Product.Meta.host
    env = {name: proxy.url if value == endpoint else value for name, value in os.environ.items()}
    code = (
        "import json\n"
        "from catalog.selectors import products_get_many\n"
        "try:\n"
        f"    found = products_get_many(product_ids={product_ids!r}, consistent=True)\n"
        "    print(json.dumps({'found': sorted(found)}))\n"
        "except Exception as exc:\n"
        "    print(json.dumps({'error': type(exc).__name__, 'status': getattr(exc, 'status_code', None)}))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"products_get_many still retrying after 60 s ({len(proxy.targets('BatchGetItem'))} calls)"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_keys_left_unprocessed_every_time_give_a_503_after_bounded_backed_off_retries(make_product):
    products = [make_product() for _ in range(3)]
    with FaultProxy(Product.Meta.host, mode="unprocessed") as proxy:
        outcome = _get_many_through(proxy, [p.id for p in products])

    assert outcome == {"error": "ServiceUnavailable", "status": 503}
    calls = proxy.targets("BatchGetItem")
    assert len(calls) == BATCH_GET_ATTEMPTS
    gaps = [later - earlier for earlier, later in zip(calls, calls[1:], strict=False)]
    for n, gap in enumerate(gaps):
        assert gap >= BATCH_GET_BACKOFF_SECONDS * 2**n / 2, f"retry {n + 1} came after {gap * 1000:.0f} ms"


@pytest.mark.slow
def test_keys_left_unprocessed_once_are_read_on_the_retry(make_product):
    products = [make_product() for _ in range(4)]
    with FaultProxy(Product.Meta.host, mode="half_unprocessed_once") as proxy:
        outcome = _get_many_through(proxy, [p.id for p in products])

    assert outcome == {"found": sorted(p.id for p in products)}
    assert len(proxy.targets("BatchGetItem")) == 2
