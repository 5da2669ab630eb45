"""moto stopped mid-run: bounded 503s with Retry-After everywhere, then recovery without restarts.

Runs on its own moto + gunicorn (+ worker) on other ports, so the session's moto is untouched.
moto keeps its state in memory: after the restart the tables (and queues) are bootstrapped and
the catalog seeded again, as an operator would after losing a local endpoint.
"""

import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.aws_env import free_port
from tests.processes import ROOT, Gunicorn, MotoServer

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
    ]


@pytest.fixture
def outage_stack():
    port = free_port()
    # No catalog read cache: within its 2 s bound it would (rightly) answer from memory, and this
    # test is about what the AWS path does.
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "CATALOG_CACHE_SECONDS": "0"}
    moto = MotoServer(port)
    moto.start()
    web = None
    try:
        _bootstrap(env)
        web = Gunicorn(free_port(), env=env, name="outage-web")
        yield moto, web, env
    finally:
        if web is not None:
            web.stop()
        moto.stop()


@pytest.mark.slow
def test_moto_stopped_mid_run_then_back(outage_stack):
    moto, web, env = outage_stack
    for method, url, kwargs in _aws_backed_requests(web.url):
        response, _ = _timed(method, url, **kwargs)
        assert response.status_code == 200, (method, url, response.text)
    gunicorn_pid = web.process.pid

    # --- AWS hangs (accepts connections, never answers): the timeouts bound every answer ------
    os.kill(moto.process.pid, signal.SIGSTOP)
    try:
        hung = [r for r in _aws_backed_requests(web.url) if r[1].endswith(("/products/1", "/readyz"))]
        hung.append(
            ("POST", f"{web.url}/cart", {"headers": {"X-Cart-Id": CART}, "json": {"id": "1", "qty": 1}})
        )
        slowest = 0.0
        for method, url, kwargs in hung:
            response, elapsed = _timed(method, url, **kwargs)
            slowest = max(slowest, elapsed)
            assert response.status_code == 503, (method, url, response.status_code, response.text)
            assert response.headers["Retry-After"].isdigit()
            assert elapsed < BOUND_SECONDS, (method, url, elapsed)
        timings["slowest_503_hung_s"] = round(slowest, 2)
    finally:
        os.kill(moto.process.pid, signal.SIGCONT)

    # --- AWS gone -----------------------------------------------------------------------------
    moto.stop()
    slowest = 0.0
    for method, url, kwargs in _aws_backed_requests(web.url):
        response, elapsed = _timed(method, url, **kwargs)
        slowest = max(slowest, elapsed)
        assert response.status_code == 503, (method, url, response.status_code, response.text)
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["Retry-After"]) >= 1
        assert response.headers["X-Request-ID"]
        assert elapsed < BOUND_SECONDS, (method, url, elapsed)
    timings["slowest_503_refused_s"] = round(slowest, 2)
    assert requests.get(f"{web.url}/healthz", timeout=5).status_code == 200

    # --- AWS back (empty: moto's state was in memory) -----------------------------------------
    moto.start()
    started = time.monotonic()
    _bootstrap(env)
    timings["rebootstrap_s"] = round(time.monotonic() - started, 2)
    deadline = time.monotonic() + 60
    while requests.get(f"{web.url}/readyz", timeout=30).status_code != 200:
        assert time.monotonic() < deadline, "readyz did not recover"
        time.sleep(0.2)
    timings["ready_after_restart_s"] = round(time.monotonic() - started, 2)
    for method, url, kwargs in _aws_backed_requests(web.url):
        response, _ = _timed(method, url, **kwargs)
        assert response.status_code == 200, (method, url, response.text)
    assert web.process.pid == gunicorn_pid and web.process.poll() is None  # same processes
    print(f"outage timings: {timings}")
