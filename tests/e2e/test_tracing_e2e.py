"""One trace per order through real processes: gunicorn, an orders worker and a notifier.

Each process writes its spans to one file (TRACES_FILE: the OpenTelemetry SDK's console exporter,
one JSON span per line), as an OTLP collector would receive them; the checkout's trace id comes
back in its `traceresponse` header. The trace must reach every process over SQS, and every log
line about the order must carry that trace id.
"""

import json
import time
import urllib.request

import pytest

from notifications.models import NotificationMarker
from tests.aws_env import free_port
from tests.notifications.support import markers, new_address
from tests.orders.support import wait_final
from tests.processes import CeleryProcess, Gunicorn

pytestmark = pytest.mark.slow

HEX = set("0123456789abcdef")


@pytest.fixture(scope="module")
def traced(tmp_path_factory, local_aws):
    spans_file = tmp_path_factory.mktemp("traces") / "spans.jsonl"
    env = {"TRACES_FILE": str(spans_file)}
    web = Gunicorn(free_port(), env={**env, "OTEL_SERVICE_NAME": "web"}, name="traced-web")
    worker = CeleryProcess(queues="orders", env={**env, "OTEL_SERVICE_NAME": "worker"}, name="traced-worker")
    notifier = CeleryProcess(
        queues="notifications", env={**env, "OTEL_SERVICE_NAME": "notifier"}, name="traced-notifier"
    )
    yield {"web": web, "worker": worker, "notifier": notifier, "spans": spans_file}
    notifier.stop()
    worker.stop()
    web.stop()


@pytest.fixture(scope="module")
def order(traced, local_aws):
    """One checkout with an e-mail address, CONFIRMED and all its notifications sent."""
    from catalog.services import product_build

    product = product_build(
        product_id=f"traced-{free_port()}", name="Traced", category="tracing", price_cents=700, stock=3
    )
    product.save()
    # urllib, not requests: this test process traces too (without recording), and its requests
    # instrumentation would hand the web an unsampled parent. A browser sends no traceparent.
    request = urllib.request.Request(
        f"{traced['web'].url}/checkout",
        data=json.dumps({"items": [{"id": product.id, "qty": 1}], "email": new_address()}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
        order_id = json.loads(response.read())["id"]
        traceresponse = response.headers["traceresponse"]
    assert wait_final([order_id], timeout=60)[order_id].status == "CONFIRMED"
    wanted = {"PENDING#sns", "CONFIRMED#sns", "CONFIRMED#email"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sent = {key for key, marker in markers(order_id).items() if marker.state == NotificationMarker.SENT}
        if wanted <= sent:
            break
        time.sleep(0.3)
    assert wanted <= sent, sent
    _version, trace_id, span_id, flags = traceresponse.split("-")
    assert int(flags, 16) & 1, "the checkout's trace is not sampled"
    return {"id": order_id, "trace_id": trace_id, "span_id": span_id}


def spans_of(path, trace_id: str) -> list[dict]:
    spans = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [span for span in spans if span["context"]["trace_id"] == f"0x{trace_id}"]


def log_lines(process, order_id: str) -> list[dict]:
    lines = []
    for line in process.log().splitlines():
        if order_id in line and line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_the_checkout_answer_names_its_trace(order):
    assert len(order["trace_id"]) == 32 and set(order["trace_id"]) <= HEX
    assert len(order["span_id"]) == 16 and set(order["span_id"]) <= HEX
    assert order["trace_id"] != "0" * 32


def notifier_run_under_worker(spans: list[dict]) -> bool:
    """A notify run whose parent is the worker's publish: the worker -> notifier hop."""
    publishes = {
        span["context"]["span_id"]
        for span in spans
        if span["resource"]["attributes"]["service.name"] == "worker"
        and span["name"].startswith("apply_async/")
    }
    return any(
        span["name"].startswith("run/notifications") and span["parent_id"] in publishes for span in spans
    )


def test_one_trace_spans_web_queue_worker_and_notifier(traced, order):
    # A task's run span ends (and is written) a moment after the work it did: wait for that one.
    deadline = time.monotonic() + 30
    spans = spans_of(traced["spans"], order["trace_id"])
    while not notifier_run_under_worker(spans) and time.monotonic() < deadline:
        time.sleep(0.2)
        spans = spans_of(traced["spans"], order["trace_id"])
    assert notifier_run_under_worker(spans)
    by_service: dict[str, list[dict]] = {}
    for span in spans:
        by_service.setdefault(span["resource"]["attributes"]["service.name"], []).append(span)
    assert set(by_service) == {"web", "worker", "notifier"}, sorted(by_service)

    names = {service: {span["name"] for span in found} for service, found in by_service.items()}
    calls = {
        service: {
            (span["attributes"].get("rpc.service"), span["attributes"].get("rpc.method")) for span in found
        }
        for service, found in by_service.items()
    }
    # The request, its DynamoDB transaction and both publishes (the order, its "placed" event).
    assert any(name.startswith("POST") and "checkout" in name for name in names["web"]), names["web"]
    assert "DynamoDB.TransactWriteItems" in names["web"]
    assert "apply_async/orders.tasks.process_order" in names["web"]
    assert "apply_async/notifications.tasks.notify_order" in names["web"]
    # The worker continues the web's trace: its run, its AWS calls, its own publish.
    assert "run/orders.tasks.process_order" in names["worker"]
    assert "DynamoDB.TransactWriteItems" in names["worker"]
    assert "apply_async/notifications.tasks.notify_order" in names["worker"]
    # The notifier: its notify runs, the SNS events and the SES e-mail.
    runs = [span for span in by_service["notifier"] if span["name"] == "run/notifications.tasks.notify_order"]
    assert ("SNS", "Publish") in calls["notifier"]
    assert ("SES", "SendEmail") in calls["notifier"]

    # Parent links hold across the queue: each task run's parent is a publish span of this trace.
    span_ids = {span["context"]["span_id"]: span for span in spans}
    for run in [*runs, *(s for s in by_service["worker"] if s["name"].startswith("run/"))]:
        parent = span_ids.get(run["parent_id"])
        assert parent is not None and parent["name"].startswith("apply_async/"), run["name"]


def test_the_orders_trace_id_is_in_the_worker_and_notifier_log_lines(traced, order):
    for name in ("worker", "notifier"):
        lines = log_lines(traced[name], order["id"])
        ours = [line for line in lines if line.get("event") in ("order_final", "notification_sent")]
        assert ours, f"no {name} line about the order"
        for line in ours:
            assert line["trace_id"] == order["trace_id"], line
            assert len(line["span_id"]) == 16 and set(line["span_id"]) <= HEX


def test_log_lines_carry_trace_and_span_ids_beside_the_request_id(traced, order):
    final = next(
        line for line in log_lines(traced["worker"], order["id"]) if line.get("event") == "order_final"
    )
    assert final["request_id"]
    assert {"trace_id", "span_id", "request_id"} <= set(final)


def test_the_load_balancers_health_check_passes_with_tracing_on(traced):
    """The ALB sends the task's IP as Host, which ALLOWED_HOSTS does not list: the Django
    instrumentation's URL check must not refuse it before the health check answers."""
    request = urllib.request.Request(f"{traced['web'].url}/healthz", headers={"Host": "10.0.2.117"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
