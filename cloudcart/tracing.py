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
line). Without either, nothing is recorded (sampler off) and only Celery is instrumented: a
light middleware (TraceIdsMiddleware) gives each request its trace context, so logs, the
`traceresponse` header and the messages' headers still carry the ids, at almost no cost.
"""

import importlib.util
import json
import logging
import threading

from django.conf import settings
from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

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
    _instrument(exporting=exporting)


def _instrument(*, exporting: bool) -> None:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    # Celery carries the context through SQS both ways (publish: inject; run: continue).
    CeleryInstrumentor().instrument()
    if not exporting:
        # Nothing is recorded: the ids are all that is needed, and the Django instrumentation's
        # unrecorded span still cost ~170 us a request (a quarter of a cached read's CPU).
        _middleware_insert("cloudcart.tracing.TraceIdsMiddleware")
        return

    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.propagators import (
        TraceResponsePropagator,
        set_global_response_propagator,
    )
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    # Django: a server span per request, and `traceresponse` on each answer.
    set_global_response_propagator(TraceResponsePropagator())
    DjangoInstrumentor().instrument(excluded_urls=settings.TRACING_EXCLUDED_URLS)
    # It puts its middleware first, where its URL check (build_absolute_uri) refuses a Host that
    # ALLOWED_HOSTS does not list: the load balancer's health check sends the task's IP. So it
    # goes after the health check's middleware (which answers /healthz before Host is checked),
    # and after ours that gives every answer its X-Request-ID.
    otel = next(name for name in settings.MIDDLEWARE if name.startswith("opentelemetry."))
    _middleware_insert(otel, after="cloudcart.health.HealthCheckMiddleware")
    # Every AWS call (boto3, PynamoDB and kombu build botocore clients); urllib3 under them is not
    # traced again. requests: Stripe's client (stripe-python picks requests when installed).
    BotocoreInstrumentor().instrument()
    if importlib.util.find_spec("requests") is not None:  # not a runtime requirement of its own
        RequestsInstrumentor().instrument()


def _middleware_insert(name: str, *, after: str = "cloudcart.middleware.RequestIdMiddleware") -> None:
    """`name` right after `after` (by default the request id middleware, so every answer has its
    X-Request-ID and every traced line its request id)."""
    middleware = [entry for entry in settings.MIDDLEWARE if entry != name]
    middleware.insert(middleware.index(after) + 1, name)
    settings.MIDDLEWARE = middleware


_propagator = TraceContextTextMapPropagator()
_ids = RandomIdGenerator()


class TraceIdsMiddleware:
    """When nothing is exported: the request's trace context, the caller's `traceparent` or new
    ids, made current without recording a span, so logs and published tasks carry its ids; the
    answer's `traceresponse` names them (as the Django instrumentation's does when exporting)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        header = request.META.get("HTTP_TRACEPARENT")
        parent = trace.get_current_span(_propagator.extract({"traceparent": header})) if header else None
        trace_id = parent.get_span_context().trace_id if parent and parent.get_span_context().is_valid else 0
        span_context = SpanContext(
            trace_id=trace_id or _ids.generate_trace_id(),
            span_id=_ids.generate_span_id(),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.DEFAULT),
        )
        token = context.attach(trace.set_span_in_context(NonRecordingSpan(span_context)))
        try:
            response = self.get_response(request)
        finally:
            context.detach(token)
        response["traceresponse"] = f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}-00"
        return response


def current_ids() -> tuple[str | None, str | None]:
    """The current trace and span ids as 32 and 16 lowercase hex digits; None outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return trace.format_trace_id(context.trace_id), trace.format_span_id(context.span_id)
