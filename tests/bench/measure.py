"""One bench case measured: wrk runs, the app's and the emulator's CPU per request, AWS calls.

Each case runs `repeats` times after one warm-up; a row reports the median of the runs and their
spread (lowest and highest), so one disturbed run on a shared machine shows as a wide spread
instead of a wrong figure.
"""

import json
import os
import statistics
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import requests

WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Case:
    name: str
    path: str
    method: str = "GET"
    body: dict | None = None
    headers: dict = field(default_factory=dict)
    server: str = "app"  # "app" (cache as configured) or "uncached" (CATALOG_CACHE_SECONDS=0)
    connections: int | None = None  # None: the run's --connections
    # POST /cart: each request adds one unit of one of these products to one of `carts` fresh
    # carts (wrk.lua cycles through them), so most adds find their cart and line already there.
    cart_products: list[str] = field(default_factory=list)
    carts: int = 0


def children_of(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def process_tree(pids: list[int]) -> list[int]:
    """These processes and all their descendants (prefork's children, a shell's command)."""
    found, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.append(pid)
            todo.extend(children_of(pid))
    return found


def _proc_text(pid: int, name: str) -> str | None:
    try:
        return Path(f"/proc/{pid}/{name}").read_text()
    except OSError:  # gone
        return None


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes and all their descendants, so far."""
    total = 0.0
    for pid in process_tree(pids):
        stat = _proc_text(pid, "stat")
        if stat is not None:
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


def rss_mb(pids: list[int]) -> float | None:
    """Resident memory of these processes together, MB; None when none of them runs."""
    total, found = 0, False
    for pid in pids:
        status = _proc_text(pid, "status")
        if status is not None:
            found = True
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    return round(total / 1024, 1) if found else None


def machine_probe_ms(runs: int = 5) -> float:
    """CPU milliseconds of a fixed pure-Python loop (median of `runs`): how fast this machine is
    now. On these shared 2 cores the same loop's CPU time moves by up to 40% between phases that
    last minutes, idle or not, and every CPU-per-unit figure moves with it: read one beside its
    probe."""

    def once() -> float:
        started = time.process_time()
        total = 0
        for number in range(1_000_000):
            total += number * number % 7
        return 1000 * (time.process_time() - started)

    return round(statistics.median(once() for _ in range(runs)), 1)


def wrk(url: str, case: Case, *, seconds: float, threads: int, connections: int) -> dict:
    env = {
        **os.environ,
        "BENCH_METHOD": case.method,
        "BENCH_BODY": json.dumps(case.body) if case.body is not None else "",
        "BENCH_HEADERS": "\n".join(f"{k}: {v}" for k, v in case.headers.items()),
        "BENCH_CART_IDS": " ".join(uuid.uuid4().hex for _ in range(case.carts)),
        "BENCH_CART_PRODUCTS": " ".join(case.cart_products),
    }
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s"]
    out = subprocess.run(
        [*args, "-s", str(WRK_SCRIPT), url], env=env, capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH_RESULT "))
    return json.loads(line.removeprefix("BENCH_RESULT "))


def wrk_with_cpu(
    url: str, case: Case, pid_groups: list[list[int]], *, seconds: float, threads: int, connections: int
) -> tuple[dict, list[float]]:
    """One wrk run, and the CPU seconds each group of processes spent during it."""
    before = [cpu_seconds(pids) for pids in pid_groups]
    raw = wrk(url, case, seconds=seconds, threads=threads, connections=connections)
    return raw, [cpu_seconds(pids) - start for pids, start in zip(pid_groups, before, strict=True)]


def wrk_errors(raw: dict) -> int:
    return raw["non_2xx_3xx"] + raw["socket_errors"]


def aws_calls(url: str, case: Case, *, samples: int = 5) -> dict | None:
    """AWS calls per request from the app's `X-AWS-Calls` header (AWS_CALL_COUNTING), sampled
    outside the load. For a cart add: a new cart, a new line, then adds to an existing line."""
    if case.cart_products:
        cart = {"X-Cart-Id": uuid.uuid4().hex}
        first, second = case.cart_products[:2]
        steps = {"new cart": first, "new line": second, "existing line": first}
        found = {}
        for label, product in steps.items():
            for _ in range(samples if label == "existing line" else 1):
                response = requests.post(url, json={"id": product, "qty": 1}, headers=cart, timeout=30)
                found[label] = _calls(response)
        return found
    counts = []
    for _ in range(samples):
        data = json.dumps(case.body) if case.body is not None else None
        headers = {**case.headers, **({"Content-Type": "application/json"} if data else {})}
        counts.append(_calls(requests.request(case.method, url, data=data, headers=headers, timeout=30)))
    medians = {name: statistics.median(c.get(name, 0) for c in counts) for name in counts[0]}
    return {f"median of {samples}": medians}


def _calls(response: requests.Response) -> dict:
    header = response.headers.get("X-AWS-Calls", "")
    if response.status_code >= 400 or not header:
        return {"status": response.status_code}
    if header == "none":
        return {}
    return {name: int(count) for name, count in (pair.split("=") for pair in header.split(", "))}


def _send(url: str, case: Case) -> int:
    if case.cart_products:
        body, headers = {"id": case.cart_products[0], "qty": 1}, {"X-Cart-Id": uuid.uuid4().hex}
    else:
        body, headers = case.body, case.headers
    try:
        return requests.request(case.method, url, json=body, headers=headers, timeout=60).status_code
    except requests.RequestException:
        return 0


def warm(url: str, case: Case, *, connections: int) -> None:
    """Two rounds of `connections` concurrent requests, each waited for: every gunicorn thread has
    built its clients and connections (a first checkout also opens kombu's SQS producer) before
    anything is timed. On a loaded machine that can take longer than a timed run."""
    with ThreadPoolExecutor(max_workers=connections) as pool:
        list(pool.map(lambda _: _send(url, case), range(2 * connections)))


def spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def measure(
    case: Case,
    *,
    url: str,
    app_pids: list[int],
    emulator_pids: list[int],
    seconds: float,
    warmup: float,
    repeats: int,
    threads: int,
    connections: int,
) -> dict:
    """`repeats` wrk runs of `case` after a warm-up: rps, p50, p99, CPU ms per request (median and
    spread), errors, the load average when it started, and AWS calls per request."""
    connections = case.connections or connections
    threads = min(threads, connections)
    load = os.getloadavg()[0]
    warm(url, case, connections=connections)
    if warmup:
        wrk(url, case, seconds=warmup, threads=threads, connections=connections)
    runs = []
    for _ in range(repeats):
        raw, (app_cpu, emulator_cpu) = wrk_with_cpu(
            url, case, [app_pids, emulator_pids], seconds=seconds, threads=threads, connections=connections
        )
        done = max(raw["requests"], 1)
        runs.append(
            {
                "requests": raw["requests"],
                "rps": raw["requests"] / (raw["duration_us"] / 1e6),
                "p50_ms": raw["p50_us"] / 1000,
                "p99_ms": raw["p99_us"] / 1000,
                "errors": wrk_errors(raw),
                "app_cpu_ms_per_request": 1000 * app_cpu / done,
                "emulator_cpu_ms_per_request": 1000 * emulator_cpu / done,
            }
        )
    row = {
        "name": case.name,
        "method": case.method,
        "path": case.path,
        "cache": "off" if case.server == "uncached" else "on",
        "connections": connections,
        "load_average_1m": round(load, 2),
        "errors": sum(run["errors"] for run in runs),
        **{
            key: spread([run[key] for run in runs])
            for key in ("rps", "p50_ms", "p99_ms", "app_cpu_ms_per_request", "emulator_cpu_ms_per_request")
        },
        "runs": [{key: round(value, 2) for key, value in run.items()} for run in runs],
    }
    if case.method != "GET":
        row["aws_calls_per_request"] = aws_calls(url, case)
    return row


def overhead(
    case: Case,
    *,
    urls: dict[str, str],
    app_pids: dict[str, list[int]],
    rounds: int,
    seconds: float,
    threads: int,
    connections: int,
) -> dict:
    """What a feature costs: `case` on two servers, "on" and "off" (urls and pids keyed so), in
    `rounds` of two short wrk runs each, alternating which goes first (on off, off on, ...).

    Two 10 s runs one after the other see different machines: a load that moves between them
    moved the old comparison by +-15%. Alternating short runs share the machine's moods, so their
    app CPU per request compares the servers and not the minutes. Reported: each side's CPU per
    request over all its runs, the overhead of "on" over "off" from those totals, and the median,
    spread and standard error of the per-round overheads (what the comparison can resolve)."""
    connections = case.connections or connections
    threads = min(threads, connections)
    load = os.getloadavg()[0]
    for side in ("on", "off"):
        warm(urls[side], case, connections=connections)
        wrk(urls[side], case, seconds=2, threads=threads, connections=connections)
    totals = {side: {"requests": 0, "cpu": 0.0, "seconds": 0.0, "errors": 0} for side in ("on", "off")}
    per_round = []
    for number in range(rounds):
        cpu_ms = {}
        for side in ("on", "off") if number % 2 == 0 else ("off", "on"):
            raw, (cpu,) = wrk_with_cpu(
                urls[side], case, [app_pids[side]], seconds=seconds, threads=threads, connections=connections
            )
            total = totals[side]
            total["requests"] += raw["requests"]
            total["cpu"] += cpu
            total["seconds"] += raw["duration_us"] / 1e6
            total["errors"] += wrk_errors(raw)
            cpu_ms[side] = 1000 * cpu / max(raw["requests"], 1)
        per_round.append(100 * (cpu_ms["on"] / cpu_ms["off"] - 1))
    sides = {
        side: {
            "requests": total["requests"],
            "rps": round(total["requests"] / total["seconds"], 1),
            "app_cpu_ms_per_request": round(1000 * total["cpu"] / max(total["requests"], 1), 3),
            "errors": total["errors"],
        }
        for side, total in totals.items()
    }
    on, off = (sides[side]["app_cpu_ms_per_request"] for side in ("on", "off"))
    return {
        "name": case.name,
        "path": case.path,
        "rounds": rounds,
        "seconds": seconds,
        "connections": connections,
        "load_average_1m": round(load, 2),
        "on": sides["on"],
        "off": sides["off"],
        "overhead_percent": round(100 * (on / off - 1), 1),
        "overhead_percent_per_round": spread(per_round),
        # The resolution of the comparison: the standard error of the per-round mean.
        "overhead_percent_standard_error": round(statistics.stdev(per_round) / len(per_round) ** 0.5, 1)
        if len(per_round) > 1
        else None,
        "rounds_overhead_percent": [round(value, 1) for value in per_round],
    }
