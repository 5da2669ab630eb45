"""OpenTelemetry: one trace per order, from the checkout request through SQS to the worker and the notifier.

Installed once per process (CloudCartConfig.ready(), before Django builds its middleware chain):
- Django's requests are server spans (opentelemetry-instrumentation-django); each answer carries
  `traceresponse: 00-<trace id>-<span id>-<flags>` (W3C Trace Context Level 2), which the
  gunicorn access line logs;
- a Celery publish injects the current context into the message's headers (kombu's SQS transport
  carries them inside the message body) and the consuming worker continues it: checkout ->
  `process_order` -> `notify_order` is one trace, with every botocore call (DynamoDB, SQS, SNS,
  SES, CloudWatch) and every `requests` call (Stripe's client, the JWKS) as a child span;
- every log line gets `trace_id` and `span_id` (cloudcart.logs.RequestIdFilter).

Spans leave the process only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (OTLP over HTTP; on AWS the
ADOT collector beside each task sends them to X-Ray; the SDK's own OTEL_* variables, such as
OTEL_TRACES_SAMPLER, apply) or, for tests and local debugging, `TRACES_FILE` (one JSON span per
line). Without either, spans are not recorded (sampler off) but still have ids, so logs and the
propagated context carry them at almost no cost.
"""

import importlib.util
import json
import logging
import threading

from django.conf import settings
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

logger = logging.getLogger(__name__)

_installed = False
_lock = threading.Lock()


def _span_line(span) -> str:
    """One span as one compact JSON line (the SDK's ConsoleSpanExporter writes it indented)."""
    return json.dumps(json.loads(span.to_json()), separators=(",", ":")) + "\n"


def tracing_install() -> None:
    """Idempotent: the tracer provider, its exporters and the instrumentations of this process."""
    global _installed
    with _lock:
        if _installed or not settings.TRACING_ENABLED:
            return
        _installed = True
    exporting = bool(settings.OTEL_EXPORTER_OTLP_ENDPOINT or settings.TRACES_FILE)
    resource = Resource.create({"service.name": settings.OTEL_SERVICE_NAME})
    # Not exporting: ids for logs and propagation only. A parent's "sampled" flag cannot turn
    # recording on either (ParentBased(ALWAYS_OFF) would follow a sampled parent; ALWAYS_OFF never records).
    provider = (
        TracerProvider(resource=resource)
        if exporting
        else TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    )
    if settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Endpoint, headers, timeouts: the exporter reads the standard OTEL_EXPORTER_OTLP_* variables.
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if settings.TRACES_FILE:
        spans_file = open(settings.TRACES_FILE, "a", buffering=1)  # noqa: SIM115 - the process's life
        provider.add_span_processor(
            SimpleSpanProcessor(ConsoleSpanExporter(out=spans_file, formatter=_span_line))
        )
    trace.set_tracer_provider(provider)
    _instrument()


def _instrument() -> None:
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.propagators import (
        TraceResponsePropagator,
        set_global_response_propagator,
    )
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    # Django: a server span per request, and `traceresponse` on each answer.
    set_global_response_propagator(TraceResponsePropagator())
    DjangoInstrumentor().instrument(excluded_urls=settings.TRACING_EXCLUDED_URLS)
    # It puts its middleware first; ours that gives every answer (a 400 for a bad Host header
    # too, which the instrumentation's own URL check raises) its X-Request-ID goes before it.
    middleware = list(settings.MIDDLEWARE)
    otel = next(name for name in middleware if name.startswith("opentelemetry."))
    middleware.remove(otel)
    middleware.insert(middleware.index("cloudcart.middleware.RequestIdMiddleware") + 1, otel)
    settings.MIDDLEWARE = middleware
    CeleryInstrumentor().instrument()
    # Every AWS call (boto3, PynamoDB and kombu build botocore clients); urllib3 under them is not
    # traced again. requests: Stripe's client (stripe-python picks requests when installed).
    BotocoreInstrumentor().instrument()
    if importlib.util.find_spec("requests") is not None:  # not a runtime requirement of its own
        RequestsInstrumentor().instrument()


def current_ids() -> tuple[str | None, str | None]:
    """The current trace and span ids as 32 and 16 lowercase hex digits; None outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)
