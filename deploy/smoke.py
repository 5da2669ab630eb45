"""Smoke test of a deployed CloudCart: `python3 deploy/smoke.py https://api.example.com`.

The pipeline runs it after each staging deploy (standard library only: it runs where nothing is
installed). It checks, in order: `/readyz` answers 200 (retried while a new deployment settles),
a product can be read, and a one-unit checkout of it is accepted (202) and reaches a final state
(CONFIRMED, or REJECTED when the product ran out) within the time limit. Exit 0 when all hold,
1 with the reason otherwise. The order is real: run it against staging, never production.
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid

FINAL = {"CONFIRMED", "REJECTED", "FAILED"}


class SmokeFailed(Exception):
    pass


def _call(method: str, url: str, body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - the URL is ours
    request.add_header("Accept", "application/json")
    request.add_header("X-Request-ID", f"smoke-{uuid.uuid4().hex[:16]}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}


def _until(deadline: float, check, what: str, pause: float = 2.0):
    last = None
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError) as exc:  # connection refused, timeout, a non-JSON answer
            last = exc
        if time.monotonic() > deadline:
            raise SmokeFailed(f"{what} (last error: {last})" if last else what)
        time.sleep(pause)


def smoke(
    base_url: str, *, product_id: str | None = None, ready_seconds: float = 300, order_seconds: float = 120
) -> str:
    """Run the checks; returns the order's final status, raises SmokeFailed."""
    base_url = base_url.rstrip("/")
    _until(
        time.monotonic() + ready_seconds,
        lambda: _call("GET", f"{base_url}/readyz")[0] == 200,
        f"{base_url}/readyz never answered 200",
    )
    print(f"ok  GET /readyz: 200 ({base_url})")

    status, page = _call("GET", f"{base_url}/products?limit=20")
    if status != 200 or not page.get("results"):
        raise SmokeFailed(f"GET /products: {status}, no product (seed the stack: docs/deploy.md)")
    # The product with the most stock (unless one is named), so repeated smoke runs do not run
    # staging dry soon.
    product = {"id": product_id} if product_id else max(page["results"], key=lambda p: p.get("stock") or 0)
    status, detail = _call("GET", f"{base_url}/products/{product['id']}")
    if status != 200 or detail.get("id") != product["id"]:
        raise SmokeFailed(f"GET /products/{product['id']}: {status} {detail}")
    print(f"ok  GET /products/{product['id']}: {detail['name']}, {detail['price']} {detail['currency']}")

    status, order = _call(
        "POST",
        f"{base_url}/checkout",
        {"items": [{"id": product["id"], "qty": 1}], "total": detail["price"]},
        {"Idempotency-Key": str(uuid.uuid4())},
    )
    if status != 202 or order.get("status") != "PENDING":
        raise SmokeFailed(f"POST /checkout: {status} {order}")
    print(f"ok  POST /checkout: 202, order {order['id']} PENDING")

    def final():
        status, current = _call("GET", f"{base_url}/orders/{order['id']}")
        return current["status"] if status == 200 and current.get("status") in FINAL else None

    final_status = _until(
        time.monotonic() + order_seconds,
        final,
        f"order {order['id']} still not final after {order_seconds:.0f} s: are the workers running?",
        pause=1.0,
    )
    if final_status == "FAILED":
        raise SmokeFailed(f"order {order['id']} FAILED: see the worker logs")
    print(f"ok  GET /orders/{order['id']}: {final_status}")
    return final_status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="the API's base URL (the stack's ApiUrl output)")
    parser.add_argument("--product", help="the product to read and buy (default: the most stocked)")
    parser.add_argument("--ready-seconds", type=float, default=300)
    parser.add_argument("--order-seconds", type=float, default=120)
    args = parser.parse_args(argv)
    try:
        smoke(
            args.base_url,
            product_id=args.product,
            ready_seconds=args.ready_seconds,
            order_seconds=args.order_seconds,
        )
    except SmokeFailed as failure:
        print(f"FAIL {failure}", file=sys.stderr)
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
