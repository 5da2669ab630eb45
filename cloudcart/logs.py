"""Structured logging: the request id context, the JSON formats for web, worker and gunicorn."""

import contextvars
import hashlib
import logging
import re
import uuid

from gunicorn.glogging import Logger as GunicornLogger
from pythonjsonlogger.json import JsonFormatter

from cloudcart.tracing import current_ids

# The id of the request (or the task's originating request) this thread/task is working for.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
# Client-supplied ids are echoed into headers and logs: bound their length and charset.
# fullmatch: `$` would also match before a trailing newline ("abc\n" must not pass).
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

JSON_LOG_FORMAT = "%(levelname)s %(name)s %(message)s"
JSON_RENAMES = {"levelname": "level", "name": "logger"}


def request_id_from(value: str | None) -> str:
    """The client's id when it is sane, else a new one."""
    if value and _REQUEST_ID_RE.fullmatch(value):
        return value
    return uuid.uuid4().hex


def short_hash(value: str) -> str:
    """A stable, non-reversible tag for an identifier that must not appear in logs (cart ids)."""
    return hashlib.sha256(value.encode()).hexdigest()[:12]


class RequestIdFilter(logging.Filter):
    """Puts the current request id, trace id and span id on every record (None outside a request
    or task; a record that brings its own keeps them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            # django.request logs a failed request after the middleware is done: ask the request.
            request = getattr(record, "request", None)
            record.request_id = request_id_var.get() or getattr(request, "request_id", None)
        if not getattr(record, "trace_id", None):
            record.trace_id, record.span_id = current_ids()
        return True


def ids_from_traceresponse(value: str | None) -> tuple[str | None, str | None]:
    """(trace id, span id) from a `traceresponse: 00-<32 hex>-<16 hex>-<2 hex>` header."""
    parts = (value or "").split("-")
    if len(parts) == 4 and len(parts[1]) == 32 and len(parts[2]) == 16:
        return parts[1], parts[2]
    return None, None


def json_formatter() -> JsonFormatter:
    return JsonFormatter(JSON_LOG_FORMAT, rename_fields=JSON_RENAMES, timestamp="time")  # ISO 8601, UTC


class GunicornJSONLogger(GunicornLogger):
    """gunicorn's error and access logs as JSON lines; the access line carries the request id."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(json_formatter())
                handler.addFilter(RequestIdFilter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        headers = dict((name.lower(), value) for name, value in resp.headers)
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        self.access_log.info(
            "request",
            extra={
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "status": int(status),
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 2),
                "remote_addr": environ.get("REMOTE_ADDR"),
                "user_agent": environ.get("HTTP_USER_AGENT"),
                "request_id": headers.get(REQUEST_ID_HEADER.lower()),
                # The request's span (Django's middleware) has ended by now: its ids ride back here.
                **dict(
                    zip(
                        ("trace_id", "span_id"),
                        ids_from_traceresponse(headers.get("traceresponse")),
                        strict=True,
                    )
                ),
                # Present only with AWS_CALL_COUNTING (cloudcart.middleware.AwsCallCountMiddleware).
                "aws_calls": headers.get("x-aws-calls"),
            },
        )
