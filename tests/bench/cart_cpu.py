"""`python -m tests.bench.cart_cpu`: the app's own CPU per `POST /cart` add, and where it goes.

Sends adds straight into the WSGI application in this process (no network client, no gunicorn)
against a running DynamoDB (`--endpoint`, e.g. DynamoDB Local), so `time.process_time()` is the
app's CPU alone: DynamoDB's work happens in its own process. 8 carts, 20 products, each add one
unit of a product to a cart (new lines first, then existing ones), write throttles on.
Usage: `python -m tests.bench.cart_cpu --endpoint http://127.0.0.1:12700 [--requests 600] [--profile]`.
"""

import argparse
import io
import json
import os
import sys
import time
import uuid


def _environ(body: bytes, cart_id: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/cart",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_X_CART_ID": cart_id,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", required=True, help="DynamoDB endpoint URL (already running)")
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--profile", action="store_true", help="print pyinstrument's call tree too")
    parser.add_argument("--cprofile", action="store_true", help="print cProfile's CPU-time top functions")
    parser.add_argument("--sort", default="cumulative", help="cProfile sort key (cumulative, tottime)")
    opts = parser.parse_args(argv)

    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "cloudcart.settings",
            "DJANGO_ENV": "local",
            "AWS_ENDPOINT_URL": opts.endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": opts.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "us-east-1",
            "TABLE_PREFIX": f"cpu-{uuid.uuid4().hex[:8]}-",
            "THROTTLE_CART_WRITE_RATE": "100000000/min",
            "AWS_CALL_COUNTING": "0",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    import logging

    from django.core.wsgi import get_wsgi_application

    from catalog.services import product_build
    from cloudcart.bootstrap import table_models

    for model in table_models():
        if not model.exists():
            model.create_table(wait=True)
    products = []
    for n in range(20):
        product = product_build(
            product_id=f"cpu-{n}", name=f"Product {n}", category="cpu", price_cents=1000 + n, stock=1000
        )
        product.save()
        products.append(product.id)
    carts = [uuid.uuid4().hex for _ in range(8)]

    application = get_wsgi_application()
    logging.disable(logging.INFO)  # one JSON log line per request would be much of the profile
    statuses = []

    def add(n: int) -> None:
        body = json.dumps({"id": products[(n // len(carts)) % len(products)], "qty": 1}).encode()
        environ = _environ(body, carts[n % len(carts)])
        result = application(environ, lambda status, headers: statuses.append(status))
        b"".join(result)
        result.close()

    for n in range(80):  # warm: imports, URL resolver, connection pools
        add(n)
    profiler = cprofiler = None
    if opts.cprofile:
        import cProfile

        cprofiler = cProfile.Profile(time.process_time)
        cprofiler.enable()
    if opts.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(80, 80 + opts.requests):
        add(n)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        profiler.stop()
    if cprofiler is not None:
        cprofiler.disable()
    bad = [status for status in statuses if not status.startswith("200")]
    print(
        f"POST /cart x {opts.requests}: app CPU {cpu / opts.requests * 1000:.2f} ms/request, "
        f"wall {wall / opts.requests * 1000:.2f} ms/request, non-200: {len(bad)} {bad[:3]}"
    )
    if profiler is not None:
        print(profiler.output_text(unicode=False, color=False))
    if cprofiler is not None:
        import pstats

        pstats.Stats(cprofiler).sort_stats(opts.sort).print_stats(45)


if __name__ == "__main__":
    main()
