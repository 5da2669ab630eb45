"""The worker and the notifier draining a backlog: orders CONFIRMED per second and CPU per order.

A backlog of orders is placed with no worker running (`order_place` in a child Django process,
8 threads; each order also enqueues its "placed" notification, as checkout does). Then an orders
worker (WORKER_QUEUES=orders) and a notifier (WORKER_QUEUES=notifications) start, with the pool
and concurrency asked for; timing starts once both are ready. Reported: orders CONFIRMED per
second, the seconds until every notification was sent (both queues empty), and the CPU seconds
of both processes (and their children) over that time divided by the orders: worker CPU per
order, notifications included; beside it each local AWS server's CPU per order (DynamoDB Local
and moto share the same 2 cores, so they bound the drain rate as much as the worker does).
"""

import os
import shutil
import signal
import subprocess
import sys
import time

from tests.bench.measure import cpu_seconds, machine_probe_ms, process_tree, rss_mb
from tests.bench.orders_bench import orders_with_status, queue_depth
from tests.processes import ROOT, CeleryProcess

PLACE_SCRIPT = """
from concurrent.futures import ThreadPoolExecutor
from orders.services import LineRequest, order_place
def place(_):
    return order_place(lines=[LineRequest({product!r}, 1)], client_total_cents=None, cart_id=None).order_id
with ThreadPoolExecutor(8) as pool:
    ids = list(pool.map(place, range({count})))
print(len(ids))
"""


def backlog_place(*, count: int, product_id: str) -> float:
    """Place `count` orders of one unit of `product_id` (no worker runs); the seconds it took."""
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PLACE_SCRIPT.format(product=product_id, count=count)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def worker_drain(
    *,
    orders: int,
    product_id: str,
    pool: str,
    concurrency: int,
    timeout: float = 300.0,
    label: str = "",
    emulators: dict[str, int] | None = None,
) -> dict:
    """Place a backlog of `orders`, then time an orders worker + a notifier draining it."""
    confirmed_before = orders_with_status("CONFIRMED")
    place_seconds = backlog_place(count=orders, product_id=product_id)
    backlog = queue_depth()
    load = round(_load(), 2)
    probe_before = machine_probe_ms()
    name = f"bench-{pool}-{concurrency}{label}"
    # The notifier first, the worker second, each measured from its own "ready": the backlog is
    # drained as soon as the worker is up (in well under a second once moto's SQS kept up), so a
    # worker started first did most of its work while the notifier was still starting, outside
    # the count (and the profile). Neither process's start-up (imports, clients) is counted.
    notifier = CeleryProcess(
        queues="notifications", pool=pool, concurrency=concurrency, name=f"{name}-notifier"
    )
    notifier_cpu_before = cpu_seconds([notifier.process.pid])
    emulators = emulators or {}
    emulators_before = {name: cpu_seconds([pid]) for name, pid in emulators.items()}
    profilers = [_profile(notifier.process.pid, f"{name}-notifier")]
    worker = None
    try:
        worker = CeleryProcess(queues="orders", pool=pool, concurrency=concurrency, name=f"{name}-worker")
        started, worker_cpu_before = time.monotonic(), cpu_seconds([worker.process.pid])
        profilers.append(_profile(worker.process.pid, f"{name}-worker"))
        pids = [worker.process.pid, notifier.process.pid]
        confirmed_at = notified_at = None
        done = 0
        while time.monotonic() - started < timeout:
            time.sleep(0.2)
            if confirmed_at is None:
                # The queue before the count: counting CONFIRMED orders reads every one of them
                # (thousands by a run's last drain) and, five times a second, it was DynamoDB
                # Local's work during the drain as much as the worker's was.
                if queue_depth("orders"):
                    continue
                done = orders_with_status("CONFIRMED") - confirmed_before
                if done >= orders:
                    confirmed_at = time.monotonic() - started
            if confirmed_at is not None and queue_depth("notifications") == 0:
                notified_at = time.monotonic() - started
                break
        worker_cpu = cpu_seconds([worker.process.pid]) - worker_cpu_before
        notifier_cpu = cpu_seconds([notifier.process.pid]) - notifier_cpu_before
        cpu = worker_cpu + notifier_cpu
        emulators_cpu = {name: cpu_seconds([pid]) - emulators_before[name] for name, pid in emulators.items()}
        elapsed = time.monotonic() - started
        rss = [rss_mb(process_tree([pid])) for pid in pids]  # with prefork's children
    finally:
        for profiler in profilers:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=30)
        notifier.stop()
        if worker is not None:
            worker.stop()
    probe_after = machine_probe_ms()
    return {
        "pool": pool,
        "concurrency": concurrency,
        "orders": orders,
        "backlog_messages_at_start": backlog,
        "place_seconds": round(place_seconds, 1),
        "confirmed": done,
        "confirmed_seconds": round(confirmed_at, 1) if confirmed_at else None,
        "confirmed_per_second": round(done / (confirmed_at or elapsed), 1),
        "all_notified_seconds": round(notified_at, 1) if notified_at else None,
        "cpu_seconds": round(cpu, 2),
        "cpu_ms_per_order": round(1000 * cpu / max(done, 1), 1),
        "worker_cpu_ms_per_order": round(1000 * worker_cpu / max(done, 1), 1),
        "notifier_cpu_ms_per_order": round(1000 * notifier_cpu / max(done, 1), 1),
        **{
            f"{name}_cpu_ms_per_order": round(1000 * seconds / max(done, 1), 1)
            for name, seconds in emulators_cpu.items()
        },
        "load_average_1m": load,
        "machine_probe_ms": {"before": probe_before, "after": probe_after},
        "worker_rss_mb": rss[0],
        "notifier_rss_mb": rss[1],
    }


def _profile(pid: int, name: str) -> subprocess.Popen | None:
    """With BENCH_PYSPY=1: py-spy samples the process (only threads holding the GIL: its CPU)
    into tests/bench/results/<name>.raw (collapsed stacks) until the run ends."""
    if not os.environ.get("BENCH_PYSPY") or not shutil.which("py-spy"):
        return None
    output = ROOT / "tests" / "bench" / "results" / f"{name}.raw"
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--gil",
            "--nonblocking",
            "-r",
            "200",
            "--format",
            "raw",
            "-p",
            str(pid),
            "-o",
            str(output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _load() -> float:
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])
