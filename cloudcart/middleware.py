"""Request-wide middleware: the request id, private answers, and the body size limit (also for
chunked bodies)."""

import io
import logging
import re

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import JsonResponse

from cloudcart.aws import aws_call_origin, aws_calls_counted
from cloudcart.errors import RequestTooLarge, error_body
from cloudcart.logs import REQUEST_ID_HEADER, request_id_from, request_id_var

logger = logging.getLogger(__name__)


class RequestIdMiddleware:
    """Takes `X-Request-ID` from the client (if sane) or makes one; logs and the response carry it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


AWS_CALLS_HEADER = "X-AWS-Calls"


class AwsCallCountMiddleware:
    """With AWS_CALL_COUNTING: answer the AWS calls this request made (`X-AWS-Calls: dynamodb=2`).

    For benchmarks and tests that pin a write path's round trips; the access log carries it too.
    """

    def __init__(self, get_response):
        if not settings.AWS_CALL_COUNTING:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        with aws_calls_counted() as calls:
            response = self.get_response(request)
        response[AWS_CALLS_HEADER] = calls.header_value()
        return response


# A path segment kept as it is in the call log (`refunds`, `stock`); any other (an id) becomes `*`.
_ROUTE_WORD = re.compile(r"[a-z][a-z_-]{0,19}")


class AwsCallOriginMiddleware:
    """With AWS_CALL_LOG: the AWS calls a request makes are logged as `request <METHOD> <path>`,
    ids in the path as `*` (`/orders/*/refunds`): what the load balancer's rules match on."""

    def __init__(self, get_response):
        if not settings.AWS_CALL_LOG:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        segments = request.path.strip("/").split("/")
        path = "/" + "/".join(s if _ROUTE_WORD.fullmatch(s) else "*" for s in segments if s)
        with aws_call_origin(f"request {request.method} {path}"):
            return self.get_response(request)


PRIVATE_CACHE_CONTROL = "private, no-store"


def private_answers(view):
    """Mark a view (class or function) whose answers belong to one client: see PrivateAnswersMiddleware."""
    view.private_answers = True
    return view


class PrivateAnswersMiddleware:
    """`Cache-Control: private, no-store` on every answer that belongs to one client, errors included.

    Which answers: those of views marked `private_answers = True` (a class attribute, or the
    `@private_answers` decorator: the cart, checkout, orders, the caller's account), and any answer
    to a request with credentials (`Authorization`), whatever the view: a staff or customer answer
    must never be kept by a CDN, a proxy or the browser's disk cache.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(request, "private_answers", False) or "HTTP_AUTHORIZATION" in request.META:
            response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        # DRF's as_view() keeps the class as `cls` (Django's as `view_class`).
        view = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None) or view_func
        request.private_answers = bool(getattr(view, "private_answers", False))


# Read and drop at most this much of a refused body before answering: gunicorn closes a
# connection with unread input, and a client still sending then gets a TCP reset that can
# swallow the 413 (seen with a 2 MB body: "Remote end closed connection without response").
DRAIN_MAX_BYTES = 16 * 1024 * 1024


def _drain(request) -> None:
    remaining = DRAIN_MAX_BYTES
    while remaining > 0 and (chunk := request.read(min(remaining, 64 * 1024))):
        remaining -= len(chunk)


class BodySizeLimitMiddleware:
    """A body declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE gets 413 before anything reads it.

    Django enforces that setting only for form data; DRF's JSON parser reads the stream directly.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            logger.info("Refused a body of %s bytes", length)
            _drain(request)
            exc = RequestTooLarge()
            return JsonResponse(error_body(exc.default_code, exc.detail), status=exc.status_code)
        return self.get_response(request)


class ChunkedBodyLimit:
    """WSGI wrapper: buffers a chunked body (no Content-Length) up to the limit and declares its length.

    Django reads exactly CONTENT_LENGTH bytes, so without this a chunked body would look empty. A
    body over the limit is declared as limit + 1 bytes, so BodySizeLimitMiddleware answers 413.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH"):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            body = environ["wsgi.input"].read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)
