"""A flash sale: one product with N units, B concurrent buyers checking out one unit each until it
is sold out, through gunicorn, SQS, a worker and a notifier. Reports orders CONFIRMED per second,
checkout -> final p99, and the proof that exactly N units were sold, none twice."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.bench.orders_bench import _at, _dynamodb


def _stock(product_id: str, table: str) -> int:
    item = _dynamodb().get_item(TableName=table, Key={"id": {"S": product_id}}, ConsistentRead=True)["Item"]
    return int(item["stock"]["N"])


def flash_sale(
    base_url: str, *, product_id: str, units: int, buyers: int, products_table: str, timeout: float = 300.0
) -> dict:
    """Each buyer checks out one unit again and again until checkout answers `out_of_stock`."""
    accepted: dict[str, float] = {}
    answers: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def buyer(_):
        session = requests.Session()
        while not stop.is_set():
            sent_at = time.time()
            try:
                response = session.post(
                    f"{base_url}/checkout", json={"items": [{"id": product_id, "qty": 1}]}, timeout=60
                )
            except requests.RequestException:
                continue
            with lock:
                answers[response.status_code] = answers.get(response.status_code, 0) + 1
                if response.status_code == 202:
                    accepted[response.json()["id"]] = sent_at
            if response.status_code == 409 and response.json().get("code") == "out_of_stock":
                return

    started = time.time()
    with ThreadPoolExecutor(max_workers=buyers) as pool:
        list(pool.map(buyer, range(buyers)))
    sold_out_after = time.time() - started

    final: dict[str, dict] = {}
    pending = set(accepted)
    session = requests.Session()
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for order_id in list(pending):
            order = session.get(f"{base_url}/orders/{order_id}", timeout=30).json()
            if order.get("status") not in (None, "PENDING"):
                final[order_id] = order
                pending.discard(order_id)
        if pending:
            time.sleep(0.5)
    confirmed = [o for o in final.values() if o["status"] == "CONFIRMED"]
    latencies = sorted(_at(o["history"][-1]["at"]) - accepted[o["id"]] for o in final.values())
    last_final = max((_at(o["history"][-1]["at"]) for o in final.values()), default=started)
    confirmed_twice = [
        o["id"] for o in final.values() if [h["status"] for h in o["history"]].count("CONFIRMED") > 1
    ]
    units_confirmed = sum(line["qty"] for o in confirmed for line in o["items"])
    stock_left = _stock(product_id, products_table)
    return {
        "units": units,
        "buyers": buyers,
        "checkouts_answered": answers,
        "accepted": len(accepted),
        "sold_out_after_seconds": round(sold_out_after, 1),
        "final": {
            status: sum(1 for o in final.values() if o["status"] == status)
            for status in ("CONFIRMED", "REJECTED")
        },
        "not_final_after_timeout": len(pending),
        "confirmed_per_second": round(len(confirmed) / max(last_final - started, 1e-9), 1),
        "to_final_p50_ms": round(1000 * latencies[len(latencies) // 2], 1) if latencies else None,
        "to_final_p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1)
        if latencies
        else None,
        # The proof: units in CONFIRMED orders = units taken from stock = units offered, and no
        # order was confirmed twice.
        "units_in_confirmed_orders": units_confirmed,
        "stock_left": stock_left,
        "units_taken_from_stock": units - stock_left,
        "orders_confirmed_twice": len(confirmed_twice),
        "exactly_once": units_confirmed == units - stock_left == units and not confirmed_twice,
    }
