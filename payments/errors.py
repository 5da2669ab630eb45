"""The payment errors (their codes are listed in cloudcart.errors.ERROR_CODES)."""

from rest_framework import status

from cloudcart.errors import ApplicationError, ServiceUnavailable


class PaymentDeclined(ApplicationError):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_code = "payment_declined"
    default_detail = "The card was declined."


class InvalidPaymentMethod(ApplicationError):
    default_code = "invalid_payment_method"
    default_detail = "No such payment method."


class OrderNotPayable(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "order_not_payable"
    default_detail = "This order is not awaiting payment."


class InvalidSignature(ApplicationError):
    default_code = "invalid_signature"
    default_detail = "The webhook's signature or timestamp is not valid."


class PaymentsUnavailable(ServiceUnavailable):
    """Stripe unreachable, timing out, or answering 5xx / 429: the client retries later."""

    default_detail = "Payments are unavailable right now; please retry shortly."


class OrderNotPaid(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "order_not_paid"
    default_detail = "This order has no captured payment to refund."


class RefundExceedsCaptured(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "refund_exceeds_captured"
    default_detail = "The refund is larger than what is left of the captured amount; see `refundable`."


class RestockNotAllowed(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "restock_not_allowed"
    default_detail = (
        "Units go back to stock once per order, with the refund of all that is left of the payment."
    )


class RefundInProgress(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "refund_in_progress"
    default_detail = "A refund with this Idempotency-Key is being made right now; retry shortly."

    def __init__(self, *, retry_after: int) -> None:
        super().__init__()
        self.headers = {"Retry-After": str(retry_after)}


class RefundRefused(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "refund_refused"
    default_detail = "Stripe refused the refund."


class IdempotencyKeyRequired(ApplicationError):
    default_code = "idempotency_key_required"
    default_detail = "This request needs an `Idempotency-Key` header (1 to 255 characters)."
