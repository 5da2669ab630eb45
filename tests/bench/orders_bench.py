"""The order pipeline under load: checkout -> final at a fixed rate; the queues and orders watched."""

import os
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import boto3
import requests

from tests.bench.measure import cpu_seconds


def _dynamodb():
    return boto3.client(
        "dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"], region_name=os.environ["AWS_REGION"]
    )


def _sqs():
    return boto3.client(
        "sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=os.environ["AWS_REGION"]
    )


def _queue_url(kind: str = "orders") -> str:
    name = f"{os.environ.get('QUEUE_PREFIX') or os.environ['TABLE_PREFIX']}{kind}"
    return _sqs().get_queue_url(QueueName=name)["QueueUrl"]


def queue_depth(kind: str = "orders") -> int:
    """Messages waiting, in flight and delayed (a retry's countdown) on the `kind` queue."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = _sqs().get_queue_attributes(QueueUrl=_queue_url(kind), AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def queue_purge() -> None:
    for kind in ("orders", "notifications"):
        _sqs().purge_queue(QueueUrl=_queue_url(kind))


def orders_with_status(status: str) -> int:
    """How many orders have `status`: a COUNT Query on the status index."""
    client, total, start = _dynamodb(), 0, None
    while True:
        page = client.query(
            TableName=f"{os.environ['TABLE_PREFIX']}orders",
            IndexName="status-index",
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": {"S": status}},
            Select="COUNT",
            **({"ExclusiveStartKey": start} if start else {}),
        )
        total += page["Count"]
        start = page.get("LastEvaluatedKey")
        if not start:
            return total


def _at(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def checkout_to_final(
    base_url: str,
    *,
    rate: float,
    seconds: float,
    body: dict,
    timeout: float = 180.0,
    cpu_pids: list[int] | None = None,
    stack_pids: dict[str, list[int]] | None = None,
) -> dict:
    """`rate` checkouts per second for `seconds` (open loop: on schedule whatever the answers'
    speed), then each accepted order's time from the request's send to its final status (the
    order's own history; one machine, one clock). With `cpu_pids` (the worker and the notifier),
    also their CPU per order from the first send until every notification has gone out; with
    `stack_pids` (the web, each local AWS server), each one's CPU per order too, and the orders/s
    this machine's cores could hold at the whole stack's CPU per order."""
    local = threading.local()
    stack_pids = stack_pids or {}
    cpu_before = cpu_seconds(cpu_pids or [])
    stack_before = {name: cpu_seconds(pids) for name, pids in stack_pids.items()}
    load = os.getloadavg()[0]

    def send(scheduled: float) -> tuple[float, str | None]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        time.sleep(max(0.0, scheduled - time.monotonic()))
        sent_at = time.time()
        try:
            response = session.post(f"{base_url}/checkout", json=body, timeout=30)
        except requests.RequestException:
            return sent_at, None
        return sent_at, response.json().get("id") if response.status_code == 202 else None

    start = time.monotonic() + 0.5
    count = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=64) as pool:
        sent = list(pool.map(send, [start + n / rate for n in range(count)]))
    sent_for = time.monotonic() - start
    accepted = {order_id: sent_at for sent_at, order_id in sent if order_id}

    latencies, final = [], {}
    pending = set(accepted)
    deadline = time.monotonic() + timeout
    session = requests.Session()
    while pending and time.monotonic() < deadline:
        for order_id in list(pending):
            try:
                order = session.get(f"{base_url}/orders/{order_id}", timeout=30).json()
            except requests.RequestException:
                continue
            if order.get("status") not in (None, "PENDING"):
                pending.discard(order_id)
                final[order["status"]] = final.get(order["status"], 0) + 1
                latencies.append(_at(order["history"][-1]["at"]) - accepted[order_id])
        if pending:
            time.sleep(0.5)
    latencies.sort()
    while cpu_pids and time.monotonic() < deadline and queue_depth("notifications"):
        time.sleep(0.5)
    cpu = cpu_seconds(cpu_pids or []) - cpu_before
    stack_ms = {
        name: round(1000 * (cpu_seconds(pids) - stack_before[name]) / max(len(accepted), 1), 1)
        for name, pids in stack_pids.items()
    }
    total_ms = sum(stack_ms.values()) + 1000 * cpu / max(len(accepted), 1)

    def pct(q: float) -> float | None:
        return (
            round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)
            if latencies
            else None
        )

    return {
        "offered_per_second": rate,
        "sent_per_second": round(count / sent_for, 1),
        "seconds": seconds,
        "orders": count,
        "accepted": len(accepted),
        "final": final,
        "not_final_after_timeout": len(pending),
        "queue_depth_after": queue_depth(),
        "to_final_p50_ms": pct(0.50),
        "to_final_p99_ms": pct(0.99),
        "to_final_max_ms": round(1000 * latencies[-1], 1) if latencies else None,
        "to_final_mean_ms": round(1000 * statistics.mean(latencies), 1) if latencies else None,
        "worker_cpu_ms_per_order": round(1000 * cpu / len(accepted), 1) if cpu_pids and accepted else None,
        **{f"{name}_cpu_ms_per_order": ms for name, ms in stack_ms.items()},
        **(
            {
                "stack_cpu_ms_per_order": round(total_ms, 1),
                "orders_per_second_the_cores_hold": round(1000 * (os.cpu_count() or 1) / total_ms, 1),
            }
            if stack_pids and accepted
            else {}
        ),
        "load_average_1m": round(load, 2),
    }
