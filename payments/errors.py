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
