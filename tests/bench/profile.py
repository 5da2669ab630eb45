"""`make profile`: where a request's time goes, per endpoint, with pyinstrument (in-process WSGI).

Starts its own moto, creates and seeds the tables, then sends each path N times straight into the
WSGI application (no network, no gunicorn) and prints the call tree. Usage:
`python -m tests.bench.profile [--requests N] [--all-frames] [PATH ...]` (paths are GETs).
"""

import argparse
import io
import os
import subprocess
import sys
import time

from tests import aws_env  # noqa: F401 - a free moto port and the AWS environment, before Django

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
os.environ["CATALOG_CACHE_SECONDS"] = os.environ.get("BENCH_CACHE_SECONDS", "5")

from tests.processes import ROOT, LocalAws  # noqa: E402

DEFAULT_PATHS = ["/_bench/constant", "/products/1", "/products?limit=20", "/categories/electronics?limit=20"]


def _environ(path: str) -> dict:
    path_info, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=DEFAULT_PATHS)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--all-frames", action="store_true", help="show library frames too")
    opts = parser.parse_args(argv)

    moto = LocalAws(moto_port=aws_env.MOTO_PORT, dynamodb_port=aws_env.DYNAMODB_PORT)
    moto.start()
    try:
        subprocess.run([sys.executable, "manage.py", "bootstrap_aws"], cwd=ROOT, check=True)
        subprocess.run(
            [sys.executable, "manage.py", "seed_products", "--count", "1000"], cwd=ROOT, check=True
        )

        import logging

        from django.core.wsgi import get_wsgi_application
        from pyinstrument import Profiler

        application = get_wsgi_application()
        logging.disable(logging.INFO)  # one JSON log line per request would be most of the profile
        statuses = []

        def call(path: str) -> None:
            result = application(_environ(path), lambda status, headers: statuses.append(status))
            b"".join(result)
            result.close()

        for path in opts.paths:
            for _ in range(50):  # warm: imports, URL resolver, connection pools, the cache
                call(path)
            profiler = Profiler(interval=0.0002)
            started = time.perf_counter()
            profiler.start()
            for _ in range(opts.requests):
                call(path)
            profiler.stop()
            per_request_us = (time.perf_counter() - started) / opts.requests * 1e6
            print(
                f"\n===== GET {path}: {per_request_us:.0f} us/request (profiled), last status {statuses[-1]}"
            )
            print(profiler.output_text(unicode=False, color=False, show_all=opts.all_frames))
    finally:
        moto.stop()


if __name__ == "__main__":
    main()
