"""A notification pass whose read DynamoDB throttles sends nothing and is retried, reading again.

DynamoDB leaves a BatchGetItem's keys unprocessed when it throttles; the local servers never do,
so tests/fault_proxy.py answers so at the HTTP edge. The pass runs in a real `manage.py shell`
process whose DynamoDB endpoint is the proxy.
"""

import json
import os
import subprocess
import sys
import uuid

from orders.models import Order
from tests.fault_proxy import FaultProxy
from tests.processes import ROOT

PASS = """
import json
from notifications.services import NotifyRetryLater, order_notifications_send
try:
    print(json.dumps({{"sent": order_notifications_send(order_id={order_id!r})}}))
except NotifyRetryLater as exc:
    print(json.dumps({{"retry": str(exc)}}))
"""


def test_a_throttled_read_of_the_order_and_its_markers_is_a_retry_not_an_unknown_order():
    order_id = uuid.uuid4().hex
    endpoint = Order.Meta.host
    with FaultProxy(endpoint, mode="unprocessed") as proxy:
        env = {name: proxy.url if value == endpoint else value for name, value in os.environ.items()}
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", PASS.format(order_id=order_id)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"retry": f"order {order_id}: DynamoDB left keys of its read unprocessed"}
    # One read, nothing else: no other read stood in for it, nothing was claimed.
    assert [target.rpartition(".")[2] for target, _ in proxy.calls] == ["BatchGetItem"]
