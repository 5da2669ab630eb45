"""A feature's cost per request counted in instructions, not timed: gunicorn under callgrind.

CPU time on this kind of machine moves by itself: a fixed pure-Python loop took 177 to 266 ms of
CPU in 30 back-to-back runs on an idle machine (2026-12-03), so two servers' CPU per request,
even in alternating runs, resolve a few percent at best (measure.overhead). callgrind counts the
instructions a process executes, which do not depend on the machine's mood.

One gunicorn worker (the production config file, one process, one thread, the bench's settings)
runs under `valgrind --tool=callgrind` with instrumentation off, so it starts at a few times its
speed rather than fifty. After a warm-up the worker is asked to start counting
(`/_bench/callgrind/start`: callgrind's client requests, tests/bench/callgrind_requests.c, since
callgrind_control cannot reach a forked child), the requests run one after another on one
keep-alive connection, `/_bench/callgrind/stop` dumps the count, and the count is divided by the
requests. Counted: all the worker does for them in user space (gunicorn's parsing and access log,
Django, the app); not counted: the kernel (socket I/O), alike for any two servers compared.
"""

import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import requests

from tests.aws_env import free_port
from tests.processes import spawn, stop, wait_http

CLIENT_REQUESTS_SOURCE = Path(__file__).with_name("callgrind_requests.c")
_TOTALS = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.MULTILINE)
# callgrind_requests.c's counting_stop() dumps with this trigger.
_COUNTED_TRIGGER = b"\ndesc: Trigger: Client Request: counted"


def _client_requests_build(directory: str) -> str:
    library = f"{directory}/callgrind_requests.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", library, str(CLIENT_REQUESTS_SOURCE)], check=True)
    return library


def instructions_per_request(path: str, *, env: dict, requests_counted: int, warmup: int, name: str) -> int:
    """Instructions one gunicorn worker executes per `GET path`, with `env` over the caller's."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="callgrind-") as out:
        process = spawn(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}/callgrind.%p",
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "deploy/gunicorn.conf.py",
                "cloudcart.wsgi",
            ],
            env={
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "WEB_CONCURRENCY": "1",
                "GUNICORN_THREADS": "1",
                # Counted requests run ~50x slower: no worker restart for it.
                "GUNICORN_TIMEOUT": "600",
                # Every counted request is a cache hit: no refresh lands in one side's count.
                "CATALOG_CACHE_SECONDS": "3600",
                # The same dict layouts in both processes.
                "PYTHONHASHSEED": "0",
                "BENCH_CALLGRIND_LIBRARY": _client_requests_build(out),
                **env,
            },
            log_name=name,
        )
        try:
            wait_http(f"{url}/healthz", timeout=300, process=process)
            with requests.Session() as session:
                for _ in range(warmup):
                    session.get(url + path, timeout=60).raise_for_status()
                session.get(f"{url}/_bench/callgrind/start", timeout=60).raise_for_status()
                for _ in range(requests_counted):
                    session.get(url + path, timeout=60).raise_for_status()
                session.get(f"{url}/_bench/callgrind/stop", timeout=60).raise_for_status()
        finally:
            stop(process, timeout=30)
        # The worker's dump of the counted requests (the files at exit hold only what followed).
        dumps = [dump.read_bytes() for dump in Path(out).glob("callgrind.*")]
        counts = [
            int(found.group(1))
            for dump in dumps
            if _COUNTED_TRIGGER in dump and (found := _TOTALS.search(dump))
        ]
    if len(counts) != 1:
        raise RuntimeError(f"expected one callgrind dump of the counted requests, found {len(counts)}")
    return round(counts[0] / requests_counted)


def overhead(
    path: str, *, on_env: dict, off_env: dict, runs: int, requests_counted: int, warmup: int
) -> dict:
    """What a feature costs in instructions per `GET path`: `runs` workers per side, alternating."""
    counts = {"on": [], "off": []}
    for number in range(runs):
        for side in ("on", "off") if number % 2 == 0 else ("off", "on"):
            counts[side].append(
                instructions_per_request(
                    path,
                    env=on_env if side == "on" else off_env,
                    requests_counted=requests_counted,
                    warmup=warmup,
                    name=f"bench-callgrind-{side}",
                )
            )
    on, off = (statistics.median(counts[side]) for side in ("on", "off"))
    return {
        "path": path,
        "runs": runs,
        "requests_counted": requests_counted,
        "on": counts["on"],
        "off": counts["off"],
        "overhead_percent": round(100 * (on / off - 1), 2),
    }
