"""DynamoDB Local's JVM options compared: startup, memory, calls/s and the emulator's CPU per call.

    python -m tests.bench.dynamodb_local_probe [--seconds 8] [--threads 8] [--repeat 3]

For each option set it starts a fresh DynamoDB Local with those options (DYNAMODB_LOCAL_JAVA_OPTS),
then drives the calls CloudCart makes from boto3 threads: GetItem, a conditional UpdateItem ADD on
one hot item, and a 3-item TransactWriteItems. The JVM's CPU seconds per call (from /proc) are the
figure that carries least noise on a shared machine; calls/s are printed beside them. Prints a
table and writes tests/bench/results/dynamodb_local_probe.json (ignored by git).
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import boto3
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from deploy.local.dynamodb_local import JAVA_OPTIONS  # noqa: E402
from tests.aws_env import free_port  # noqa: E402
from tests.bench.measure import cpu_seconds, rss_mb  # noqa: E402
from tests.processes import DynamoDBLocal, stop  # noqa: E402

BASE = "-Xms64m -Xmx512m --enable-native-access=ALL-UNNAMED"
OPTION_SETS = {
    "no options (JVM defaults)": "--enable-native-access=ALL-UNNAMED",
    "chosen (deploy/local/dynamodb_local.py)": " ".join(JAVA_OPTIONS),
    "heap 64m-512m, G1 (default GC)": BASE,
    "heap + SerialGC": f"{BASE} -XX:+UseSerialGC",
    "heap + ParallelGC": f"{BASE} -XX:+UseParallelGC",
    "heap + SerialGC + C1 only": f"{BASE} -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
    "heap + ParallelGC + C1 only": f"{BASE} -XX:+UseParallelGC -XX:TieredStopAtLevel=1",
}
TABLE = "probe"


def _client(url: str):
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - the emulator's dummy key
        config=Config(max_pool_connections=64, retries={"mode": "standard", "total_max_attempts": 10}),
    )


def _setup(client) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(200):
        client.put_item(TableName=TABLE, Item={"id": {"S": str(i)}, "stock": {"N": "1000000000"}})


def _call(client, kind: str, n: int) -> None:
    if kind == "GetItem":
        client.get_item(TableName=TABLE, Key={"id": {"S": str(n % 200)}})
    elif kind == "UpdateItem ADD (hot item)":
        client.update_item(
            TableName=TABLE,
            Key={"id": {"S": "0"}},
            UpdateExpression="ADD hits :one",
            ConditionExpression="attribute_exists(id)",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    else:
        items = [(n * 3 + k) % 199 + 1 for k in range(3)]
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"id": {"S": str(item)}},
                        "UpdateExpression": "SET stock = stock - :q",
                        "ConditionExpression": "stock >= :q",
                        "ExpressionAttributeValues": {":q": {"N": "1"}},
                    }
                }
                for item in items
            ]
        )


KINDS = ("GetItem", "UpdateItem ADD (hot item)", "TransactWriteItems (3 items)")


def _drive(url: str, pid: int, kind: str, *, seconds: float, threads: int) -> dict:
    clients = [_client(url) for _ in range(threads)]
    for client in clients:  # warm each client's connection
        client.describe_table(TableName=TABLE)
    done = [0] * threads
    errors = [0] * threads
    stop_at = time.monotonic() + seconds

    def work(index: int) -> None:
        n = index * 1_000_000
        while time.monotonic() < stop_at:
            try:
                _call(clients[index], kind, n)
                done[index] += 1
            except Exception:
                errors[index] += 1
            n += 1

    cpu_before, started = cpu_seconds([pid]), time.monotonic()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed, cpu = time.monotonic() - started, cpu_seconds([pid]) - cpu_before
    calls = sum(done)
    return {
        "calls_per_s": round(calls / elapsed, 1),
        "jvm_cpu_ms_per_call": round(1000 * cpu / max(calls, 1), 2),
        "errors": sum(errors),
    }


def probe(options: str, *, seconds: float, threads: int) -> dict:
    os.environ["DYNAMODB_LOCAL_JAVA_OPTS"] = options
    server = DynamoDBLocal(free_port(), log_name="probe-dynamodb-local")
    started = time.monotonic()
    server.spawn()
    while True:
        try:
            requests.get(server.url, timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.05)
    result = {"ready_s": round(time.monotonic() - started, 2)}
    try:
        client = _client(server.url)
        _setup(client)
        pid = server.process.pid
        for kind in KINDS:
            _drive(server.url, pid, kind, seconds=2, threads=threads)  # JIT warm-up
            result[kind] = _drive(server.url, pid, kind, seconds=seconds, threads=threads)
        result["rss_mb"] = round(rss_mb([pid]))
    finally:
        stop(server.process)
        os.environ.pop("DYNAMODB_LOCAL_JAVA_OPTS", None)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="option-set names to run (default: all)")
    args = parser.parse_args()
    names = [name for name in OPTION_SETS if not args.only or any(o in name for o in args.only)]
    runs: dict[str, list[dict]] = {name: [] for name in names}
    # Interleaved rounds: a load spike on the shared machine hits every option set, not just one.
    for _ in range(args.repeat):
        for name in names:
            runs[name].append(probe(OPTION_SETS[name], seconds=args.seconds, threads=args.threads))
            print(f"{name}: {runs[name][-1]}", flush=True)
    print(f"\nload average: {os.getloadavg()}; medians of {args.repeat} runs, {args.threads} threads")
    header = f"{'options':42} {'ready s':>7} {'RSS MB':>6}"
    for kind in KINDS:
        header += f" | {kind[:22]:>22} /s  cpu ms"
    print(header)
    summary = {}
    for name in names:
        med = {
            "ready_s": statistics.median(r["ready_s"] for r in runs[name]),
            "rss_mb": statistics.median(r["rss_mb"] for r in runs[name]),
        }
        line = f"{name:42} {med['ready_s']:>7} {med['rss_mb']:>6}"
        for kind in KINDS:
            rate = statistics.median(r[kind]["calls_per_s"] for r in runs[name])
            cpu = statistics.median(r[kind]["jvm_cpu_ms_per_call"] for r in runs[name])
            med[kind] = {"calls_per_s": rate, "jvm_cpu_ms_per_call": cpu}
            line += f" | {rate:>25.0f}  {cpu:6.2f}"
        summary[name] = {"options": OPTION_SETS[name], "median": med, "runs": runs[name]}
        print(line)
    out = ROOT / "tests" / "bench" / "results" / "dynamodb_local_probe.json"
    out.write_text(json.dumps({"cores": os.cpu_count(), "load": os.getloadavg(), "sets": summary}, indent=2))


if __name__ == "__main__":
    main()
