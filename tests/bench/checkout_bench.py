"""Checkout benchmark: accept rate and checkout-to-CONFIRMED latency at a fixed offered load.

    python -m tests.bench.checkout_bench [--rate 20] [--seconds 15] [--workers 1 2]

For each worker count: a fresh moto server (DynamoDB requests serialized, deploy/local/moto_serialized.py),
`bootstrap_aws`, real gunicorn (deploy/gunicorn.conf.py) and a real `celery -A cloudcart worker`
with that many prefork processes. An open-loop client sends `--rate` checkouts per second for
`--seconds` (each of one unit, so none is refused for stock), then waits for every accepted order
to be final. Latency is from the moment the request was sent to the CONFIRMED timestamp in the
order's history (one machine, one clock). Prints figures, writes tests/bench/results/checkout.json;
never fails on them. moto is not DynamoDB: its transactions deep-copy whole tables, so the
figures say how the pieces behave together here, not what AWS would do.
"""

import argparse
import json
import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

# Before Django loads: the test environment (free moto port, unique prefix, short queue timings).
from tests import aws_env  # noqa: E402, I001

os.environ["TABLE_PREFIX"] = f"bench-{os.environ['TABLE_PREFIX'].removeprefix('test-')}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudcart.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402

from catalog.services import product_build  # noqa: E402
from cloudcart.bootstrap import aws_bootstrap  # noqa: E402
from orders.models import Order  # noqa: E402
from tests.aws_env import free_port  # noqa: E402
from tests.processes import ROOT, CeleryProcess, Gunicorn, LocalAws  # noqa: E402

RESULTS = ROOT / "tests" / "bench" / "results" / "checkout.json"
PRODUCT_ID = "bench-1"


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def offer_load(url: str, *, rate: float, seconds: float) -> list[dict]:
    """Send `rate` checkouts per second for `seconds`, on schedule whatever the answers' speed."""
    local = threading.local()
    body = {"items": [{"id": PRODUCT_ID, "qty": 1}], "total": "1.00"}

    def send(scheduled: float) -> dict:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        delay = scheduled - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent_at = time.time()
        started = time.monotonic()
        try:
            response = session.post(f"{url}/checkout", json=body, timeout=30)
            status = response.status_code
            order_id = response.json().get("id") if status == 202 else None
        except requests.RequestException:
            status, order_id = 0, None
        return {
            "status": status,
            "order_id": order_id,
            "sent_at": sent_at,
            "ms": (time.monotonic() - started) * 1e3,
        }

    start = time.monotonic() + 0.5
    count = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=64) as pool:
        return list(pool.map(send, [start + i / rate for i in range(count)]))


def wait_final(order_ids: list[str], *, timeout: float) -> dict[str, Order]:
    deadline = time.monotonic() + timeout
    final: dict[str, Order] = {}
    while time.monotonic() < deadline:
        pending = [order_id for order_id in order_ids if order_id not in final]
        if not pending:
            break
        for order in Order.batch_get(pending, consistent_read=True):
            if order.status != Order.PENDING:
                final[order.order_id] = order
        time.sleep(0.5)
    return final


def run_one(*, workers: int, rate: float, seconds: float) -> dict:
    moto = LocalAws(moto_port=aws_env.MOTO_PORT, dynamodb_port=aws_env.DYNAMODB_PORT)
    moto.start()
    web = worker = None
    try:
        aws_bootstrap(wait_seconds=30)
        product_build(
            product_id=PRODUCT_ID, name="Bench item", category="bench", price_cents=100, stock=10**9
        ).save()
        web = Gunicorn(free_port(), name="bench-checkout-web")
        worker = CeleryProcess("worker", concurrency=workers, name=f"bench-checkout-worker-{workers}")
        # Warm up every gunicorn thread and worker process (first requests build clients and
        # connections), and let those orders finish before measuring.
        warmup = offer_load(web.url, rate=16, seconds=2)
        wait_final([r["order_id"] for r in warmup if r["status"] == 202], timeout=60)
        results = offer_load(web.url, rate=rate, seconds=seconds)
        accepted = [r for r in results if r["status"] == 202]
        orders = wait_final([r["order_id"] for r in accepted], timeout=max(60, 4 * seconds))
    finally:
        for process in (worker, web):
            if process is not None:
                process.stop()
        moto.stop()

    latencies = []
    for r in accepted:
        order = orders.get(r["order_id"])
        if order is not None and order.status == Order.CONFIRMED:
            confirmed_at = order.history[-1].at.astimezone(UTC)
            latencies.append((confirmed_at - datetime.fromtimestamp(r["sent_at"], UTC)).total_seconds() * 1e3)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[str(r["status"])] = statuses.get(str(r["status"]), 0) + 1
    figures = {
        "workers": workers,
        "offered_rps": rate,
        "seconds": seconds,
        "sent": len(results),
        "accepted": len(accepted),
        "accept_rate": round(len(accepted) / len(results), 4) if results else 0.0,
        "statuses": statuses,
        "confirmed": len(latencies),
        "not_final_in_time": len(accepted) - len(orders),
        "checkout_p50_ms": round(percentile([r["ms"] for r in results], 0.50), 1),
        "checkout_p99_ms": round(percentile([r["ms"] for r in results], 0.99), 1),
        "to_confirmed_p50_ms": round(percentile(latencies, 0.50), 1),
        "to_confirmed_p99_ms": round(percentile(latencies, 0.99), 1),
        "to_confirmed_mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
    }
    print(
        f"workers={workers}  offered {rate:g}/s for {seconds:g}s"
        f"  accepted {figures['accepted']}/{figures['sent']}"
        f" ({figures['accept_rate']:.1%})  checkout p50 {figures['checkout_p50_ms']} ms"
        f" p99 {figures['checkout_p99_ms']} ms  ->CONFIRMED p50 {figures['to_confirmed_p50_ms']} ms"
        f" p99 {figures['to_confirmed_p99_ms']} ms  (confirmed {figures['confirmed']},"
        f" not final in time {figures['not_final_in_time']})",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="checkouts offered per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long the load is offered")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker process counts")
    opts = parser.parse_args()
    runs = [run_one(workers=n, rate=opts.rate, seconds=opts.seconds) for n in opts.workers]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {"when": datetime.now(UTC).isoformat(), "cpu_count": os.cpu_count(), "runs": runs}, indent=2
        )
        + "\n"
    )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
