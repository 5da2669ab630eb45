"""AWS stopped mid-run: bounded 503s with Retry-After everywhere, then recovery without restarts.

Runs on its own local AWS servers (DynamoDB Local + moto) + gunicorn + Celery worker on other
ports, so the session's servers are untouched. Both keep their state in memory: after the restart
the tables and queues are bootstrapped and the catalog seeded again, as an operator would after
losing a local endpoint. The same gunicorn and
worker processes must then serve and drain the queue. The timings are printed (pytest -s).
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.aws_env import free_port
from tests.processes import ROOT, CeleryProcess, Gunicorn, LocalAws

# Generous: AWS calls have a 1 s connect timeout, a 3 s read timeout and one retry.
BOUND_SECONDS = 15
CART = "o" * 32
timings: dict[str, float] = {}


def _manage(*args: str, env: dict) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=120,
    )


def _bootstrap(env: dict) -> None:
    _manage("bootstrap_aws", env=env)
    _manage("seed_products", env=env)


def _timed(method: str, url: str, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=BOUND_SECONDS + 15, **kwargs)
    return response, time.monotonic() - started


def _aws_backed_requests(base: str) -> list[tuple[str, str, dict]]:
    header = {"X-Cart-Id": CART}
    return [
        ("GET", f"{base}/products", {}),
        ("GET", f"{base}/products/1", {}),
        ("GET", f"{base}/categories/electronics", {}),
        ("GET", f"{base}/readyz", {}),
        ("GET", f"{base}/cart", {"headers": header}),
        ("POST", f"{base}/cart", {"headers": header, "json": {"id": "1", "qty": 1}}),
        ("PATCH", f"{base}/cart", {"headers": header, "json": {"id": "1", "qty": 2}}),
        ("DELETE", f"{base}/cart", {"headers": header, "json": {"id": "1"}}),
        ("POST", f"{base}/checkout", {"json": {"items": [{"id": "2", "qty": 1}]}}),
        ("GET", f"{base}/orders/{uuid.uuid4().hex}", {}),
    ]


def _checkout(base: str, *, request_id: str | None = None) -> str:
    headers = {"X-Request-ID": request_id} if request_id else {}
    response = requests.post(
        f"{base}/checkout", json={"items": [{"id": "3", "qty": 1}]}, headers=headers, timeout=30
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _wait_confirmed(base: str, order_ids: list[str], *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(order_ids)
    while pending:
        for order_id in list(pending):
            status = requests.get(f"{base}/orders/{order_id}", timeout=30).json().get("status")
            if status in ("CONFIRMED", "REJECTED"):
                assert status == "CONFIRMED", order_id
                pending.discard(order_id)
        assert time.monotonic() < deadline, f"still PENDING after {timeout} s: {pending}"
        time.sleep(0.3)


def _assert_unavailable(requests_to_make, *, label: str) -> None:
    """Every request answered 503 within the bound. They are sent at once (the web has 8 threads):
    each is bounded on its own, and a hung AWS makes each wait its full timeouts."""
    slowest = 0.0
    with ThreadPoolExecutor(max_workers=len(requests_to_make)) as pool:
        answers = list(
            pool.map(lambda request: _timed(request[0], request[1], **request[2]), requests_to_make)
        )
    for (method, url, _), (response, elapsed) in zip(requests_to_make, answers, strict=True):
        slowest = max(slowest, elapsed)
        assert response.status_code == 503, (label, method, url, response.status_code, response.text)
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) >= 1
        assert response.headers["X-Request-ID"]
        assert elapsed < BOUND_SECONDS, (label, method, url, elapsed)
        if label == "hung":
            timings[f"hung {method} {url.split('/', 3)[-1]}_s"] = round(elapsed, 2)
    timings[f"slowest_503_{label}_s"] = round(slowest, 2)


@pytest.fixture
def outage_stack():
    aws = LocalAws.on_free_ports(log_prefix="outage-")
    # No catalog read cache: within its 2 s bound it would (rightly) answer from memory, and this
    # test is about what the AWS path does.
    env = {**aws.env, "CATALOG_CACHE_SECONDS": "0"}
    aws.start()
    web = worker = None
    try:
        _bootstrap(env)
        web = Gunicorn(free_port(), env=env, name="outage-web")
        worker = CeleryProcess("worker", concurrency=1, env=env, name="outage-worker")
        yield aws, web, worker, env
    finally:
        for process in (worker, web):
            if process is not None:
                process.stop()
        aws.stop()


@pytest.mark.slow
def test_aws_stopped_mid_run_then_back(outage_stack):
    aws, web, worker, env = outage_stack
    for method, url, kwargs in _aws_backed_requests(web.url)[:-2]:
        response, _ = _timed(method, url, **kwargs)
        assert response.status_code in (200, 202), (method, url, response.text)
    # The checkout's request id travels in the Celery message to the worker's line for the order.
    request_id = f"outage-{uuid.uuid4().hex[:8]}"
    order_id = _checkout(web.url, request_id=request_id)
    _wait_confirmed(web.url, [order_id], timeout=60)
    final = [
        json.loads(line) for line in worker.log().splitlines() if '"order_final"' in line and order_id in line
    ]
    assert final and final[0]["request_id"] == request_id, final
    gunicorn_pid, worker_pid = web.process.pid, worker.process.pid

    # --- AWS hangs (accepts connections, never answers): the timeouts bound every answer ------
    for pid in aws.pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        hung = [
            r for r in _aws_backed_requests(web.url) if r[1].endswith(("/products/1", "/readyz", "/checkout"))
        ]
        _assert_unavailable(hung, label="hung")
    finally:
        for pid in aws.pids:
            os.kill(pid, signal.SIGCONT)

    # --- AWS gone -----------------------------------------------------------------------------
    aws.stop()
    _assert_unavailable(_aws_backed_requests(web.url), label="refused")
    assert requests.get(f"{web.url}/healthz", timeout=5).status_code == 200
    time.sleep(3)  # let the worker's polls fail against the dead endpoint for a while
    assert worker.process.poll() is None, worker.log()[-3000:]

    # --- AWS back (empty: the servers' state was in memory) ------------------------------------
    aws.start()
    started = time.monotonic()
    _bootstrap(env)
    timings["rebootstrap_s"] = round(time.monotonic() - started, 2)
    deadline = time.monotonic() + 60
    while requests.get(f"{web.url}/readyz", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "readyz did not recover"
        time.sleep(0.2)
    timings["ready_after_restart_s"] = round(time.monotonic() - started, 2)
    for method, url, kwargs in _aws_backed_requests(web.url)[:-2]:
        response, _ = _timed(method, url, **kwargs)
        assert response.status_code in (200, 202), (method, url, response.text)

    # The same worker reconnects and drains what checkout publishes now.
    drain_started = time.monotonic()
    orders = [_checkout(web.url) for _ in range(3)]
    _wait_confirmed(web.url, orders, timeout=90)
    timings["worker_drained_3_orders_s"] = round(time.monotonic() - drain_started, 2)
    assert web.process.pid == gunicorn_pid and web.process.poll() is None  # no restarts
    assert worker.process.pid == worker_pid and worker.process.poll() is None
    print(f"outage timings: {timings}")
