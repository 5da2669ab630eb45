"""Every error CloudCart answers with: the stable codes, the shared errors, and the one handler.

Each error body is JSON `{"code": ..., "detail": ...}`, plus `"errors"` for field errors and any
extra facts a client needs (e.g. the server's total). Codes are part of the API contract: add new
ones, never rename old ones. Each app declares its domain errors in its own `errors.py`.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from cloudcart.aws import is_transient_aws_error

logger = logging.getLogger(__name__)

# Stable error codes and what they mean, for docs/api.md and for clients.
ERROR_CODES = {
    "invalid": "A field is missing or has a bad value; see `errors`.",
    "parse_error": "The body is not valid JSON (or not valid for its content type).",
    "bad_request": "The request is malformed.",
    "invalid_cursor": "The pagination cursor is tampered with, expired or from another listing.",
    "not_found": "No such resource or path.",
    "product_not_found": "The product does not exist.",
    "method_not_allowed": "This path does not support the HTTP method.",
    "not_acceptable": "None of the media types in `Accept` can be served.",
    "request_too_large": "The body is larger than the server accepts.",
    "unsupported_media_type": "The body's content type is not accepted.",
    "permission_denied": "The request was refused.",
    "throttled": "Too many requests; retry after `Retry-After` seconds.",
    "service_unavailable": "DynamoDB or SQS is unreachable or throttling; retry after `Retry-After`.",
    "internal_error": "An unexpected error; it has been logged.",
    # Operability
    "csrf_failed": "A browser write without a valid CSRF token or from another site; reload the page.",
    # Cart
    "cart_full": "The cart already holds the most lines it may (50).",
    "out_of_stock": "More units than the product has in stock.",
    "qty_limit": "A cart line holds 1 to 99 units; this would go past that.",
    # Checkout and orders
    "total_mismatch": "The client's `total` differs from the server's; the body has the server's `total`.",
    "unknown_products": "Some checkout lines name products that do not exist; see `products`.",
    "cart_empty": "Checkout without `items` uses the caller's cart, and it is empty.",
    "invalid_idempotency_key": "The `Idempotency-Key` header is empty or longer than 255 characters.",
    "idempotency_key_reused": "This `Idempotency-Key` was used with a different request body.",
    "order_not_found": "No order with this id.",
    "cart_checked_out": "The cart was already checked out; `order_id` and `Location` name its order.",
    "order_not_cancellable": "The order's stock is taken (or it is final): it can no longer be cancelled.",
    # Payments
    "payment_declined": "The card was declined (`detail` has Stripe's message); try another card.",
    "invalid_payment_method": "The payment method does not exist (or cannot pay this order).",
    "order_not_payable": "The order is not awaiting payment (paid already, cancelled or expired).",
    "invalid_signature": "The webhook's Stripe-Signature or its timestamp is not valid.",
    # Refunds (staff)
    "idempotency_key_required": "This request needs an `Idempotency-Key` header (a refund: one per refund).",
    "order_not_paid": "The order has no captured payment (not CONFIRMED or PARTIALLY_REFUNDED).",
    "refund_exceeds_captured": "More than is left of the captured amount; the body has `refundable`.",
    "restock_not_allowed": "Units go back to stock once per order, with the refund of all that is left.",
    "refund_in_progress": "A refund with this `Idempotency-Key` is being made; retry after `Retry-After`.",
    "refund_refused": "Stripe refused the refund (`detail` has its message); nothing was refunded.",
    # Staff catalog writes and product images
    "precondition_failed": "`If-Match` names an old version; the body has the current `version`.",
    "precondition_required": 'A product edit needs `If-Match: "<version>"` (or `version` in a form).',
    "stock_below_zero": "The stock change would go below zero; the body has the current `stock`.",
    "stock_changed": "The stock moved since the count of a `set` (`expected`); the body has the stock.",
    "product_exists": "A product with this id already exists.",
    "upload_key_invalid": "The image key is not under `products/{id}/` for this product.",
    "upload_not_found": "No uploaded object with this key (upload it with the signed form first).",
    "upload_type_not_allowed": "The uploaded object is not image/jpeg, image/png or image/webp.",
    "upload_too_large": "The uploaded object is larger than the image size limit.",
    "upload_content_mismatch": "The uploaded object's first bytes are not the image type it claims.",
    # Accounts (Cognito sign-in)
    "not_authenticated": (
        "No credentials came and this needs a signed-in caller: send `Authorization: Bearer "
        "<access token>` (from `POST /auth/login`), or sign in at `/auth/login` in a browser."
    ),
    "invalid_token": "The access token is malformed, forged, revoked or not for this app.",
    "token_expired": "The access token has expired; refresh it (`POST /auth/refresh`) or sign in again.",
    "invalid_credentials": "Incorrect e-mail or password.",
    "invalid_refresh_token": "The refresh token is invalid, expired or revoked; sign in again.",
    "weak_password": "The password does not meet the pool's password policy.",
    "not_confirmed": "The account is not confirmed yet: `POST /auth/confirm` with the e-mailed code.",
    "code_mismatch": "The confirmation code is wrong or expired, or the account needs no confirmation.",
    "sign_in_challenge": "The account needs a sign-in step this API does not offer (MFA, a new password).",
}


class ApplicationError(exceptions.APIException):
    """A domain error: declares its status, code and detail once. `extra` adds facts to the body."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "bad_request"
    default_detail = "The request is malformed."

    def __init__(self, detail: str | None = None, *, extra: dict | None = None) -> None:
        super().__init__(detail=detail, code=self.default_code)
        self.extra = extra or {}


class InvalidCursor(ApplicationError):
    default_code = "invalid_cursor"
    default_detail = "The cursor is invalid; start again from the first page."


class RequestTooLarge(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"
    default_detail = "The request body is too large."


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "service_unavailable"
    default_detail = "A backing service is unavailable; please retry shortly."


# --- Operability ---
class CsrfFailed(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "csrf_failed"
    default_detail = "CSRF check failed."


def _retry_after() -> str:
    from django.conf import settings

    return str(settings.RETRY_AFTER_SECONDS)


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    """Map Django and AWS exceptions onto API exceptions; None for a real bug."""
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, RequestDataTooBig):
        return RequestTooLarge()
    if isinstance(exc, SuspiciousOperation):
        return ApplicationError()
    if isinstance(exc, PermissionDenied):
        return exceptions.PermissionDenied()
    if is_transient_aws_error(exc):
        logger.warning("AWS unavailable: %s", exc)
        return ServiceUnavailable()
    return None


def error_body(code: str, detail, **extra) -> dict:
    return {"code": code, "detail": str(detail), **extra}


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's exception handler: every error becomes `{"code", "detail"}` with the right status."""
    api_exc = _as_api_exception(exc)
    if api_exc is None:
        logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
        return Response(
            error_body("internal_error", "An unexpected error occurred."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    headers = {}
    if isinstance(api_exc, exceptions.Throttled) and api_exc.wait:
        headers["Retry-After"] = str(int(api_exc.wait) + 1)
    if api_exc.status_code == status.HTTP_503_SERVICE_UNAVAILABLE:
        headers["Retry-After"] = _retry_after()
    # A domain error may name a resource (e.g. the order a cart became: `Location`).
    headers.update(getattr(api_exc, "headers", None) or {})
    if getattr(api_exc, "auth_header", None):
        headers["WWW-Authenticate"] = api_exc.auth_header

    if isinstance(api_exc, exceptions.ValidationError):
        body = error_body("invalid", "Invalid input.", errors=api_exc.detail)
    else:
        detail = api_exc.detail
        code = api_exc.get_codes() if isinstance(detail, str) else api_exc.default_code
        body = error_body(code, detail, **getattr(api_exc, "extra", {}))
    return Response(body, status=api_exc.status_code, headers=headers)


# Django-level handlers, for errors raised outside DRF views (unknown paths, bad Host, ...).
def _json_error(status_code: int, code: str, detail: str) -> JsonResponse:
    # Compact, as DRF's renderer writes every other answer.
    return JsonResponse(
        error_body(code, detail), status=status_code, json_dumps_params={"separators": (",", ":")}
    )


def handler400(request, exception=None):
    return _json_error(400, "bad_request", "The request is malformed.")


def handler403(request, exception=None):
    return _json_error(403, "permission_denied", "The request was refused.")


def csrf_failure(request, reason: str = ""):
    """Django's CSRF refusal (a plain Django view, e.g. `PUT /healthz`): JSON, not its HTML page."""
    return _json_error(403, "csrf_failed", f"CSRF check failed: {reason}" if reason else "CSRF check failed.")


def handler404(request, exception=None):
    return _json_error(404, "not_found", "No such resource or path.")


def handler500(request):
    return _json_error(500, "internal_error", "An unexpected error occurred.")
