"""DynamoDB frozen (SIGSTOP) under 16 concurrent readers of one product, through real gunicorn:
the readers share one read's outcome, get the last good answer inside the grace period, a 503
after it, and /healthz stays fast throughout."""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.aws_env import free_port
from tests.processes import Gunicorn

READ_TIMEOUT = 1.0
MAX_RETRIES = 1
# One AWS call's whole time when the server never answers: every attempt times out.
AWS_TIMEOUT = (1 + MAX_RETRIES) * READ_TIMEOUT
SLACK = 2.5  # a loaded 2-core machine
FRESH = 1.0
GRACE = 8.0


@pytest.fixture
def dynamodb_process(local_aws):
    """The process serving the session's DynamoDB (DynamoDB Local, or moto with
    LOCAL_DYNAMODB=moto): frozen by the test, always thawed after."""
    process = (local_aws.dynamodb or local_aws.moto).process
    yield process
    os.kill(process.pid, signal.SIGCONT)


@pytest.mark.slow
def test_frozen_dynamodb_readers_share_one_outcome_get_stale_answers_and_healthz_stays_fast(
    make_product, dynamodb_process
):
    product = make_product(price_cents=1234)
    web = Gunicorn(
        free_port(),
        env={
            "WEB_CONCURRENCY": "1",  # one process, 4 threads: the 16 readers all meet in one cache
            "GUNICORN_THREADS": "4",
            "CATALOG_CACHE_SECONDS": str(FRESH),
            "CATALOG_STALE_IF_ERROR_SECONDS": str(GRACE),
            "AWS_READ_TIMEOUT": str(READ_TIMEOUT),
            "AWS_MAX_RETRIES": str(MAX_RETRIES),
        },
        name="catalog-outage",
    )
    url = f"{web.url}/products/{product.id}"
    healthz: list[float] = []
    stop_probe = threading.Event()

    def probe():
        while not stop_probe.is_set():
            started = time.monotonic()
            assert requests.get(f"{web.url}/healthz", timeout=30).status_code == 200
            healthz.append(time.monotonic() - started)
            time.sleep(0.1)

    def read(path=url):
        started = time.monotonic()
        response = requests.get(path, timeout=60)
        return response, time.monotonic() - started

    try:
        good = requests.get(url, timeout=10)
        assert good.status_code == 200
        loaded = time.monotonic()
        time.sleep(FRESH + 0.2)  # the answer is no longer fresh: the next reader must read

        os.kill(dynamodb_process.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        prober = threading.Thread(target=probe)
        prober.start()
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda _: read(), range(16)))
        never_read, never_read_took = read(f"{web.url}/products/{product.id}-unseen")

        first = min(took for _, took in answers)
        slowest = max(took for _, took in answers)
        assert first < AWS_TIMEOUT + SLACK, f"first answer after {first:.1f} s"
        assert slowest < 2 * AWS_TIMEOUT + SLACK, f"slowest answer after {slowest:.1f} s: readers queued"
        for response, _ in answers:
            assert response.status_code == 200, response.text
            assert response.content == good.content, "the last good answer"
            assert response.headers["Cache-Control"] == "public, max-age=0"
            assert int(response.headers["Age"]) >= 1
        assert never_read.status_code == 503
        assert never_read.json()["code"] == "service_unavailable"
        assert "Retry-After" in never_read.headers
        assert never_read_took < AWS_TIMEOUT + SLACK

        # Past the grace period the stale copy is no longer good enough: 503.
        time.sleep(max(0.0, loaded + FRESH + GRACE + 0.5 - time.monotonic()))
        late, _ = read()
        assert late.status_code == 503
        assert late.json()["code"] == "service_unavailable"
        stop_probe.set()
        prober.join()
        assert time.monotonic() - frozen > 5, "the probe ran through the outage"
        assert len(healthz) >= 10
        # Under AWS_TIMEOUT: it never waited behind a DynamoDB read (a busy machine may be slow).
        assert max(healthz) < AWS_TIMEOUT, f"/healthz waited {max(healthz):.2f} s"
        print(
            f"first answer {first:.2f} s, slowest {slowest:.2f} s, unseen product 503 after "
            f"{never_read_took:.2f} s, /healthz max {max(healthz) * 1000:.0f} ms over {len(healthz)} probes"
        )

        os.kill(dynamodb_process.pid, signal.SIGCONT)
        deadline = time.monotonic() + 20
        while (recovered := requests.get(url, timeout=30)).status_code != 200:
            assert time.monotonic() < deadline, "no recovery after DynamoDB thawed"
            time.sleep(0.2)
        assert recovered.headers["Cache-Control"].startswith("public, max-age=")
        assert "Age" not in recovered.headers
    finally:
        stop_probe.set()
        os.kill(dynamodb_process.pid, signal.SIGCONT)
        web.stop()
