"""`make bench`: the stack under wrk, every endpoint beside two baselines, at 1k and 100k products.

Starts moto, gunicorn (deploy/gunicorn.conf.py, with the bench-only URLconf that adds the
baselines) and, when the project has one, the Celery worker; seeds; drives each case with wrk;
prints rps, p50 and p99 with ratios to the constant-JSON ceiling and the GetItem floor; writes
tests/bench/results/latest.json. It reports figures and never fails on them.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# Before Django loads: a free moto port and the AWS environment for this process and its children
# (tests.aws_env also turns the catalog cache off for tests: the bench keeps the caller's setting).
_CACHE_SECONDS = os.environ.get("CATALOG_CACHE_SECONDS")
from tests import aws_env  # noqa: E402
from tests.aws_env import free_port  # noqa: E402

if _CACHE_SECONDS is None:
    os.environ.pop("CATALOG_CACHE_SECONDS", None)
else:
    os.environ["CATALOG_CACHE_SECONDS"] = _CACHE_SECONDS
os.environ["TABLE_PREFIX"] = f"bench-{os.environ['TABLE_PREFIX'].removeprefix('test-')}"
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
# wrk is one client: the per-client write throttles still count every write in DynamoDB (their
# cost is measured) but must not turn the load into 429s.
os.environ["THROTTLE_CART_WRITE_RATE"] = "100000000/min"
os.environ["THROTTLE_CHECKOUT_RATE"] = "100000000/min"

import requests  # noqa: E402

from tests.processes import ROOT, Gunicorn, LocalAws, spawn, stop  # noqa: E402

RESULTS_DIR = ROOT / "tests" / "bench" / "results"
WRK_SCRIPT = ROOT / "tests" / "bench" / "wrk.lua"
SMALL_CATALOG = 1_000
CATEGORY = "electronics"  # in the sample catalog and one in eight synthetic products


@dataclass
class Case:
    name: str
    path: str
    method: str = "GET"
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    server: str = "app"  # "app" (cache as configured) or "uncached" (CATALOG_CACHE_SECONDS=0)
    connections: int | None = None  # None: the run's --connections


@dataclass
class Figures:
    name: str
    catalog_size: int
    method: str
    path: str
    cache: str
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    vs_ceiling: float | None = None
    vs_floor: float | None = None


def wrk(url: str, case: Case, *, seconds: float, threads: int, connections: int) -> dict:
    env = {
        **os.environ,
        "BENCH_METHOD": case.method,
        "BENCH_BODY": json.dumps(case.body) if case.body is not None else "",
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in case.headers.items()),
    }
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    out = subprocess.run(
        [*args, "-s", str(WRK_SCRIPT), url], env=env, capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH_RESULT "))
    return json.loads(line.removeprefix("BENCH_RESULT "))


def measure(case: Case, *, base_url: str, catalog_size: int, opts) -> Figures:
    url = base_url + case.path
    connections = case.connections or opts.connections
    threads = min(opts.threads, connections)
    if opts.warmup:
        # Long enough for each gunicorn worker's first (uncached) read, which at 100k products
        # takes moto seconds: the figures are for a warm server, as in production.
        warmup = opts.warmup * (3 if catalog_size > SMALL_CATALOG and case.server == "app" else 1)
        wrk(url, case, seconds=warmup, threads=threads, connections=connections)
    raw = wrk(url, case, seconds=opts.seconds, threads=threads, connections=connections)
    figures = Figures(
        name=case.name,
        catalog_size=catalog_size,
        method=case.method,
        path=case.path,
        cache="off" if case.server == "uncached" else "on",
        connections=connections,
        requests=raw["requests"],
        rps=round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        p50_ms=round(raw["p50_us"] / 1000, 2),
        p99_ms=round(raw["p99_us"] / 1000, 2),
        errors=raw["non_2xx_3xx"] + raw["socket_errors"],
    )
    print(
        f"  {case.name:<36} {catalog_size:>7} {figures.rps:>9.0f} rps  p50 {figures.p50_ms:>8.2f} ms"
        f"  p99 {figures.p99_ms:>8.2f} ms  errors {figures.errors}",
        flush=True,
    )
    return figures


def seed(count: int) -> dict:
    """`manage.py seed_products --count N` as a child process: wall time and its own peak RSS."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "seed_products", "--count", str(count)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"seed_products --count {count} failed ({process.returncode})")
    seconds = time.monotonic() - started
    return {
        "count": count,
        "seconds": round(seconds, 1),
        "products_per_second": round(count / seconds),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def process_tree_rss_mb(pid: int) -> dict[str, float]:
    """VmRSS of a process and of all its descendants, by pid."""
    found, todo = {}, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if match:
            found[str(current)] = round(int(match.group(1)) / 1024, 1)
        todo.extend(int(child) for child in children)
    return found


def procfile_command(name: str) -> str | None:
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    return None


def endpoint_exists(base_url: str, path: str) -> bool:
    return requests.options(base_url + path, timeout=5).status_code != 404


def versions() -> dict:
    names = ["Django", "djangorestframework", "boto3", "pynamodb", "moto", "gunicorn", "celery", "cachetools"]
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    found["wrk"] = wrk_version.split("[")[0].removeprefix("wrk").strip()
    return found


def git_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def add_ratios(rows: list[Figures]) -> None:
    by_name = {(r.name, r.catalog_size): r for r in rows}
    ceiling = by_name.get(("ceiling: constant JSON", SMALL_CATALOG))
    floor = by_name.get(("floor: one GetItem", SMALL_CATALOG))
    for row in rows:
        if ceiling and ceiling.rps:
            row.vs_ceiling = round(row.rps / ceiling.rps, 2)
        if floor and floor.rps:
            row.vs_floor = round(row.rps / floor.rps, 2)


def scale_ratios(rows: list[Figures], big: int) -> dict:
    """Latency at `big` products over latency at 1k, per listing and cache mode."""
    by_key = {(r.name, r.catalog_size): r for r in rows}
    ratios = {}
    for (name, size), row in by_key.items():
        small = by_key.get((name, SMALL_CATALOG))
        if size == big and small and small.p50_ms:
            ratios[name] = {
                "p50_ratio": round(row.p50_ms / small.p50_ms, 2),
                "p99_ratio": round(row.p99_ms / small.p99_ms, 2) if small.p99_ms else None,
                "rps_ratio": round(row.rps / small.rps, 2) if small.rps else None,
            }
    return ratios


def print_table(rows: list[Figures]) -> None:
    header = (
        f"| {'case':<36} | {'products':>8} | {'rps':>7} | {'p50 ms':>7} | {'p99 ms':>8} "
        f"| {'vs ceiling':>10} | {'vs floor':>8} | {'errors':>6} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    for r in rows:
        ceiling = f"{r.vs_ceiling:.2f}" if r.vs_ceiling is not None else "-"
        floor = f"{r.vs_floor:.2f}" if r.vs_floor is not None else "-"
        print(
            f"| {r.name:<36} | {r.catalog_size:>8} | {r.rps:>7.0f} | {r.p50_ms:>7.2f} | {r.p99_ms:>8.2f} "
            f"| {ceiling:>10} | {floor:>8} | {r.errors:>6} |"
        )


def table_lines(rows: list[Figures]) -> list[str]:
    lines = [
        "| case | products | rps | p50 ms | p99 ms | x ceiling | x floor | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        ceiling = f"{r.vs_ceiling:.2f}" if r.vs_ceiling is not None else "-"
        floor = f"{r.vs_floor:.2f}" if r.vs_floor is not None else "-"
        lines.append(
            f"| {r.name} | {r.catalog_size:,} | {r.rps:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} "
            f"| {ceiling} | {floor} | {r.errors} |"
        )
    return lines


def readme_block(report: dict) -> str:
    """The README's Performance table and the facts around it, from one run's report."""
    machine = report["machine"]
    lines = [
        f"Latest `make bench`: {report['started_at']}, commit `{report['commit']}`, "
        f"{machine['cores']} cores shared with other work (load average "
        f"{machine['load_average_before'][0]} before, {machine['load_average_after'][0]} after): "
        "compare ratios, not absolute figures. wrk "
        f"`{report['settings']['wrk']}`.",
        "",
        *table_lines([Figures(**r) for r in report["results"]]),
        "",
    ]
    for seeded in report["seeding"].values():
        lines.append(
            f"- Seeding {seeded['count']:,} products (`manage.py seed_products --count {seeded['count']}`): "
            f"{seeded['seconds']} s ({seeded['products_per_second']:,}/s), "
            f"peak RSS {seeded['peak_rss_mb']} MB."
        )
    for name, ratio in report["scale"].items():
        lines.append(
            f"- {name} at {report['big_catalog']:,} vs {SMALL_CATALOG:,} products: "
            f"p50 x{ratio['p50_ratio']}, p99 x{ratio['p99_ratio']}, rps x{ratio['rps_ratio']}."
        )
    for name, by_pid in report["rss"].items():
        lines.append(f"- RSS {name.replace('_mb', '')} (MB by pid): {by_pid}.")
    for pipeline in report.get("checkout_pipeline") or []:
        lines.append(
            f"- Checkout to final status at {pipeline['target_rate']} orders/s "
            f"({pipeline['sent_per_second']}/s sent) with the Procfile's worker (2 processes): "
            f"p50 {pipeline['to_final_p50_ms']} ms, p99 {pipeline['to_final_p99_ms']} ms, "
            f"max {pipeline['to_final_max_ms']} ms; {pipeline['accepted']}/{pipeline['orders']} accepted, "
            f"final {pipeline['final']}, {pipeline['not_final_after_timeout']} not final in time."
        )
    for line in report.get("notes", []):
        lines.append(f"- {line}")
    return "\n".join(lines)


def readme_update(block: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        readme.write_text(f"{before}{start}\n{block}\n{end}{after}")


def catalog_cases(*, uncached: bool) -> list[Case]:
    if not uncached:
        return [
            Case("GET /products/{id}", "/products/1"),
            Case("GET /products?limit=20", "/products?limit=20"),
            Case("GET /categories/{name}?limit=20", f"/categories/{CATEGORY}?limit=20"),
        ]
    # moto answers a Scan or an index Query by sorting the whole table (real DynamoDB reads one
    # page): uncached listings use one connection, to time a request rather than a queue in moto.
    return [
        Case("GET /products/{id} (cache off)", "/products/1", server="uncached"),
        Case("GET /products (cache off, 1 conn)", "/products?limit=20", server="uncached", connections=1),
        Case(
            "GET /categories (cache off, 1 conn)",
            f"/categories/{CATEGORY}?limit=20",
            server="uncached",
            connections=1,
        ),
    ]


def cart_cases(base_url: str) -> list[Case]:
    """GET a 3-line cart (header `X-Cart-Id`), and POST a first line into a new cart each time."""
    if not endpoint_exists(base_url, "/cart"):
        return []
    cart_id = None
    for product_id in ("1", "5", "9"):
        headers = {"X-Cart-Id": cart_id} if cart_id else {}
        response = requests.post(
            f"{base_url}/cart", json={"id": product_id, "qty": 1}, headers=headers, timeout=10
        )
        response.raise_for_status()
        cart_id = response.json()["id"]
    return [
        Case("GET /cart (3 lines)", "/cart", headers={"X-Cart-Id": cart_id}),
        Case("POST /cart (new cart)", "/cart", method="POST", body={"id": "1", "qty": 1}),
    ]


BENCH_PRODUCT = "bench-stock"  # checkout buys this one: stock enough for every order of a run


def checkout_cases(base_url: str) -> list[Case]:
    """POST /checkout of one unit (items in the body, no cart, no Idempotency-Key): accept rate."""
    if not endpoint_exists(base_url, "/checkout"):
        return []
    script = (
        "from catalog.services import product_build; "
        f"product_build(product_id={BENCH_PRODUCT!r}, name='Bench stock', category='bench', "
        "price_cents=100, stock=10**9).save()"
    )
    subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, check=True)
    return [
        Case(
            "POST /checkout (accept)",
            "/checkout",
            method="POST",
            body={"items": [{"id": BENCH_PRODUCT, "qty": 1}]},
        )
    ]


def queue_drain(*, timeout: float) -> str:
    """Wait until the orders queue holds no message (visible or in flight), at most `timeout` s."""
    import boto3

    sqs = boto3.client(
        "sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"]
    )
    queue_name = f"{os.environ.get('QUEUE_PREFIX', os.environ['TABLE_PREFIX'])}orders"
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        if all(attributes.get(name) == "0" for name in names):
            return f"empty after {time.monotonic() - started:.0f} s"
        time.sleep(1)
    return f"not empty after {timeout:.0f} s ({attributes})"


def _iso_seconds(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def checkout_pipeline(base_url: str, *, rate: int, seconds: int, timeout: float = 120.0) -> dict:
    """Checkouts at a steady `rate`/s for `seconds`, then each order's time from PENDING to final.

    The latency is read from the order's own history (`created_at` to the final status's `at`),
    both stamped by our processes on this machine's clock, so polling adds nothing to it.
    """
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session

    def place(_) -> str | None:
        body = {"items": [{"id": BENCH_PRODUCT, "qty": 1}]}
        try:
            response = session().post(f"{base_url}/checkout", json=body, timeout=30)
        except requests.RequestException:
            return None  # counted as not accepted
        return response.json().get("id") if response.status_code == 202 else None

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = []
        for n in range(rate * seconds):
            time.sleep(max(0.0, started + n / rate - time.monotonic()))
            futures.append(pool.submit(place, n))
        order_ids = [f.result() for f in futures]
    sent_for = time.monotonic() - started
    accepted = [order_id for order_id in order_ids if order_id]

    latencies, final = [], {}
    pending = set(accepted)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for order_id in list(pending):
            try:
                order = session().get(f"{base_url}/orders/{order_id}", timeout=30).json()
            except requests.RequestException:
                continue
            if order.get("status") in ("CONFIRMED", "REJECTED"):
                pending.discard(order_id)
                final[order["status"]] = final.get(order["status"], 0) + 1
                done_at = _iso_seconds(order["history"][-1]["at"])
                latencies.append(done_at - _iso_seconds(order["created_at"]))
        if pending:
            time.sleep(0.5)
    latencies.sort()

    def pct(q: float) -> float | None:
        return (
            round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)
            if latencies
            else None
        )

    return {
        "target_rate": rate,
        "sent_per_second": round(len(order_ids) / sent_for, 1),
        "orders": len(order_ids),
        "accepted": len(accepted),
        "final": final,
        "not_final_after_timeout": len(pending),
        "to_final_p50_ms": pct(0.50),
        "to_final_p99_ms": pct(0.99),
        "to_final_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
    }


def run(opts) -> dict:
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `make bench` installs it (apt-get install wrk).")
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    processes = []
    pipeline = None
    moto = LocalAws(moto_port=aws_env.MOTO_PORT, dynamodb_port=aws_env.DYNAMODB_PORT)
    try:
        print(f"local AWS {moto.env}, tables prefixed {os.environ['TABLE_PREFIX']}", flush=True)
        moto.start()
        processes.extend(server.process for server in moto.servers)
        subprocess.run([sys.executable, "manage.py", "bootstrap_aws"], cwd=ROOT, check=True)
        seeding = {"small": seed(SMALL_CATALOG)}
        print(f"seeded {SMALL_CATALOG}: {seeding['small']}", flush=True)

        web = Gunicorn(free_port(), name="bench-web")
        processes.append(web.process)
        # At 100k products one moto Scan takes seconds: a longer read timeout on this server
        # shows that as latency instead of 503s.
        uncached = Gunicorn(
            free_port(),
            env={"CATALOG_CACHE_SECONDS": "0", "AWS_READ_TIMEOUT": "30"},
            name="bench-web-uncached",
        )
        processes.append(uncached.process)
        worker = None
        worker_command = procfile_command("worker")
        if worker_command:
            # The Procfile says `python`/`celery`: this venv's, as under `make`.
            path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
            worker = spawn(["bash", "-c", worker_command], env={"PATH": path}, log_name="bench-worker")
            processes.append(worker)
        servers = {"app": web.url, "uncached": uncached.url}
        print(f"gunicorn (cache on) {web.url}, gunicorn (cache off) {uncached.url}", flush=True)

        cases = [
            Case("ceiling: constant JSON", "/_bench/constant"),
            Case("floor: one GetItem", "/_bench/getitem"),
            *catalog_cases(uncached=False),
            *catalog_cases(uncached=True),
            *cart_cases(web.url),
        ]
        rows = []
        print(f"\n{len(cases)} cases at {SMALL_CATALOG} products, {opts.seconds} s each:", flush=True)
        for case in cases:
            rows.append(measure(case, base_url=servers[case.server], catalog_size=SMALL_CATALOG, opts=opts))

        # Checkout at the small catalog: moto's TransactWriteItems deep-copies every table it
        # touches (O(table) per order, seconds at 100k products); DynamoDB's does not.
        for case in checkout_cases(web.url):
            rows.append(measure(case, base_url=web.url, catalog_size=SMALL_CATALOG, opts=opts))
        if worker and rows[-1].name.startswith("POST /checkout"):
            pipeline = []
            for rate in opts.order_rates:
                # Each rate starts with an empty queue: the orders before it are all processed.
                print(f"\nworker draining the queue: {queue_drain(timeout=opts.drain)}", flush=True)
                print(f"checkout -> final status at {rate} orders/s for {opts.seconds} s ...", flush=True)
                pipeline.append(checkout_pipeline(web.url, rate=rate, seconds=opts.seconds))
                print(f"  {pipeline[-1]}", flush=True)
            print(f"\nworker draining the queue: {queue_drain(timeout=opts.drain)}", flush=True)

        rss = {"gunicorn_mb": process_tree_rss_mb(web.process.pid)}
        if worker:
            rss["worker_mb"] = process_tree_rss_mb(worker.pid)

        if opts.big:
            print(f"\nseeding {opts.big} products ...", flush=True)
            seeding["big"] = seed(opts.big)
            print(f"seeded {opts.big}: {seeding['big']}", flush=True)
            listings = [
                c for c in catalog_cases(uncached=False) + catalog_cases(uncached=True) if "?" in c.path
            ]
            for case in listings:
                rows.append(measure(case, base_url=servers[case.server], catalog_size=opts.big, opts=opts))
            rss["gunicorn_mb_after_big"] = process_tree_rss_mb(web.process.pid)
    finally:
        for process in reversed(processes):
            stop(process)

    add_ratios(rows)
    return {
        "started_at": started_at.isoformat(timespec="seconds"),
        "command": "make bench",
        "commit": git_commit(),
        "machine": {
            "cores": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "note": "2 shared cores: other work on the machine moves absolute figures; compare ratios.",
        },
        "versions": versions(),
        "settings": {
            "wrk": f"-t{opts.threads} -c{opts.connections} -d{opts.seconds}s (+{opts.warmup}s warm-up)",
            "gunicorn": "deploy/gunicorn.conf.py, WEB_CONCURRENCY=2",
            "gunicorn_threads": int(os.environ.get("GUNICORN_THREADS", "4")),
            "catalog_cache_seconds": float(os.environ.get("CATALOG_CACHE_SECONDS", "2")),
        },
        "seeding": seeding,
        "results": [asdict(r) for r in rows],
        "big_catalog": opts.big,
        "scale": scale_ratios(rows, opts.big) if opts.big else {},
        "rss": rss,
        "checkout_pipeline": pipeline,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per case")
    parser.add_argument("--warmup", type=int, default=2, help="wrk warm-up per case (0: none)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--big", type=int, default=100_000, help="large catalog size (0: skip)")
    parser.add_argument(
        "--order-rates",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[10, 50],
        help="checkouts/s at which to time checkout -> final status (comma-separated)",
    )
    parser.add_argument("--drain", type=int, default=90, help="most seconds to let the worker drain first")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "latest.json")
    parser.add_argument("--no-readme", dest="readme", action="store_false", help="leave README.md alone")
    opts = parser.parse_args(argv)

    report = run(opts)
    print()
    print_table([Figures(**r) for r in report["results"]])
    print(f"\nseeding: {json.dumps(report['seeding'])}")
    print(f"scale (100k / 1k): {json.dumps(report['scale'])}")
    print(f"rss: {json.dumps(report['rss'])}")
    print(f"checkout pipeline: {json.dumps(report['checkout_pipeline'])}")
    print(f"machine: {json.dumps(report['machine'])}")
    opts.output.parent.mkdir(parents=True, exist_ok=True)
    opts.output.write_text(json.dumps(report, indent=2) + "\n")
    if opts.readme:
        readme_update(readme_block(report))
        print("updated the Performance table in README.md")
    print(f"\nwrote {opts.output.relative_to(ROOT) if opts.output.is_relative_to(ROOT) else opts.output}")


if __name__ == "__main__":
    main()
