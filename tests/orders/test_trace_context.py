"""Trace context without an exporter (the default): ids on answers, in log lines and in the order's
SQS message, continued from a caller's traceparent, at the cost of a few microseconds."""

import base64
import json
import logging

from cloudcart.logs import RequestIdFilter
from cloudcart.tracing import current_ids

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER = f"00-{CALLER_TRACE}-b7ad6b7169203331-01"


def test_an_answer_names_a_new_trace_when_the_caller_sent_none(api, make_product):
    product = make_product()
    first = api.get(f"/products/{product.id}")["traceresponse"].split("-")
    second = api.get(f"/products/{product.id}")["traceresponse"].split("-")
    assert len(first[1]) == 32 and len(first[2]) == 16 and int(first[1], 16)
    assert first[1] != second[1], "each request is its own trace"


def test_a_callers_traceparent_is_continued(api, make_product):
    product = make_product()
    answer = api.get(f"/products/{product.id}", HTTP_TRACEPARENT=CALLER)["traceresponse"]
    _version, trace_id, span_id, _flags = answer.split("-")
    assert trace_id == CALLER_TRACE
    assert span_id != "b7ad6b7169203331", "the request is a span of its own under the caller's"


def test_the_orders_message_carries_the_checkouts_trace(api, make_product, orders_queue):
    product = make_product(stock=5)
    response = api.post(
        "/checkout", {"items": [{"id": product.id, "qty": 1}]}, format="json", HTTP_TRACEPARENT=CALLER
    )
    assert response.status_code == 202, response.json()
    (message,) = orders_queue.sqs.receive_message(QueueUrl=orders_queue.url, MaxNumberOfMessages=10)[
        "Messages"
    ]
    headers = json.loads(base64.b64decode(message["Body"]))["headers"]
    assert headers["traceparent"].split("-")[1] == CALLER_TRACE


def test_log_records_carry_the_current_trace_and_span_ids():
    from opentelemetry import context, trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    span = NonRecordingSpan(
        SpanContext(int(CALLER_TRACE, 16), 0x1234, is_remote=False, trace_flags=TraceFlags(0))
    )
    token = context.attach(trace.set_span_in_context(span))
    try:
        record = logging.LogRecord("t", logging.INFO, __file__, 1, "inside", None, None)
        RequestIdFilter().filter(record)
        assert current_ids() == (CALLER_TRACE, "0000000000001234")
    finally:
        context.detach(token)
    assert (record.trace_id, record.span_id) == (CALLER_TRACE, "0000000000001234")
    outside = logging.LogRecord("t", logging.INFO, __file__, 1, "outside", None, None)
    RequestIdFilter().filter(outside)
    assert (outside.trace_id, outside.span_id) == (None, None)
