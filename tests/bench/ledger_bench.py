"""`make bench` for the back office: projector events/s, ledger lag while orders are placed, and
the admin's order list (a filter and a search) and CSV export at 100,000 orders.

Starts its own local AWS servers and PostgreSQL (free ports, tables prefixed `bench-`), as the
test session does. Figures, never pass/fail: it prints them beside the budgets (projector
>= 200 events/s; lag p99 <= 2 s at 50 orders/s; list p95 <= 300 ms server time) and writes
tests/bench/results/ledger-<time>.json.
"""

import argparse
import io
import json
import os
import threading
import time
import tracemalloc
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from tests import aws_env  # noqa: F401 - the environment, before Django loads

os.environ["TABLE_PREFIX"] = f"bench-{os.environ['TABLE_PREFIX'].removeprefix('test-')}"
os.environ["DJANGO_SETTINGS_MODULE"] = "cloudcart.settings"
os.environ["LEDGER_WAIT_TIME_SECONDS"] = "1"

import django  # noqa: E402

django.setup()

from boto3.dynamodb.types import TypeSerializer  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from backoffice.models import Order  # noqa: E402
from backoffice.projection import orders_project  # noqa: E402
from backoffice.projector import Projector  # noqa: E402
from cloudcart import aws  # noqa: E402
from cloudcart.bootstrap import aws_bootstrap  # noqa: E402
from deploy.local.postgres import Postgres  # noqa: E402
from tests.backoffice.support import order_item  # noqa: E402
from tests.bench.checkout_bench import percentile  # noqa: E402
from tests.processes import ROOT, LocalAws  # noqa: E402

RESULTS_DIR = ROOT / "tests" / "bench" / "results"
_serializer = TypeSerializer()


def _put(items: list[dict]) -> None:
    client = aws.client("dynamodb")
    for start in range(0, len(items), 25):
        requests = [
            {"PutRequest": {"Item": {k: _serializer.serialize(v) for k, v in item.items() if v is not None}}}
            for item in items[start : start + 25]
        ]
        pending = {settings.ORDERS_TABLE: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _publish(order_ids: list[str]) -> None:
    """The order events as the notifier publishes them (10 per SNS PublishBatch call)."""
    sns = aws.client("sns")
    for start in range(0, len(order_ids), 10):
        answer = sns.publish_batch(
            TopicArn=settings.ORDER_EVENTS_TOPIC_ARN,
            PublishBatchRequestEntries=[
                {
                    "Id": str(n),
                    "Message": json.dumps(
                        {"order_id": order_id, "type": "order.placed", "status": "PENDING"}
                    ),
                }
                for n, order_id in enumerate(order_ids[start : start + 10])
            ],
        )
        if answer.get("Failed"):  # a batch's entries fail one by one, without an exception
            raise RuntimeError(f"SNS refused {len(answer['Failed'])} event(s): {answer['Failed'][:1]}")


def _send_raw(queue_url: str, order_ids: list[str]) -> None:
    """The events straight onto the ledger's queue, as SNS's raw delivery leaves them there."""
    aws.client("sqs").send_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": str(n), "MessageBody": json.dumps({"order_id": order_id, "type": "order.placed"})}
            for n, order_id in enumerate(order_ids)
        ],
    )


def _queue_depth(queue_url: str) -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def projector_throughput(*, events: int, threads: int, depth: int = 50, feeders: int = 3) -> dict:
    """Events/s the projector handles while the queue holds at most about `depth` events, as a
    consumer that keeps up sees it. Not a drain of a deep backlog: moto's ReceiveMessage
    recomputes the queue's attributes for every message it returns (O(queue depth) each, in
    moto/sqs/models.py is_message_valid_based_on_retention_period), so a 3,000-event backlog
    measures moto, not the projector (SQS's receive does not grow with the queue). The events go
    onto the queue directly (SendMessageBatch): moto's SNS fan-out costs ~0.2 s per PublishBatch
    of 10 here, slower than the projector; the lag case below goes through SNS."""
    items = [
        order_item(statuses=("PENDING", "CONFIRMED"), email=f"t{n}@bench.example") for n in range(events)
    ]
    _put(items)
    queue_url = settings.LEDGER_QUEUE_URL
    projector = Projector(threads=threads)
    runner = threading.Thread(target=projector.run, daemon=True)
    ids = [item["order_id"] for item in items]
    load = os.getloadavg()[0]
    started = time.monotonic()
    runner.start()

    def feed(chunk: list[str]) -> None:
        for start in range(0, len(chunk), 10):
            while _queue_depth(queue_url) > depth:
                time.sleep(0.01)
            _send_raw(queue_url, chunk[start : start + 10])

    # A few feeders: one SendMessageBatch on moto takes longer under load than the projector's
    # share of a batch.
    per_feeder = -(-len(ids) // (10 * feeders)) * 10
    with ThreadPoolExecutor(max_workers=feeders) as pool:
        for start in range(0, len(ids), per_feeder):
            pool.submit(feed, ids[start : start + per_feeder])
    # Done when every order is in the ledger (a redelivered event counts once, and is no-op).
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and Order.objects.filter(id__in=ids).count() < events:
        time.sleep(0.1)
    seconds = time.monotonic() - started
    in_ledger = Order.objects.filter(id__in=ids).count()
    projector.stop()
    runner.join(timeout=30)
    return {
        "events": events,
        "threads": threads,
        "max_queue_depth": depth,
        "feeders": feeders,
        "seconds": round(seconds, 2),
        "events_per_second": round(in_ledger / seconds),
        "in_ledger": in_ledger,
        "events_received": projector.lag.projected,
        "errors": projector.errors,
        "load_average_1m": round(load, 2),
    }


def projection_throughput(*, events: int, threads: int) -> dict:
    """The projector's own work without SQS: `threads` loops each reading batches of 10 orders from
    DynamoDB (BatchGetItem) and upserting them in one PostgreSQL transaction, as a receive loop
    does with each batch. What the projector would do with a queue that answers at once."""
    items = [
        order_item(statuses=("PENDING", "CONFIRMED"), email=f"w{n}@bench.example") for n in range(events)
    ]
    _put(items)
    chunks = [[item["order_id"] for item in items[n : n + 10]] for n in range(0, len(items), 10)]
    written: list[int] = []

    def loop(mine: list[list[str]]) -> None:
        try:
            for chunk in mine:
                written.append(len(orders_project(order_ids=chunk)[0]))
        finally:
            connection.close()

    load = os.getloadavg()[0]
    cpu = time.process_time()
    started = time.monotonic()
    loops = [threading.Thread(target=loop, args=(chunks[n::threads],)) for n in range(threads)]
    for each in loops:
        each.start()
    for each in loops:
        each.join()
    seconds = time.monotonic() - started
    return {
        "events": events,
        "threads": threads,
        "seconds": round(seconds, 2),
        "events_per_second": round(sum(written) / seconds),
        "cpu_ms_per_event": round((time.process_time() - cpu) * 1000 / events, 2),
        "load_average_1m": round(load, 2),
    }


def _dlq_url() -> str:
    return aws.client("sqs").get_queue_url(QueueName=settings.LEDGER_DLQ_NAME)["QueueUrl"]


def lag_under_load(*, rate: float, seconds: float, threads: int) -> dict:
    """Orders stored and their events published through SNS at `rate`/s (from a few publisher
    threads: one SNS call on moto takes longer than 1/50 s under load) while the projector
    runs; the lag of each is the time from just before its publish to its row in the ledger."""
    projector = Projector(threads=threads)
    runner = threading.Thread(target=projector.run, daemon=True)
    runner.start()
    published: dict[str, float] = {}
    lock = threading.Lock()

    publish_failures = []

    def place() -> None:
        item = order_item(email=f"lag-{uuid.uuid4().hex[:6]}@bench.example")
        _put([item])
        with lock:
            published[item["order_id"]] = time.time()
        for _attempt in range(3):  # as the notifier does: a failed publish is published again
            try:
                _publish([item["order_id"]])
                return
            except Exception as error:  # noqa: BLE001 - counted and reported
                publish_failures.append(repr(error))

    load = os.getloadavg()[0]
    interval = 1.0 / rate
    started = time.monotonic()
    deadline = started + seconds
    next_at = started
    with ThreadPoolExecutor(max_workers=12) as pool:
        while time.monotonic() < deadline:
            pool.submit(place)
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
    offered_seconds = time.monotonic() - started
    # Longer than the queue's visibility timeout: a failed batch's events come back after it.
    waited = time.monotonic() + settings.LEDGER_VISIBILITY_TIMEOUT + 30
    while time.monotonic() < waited and Order.objects.filter(id__in=list(published)).count() < len(published):
        time.sleep(0.2)
    missing = sorted(
        set(published) - set(Order.objects.filter(id__in=list(published)).values_list("id", flat=True))
    )
    # Where an unprojected event is: still on the queue (waiting or in flight), in the DLQ, or nowhere.
    queues = {
        name: aws.client("sqs").get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        for name, url in (("ledger", settings.LEDGER_QUEUE_URL), ("dlq", _dlq_url()))
    }
    projector.stop()
    runner.join(timeout=30)
    lags = [
        row.projected_at.timestamp() - published[row.id]
        for row in Order.objects.filter(id__in=list(published)).only("id", "projected_at")
    ]
    return {
        "offered_per_second": rate,
        "placed_per_second": round(len(published) / offered_seconds, 1),
        "seconds": seconds,
        "orders": len(published),
        "projected": len(lags),
        "lag_p50_s": round(percentile(lags, 0.50), 3) if lags else None,
        "lag_p99_s": round(percentile(lags, 0.99), 3) if lags else None,
        "lag_max_s": round(max(lags), 3) if lags else None,
        "projector_failed_batches": projector.errors,
        "publish_failures": publish_failures[:3],
        "not_projected": missing[:3],
        "queues_after_wait": queues,
        "load_average_1m": round(load, 2),
    }


def ledger_fill(count: int) -> None:
    """`count` orders straight into the ledger (SQL): the list's scale, not the projector's."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO backoffice_order (id, status, reason, total_cents, currency, customer_id, email,
                shipping_address, phone, payment_provider, payment_status, payment_intent_id,
                amount_authorized_cents, amount_captured_cents, amount_refunded_cents, payment_error,
                request_id, created_at, updated_at, version, projected_at)
            SELECT md5('bench' || n), (ARRAY['PENDING','CONFIRMED','CONFIRMED','CONFIRMED','REJECTED',
                    'CANCELLED','REFUNDED','AWAITING_PAYMENT'])[1 + n %% 8], NULL, 1000 + n %% 50000, 'USD',
                CASE WHEN n %% 3 = 0 THEN NULL ELSE 'sub-' || (n %% 20000) END,
                'buyer' || (n %% 40000) || '@bench.example', NULL, NULL, 'stripe', 'succeeded', '',
                0, 0, 0, '', NULL, now() - (n || ' minutes')::interval, now(), 2, now()
            FROM generate_series(1, %s) AS n ON CONFLICT DO NOTHING
            """,
            [count],
        )
        cursor.execute(
            """
            INSERT INTO backoffice_orderline (order_id, position, product_id, name, unit_price_cents, qty,
                line_total_cents)
            SELECT md5('bench' || n), l, 'p-' || ((n * 7 + l) %% 5000),
                (ARRAY['Blue kettle','Green teapot','Smartphone X','Desk lamp','Yoga mat'])[1 + (n + l) %% 5]
                    || ' ' || ((n * 7 + l) %% 5000), 500, 1 + l, 500 * (1 + l)
            FROM generate_series(1, %s) AS n, generate_series(0, 1) AS l ON CONFLICT DO NOTHING
            """,
            [count],
        )
        cursor.execute("ANALYZE backoffice_order; ANALYZE backoffice_orderline")


def list_times(*, requests: int) -> dict:
    user, _ = get_user_model().objects.get_or_create(
        username="bench-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    cases = {
        "status filter + e-mail search": {"status": "CONFIRMED", "q": "buyer123@bench.example"},
        "past 30 days + product name search": {"placed": "30d", "q": "teapot 42"},
        "guest filter, first page": {"buyer": "guest"},
        "customer filter + order id search": {"buyer": "customer", "q": "0123456789abcdef0123456789abcdef"},
    }
    figures = {"load_average_1m": round(os.getloadavg()[0], 2)}
    for name, query in cases.items():
        client.get("/admin/backoffice/order/", query)  # warm: the first render compiles templates
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get("/admin/backoffice/order/", query)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        figures[name] = {
            "p50_ms": round(percentile(times, 0.5), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
        }
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/admin/backoffice/order/export.csv")
    rows = sum(chunk.count(b"\n") for chunk in response.streaming_content) - 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures["csv export (all)"] = {
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 2),
        "peak_python_memory_mb": round(peak / 2**20, 1),
    }
    return figures


def _ledger_check() -> tuple[int, list[str]]:
    out = io.StringIO()
    try:
        call_command("ledger_check", stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue().splitlines()
    return 0, out.getvalue().splitlines()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=settings.LEDGER_PROJECTOR_THREADS)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--rate-seconds", type=float, default=30)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--quick", action="store_true")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.events, opts.rate_seconds, opts.orders, opts.requests = 500, 5, 5000, 5
    servers = LocalAws(
        moto_port=aws_env.MOTO_PORT, dynamodb_port=aws_env.DYNAMODB_PORT, log_prefix="bench-ledger-"
    )
    database = Postgres(port=aws_env.POSTGRES_PORT)
    result = {"started_at": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count()}
    try:
        servers.start()
        database.start()
        aws_bootstrap(wait_seconds=30)
        call_command("migrate", verbosity=0)
        result["projector"] = [
            projector_throughput(events=opts.events, threads=threads)
            for threads in (opts.threads // 2, opts.threads)
        ]
        for figures in result["projector"]:
            print("projector:", figures, "(budget >= 200 events/s)", flush=True)
        result["projection_without_sqs"] = projection_throughput(events=opts.events, threads=opts.threads)
        print("projector's work without SQS:", result["projection_without_sqs"], flush=True)
        result["lag"] = lag_under_load(rate=opts.rate, seconds=opts.rate_seconds, threads=opts.threads)
        print("lag:", result["lag"], "(budget p99 <= 2 s)", flush=True)
        # `manage.py ledger_check` itself, over every order the load made (exit status 1 on any
        # difference); when it finds any, `ledger_rebuild` and the check again.
        status, lines = _ledger_check()
        result["ledger_check_exit_status"] = status
        result["ledger_check_differences"] = lines if status else []
        print(f"manage.py ledger_check after the load: exit {status},", lines[:5], flush=True)
        if status:
            call_command("ledger_rebuild", restart=True, stdout=io.StringIO())
            result["ledger_check_after_rebuild"] = _ledger_check()
            print(
                "manage.py ledger_check after ledger_rebuild:",
                result["ledger_check_after_rebuild"],
                flush=True,
            )
        ledger_fill(opts.orders)
        result["ledger_orders"] = Order.objects.count()
        result["list"] = list_times(requests=opts.requests)
        for name, figures in result["list"].items():
            print(f"order list {name}: {figures}", flush=True)
        result["load_average_end"] = [round(value, 2) for value in os.getloadavg()]
        print("(budget: list p95 <= 300 ms server time)")
    finally:
        connection.close()
        database.stop()
        servers.stop()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    output = RESULTS_DIR / f"ledger-{result['started_at'].replace(':', '')}.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
