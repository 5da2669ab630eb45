"""The order domain's errors (their codes are listed in cloudcart.errors.ERROR_CODES)."""

from rest_framework import status

from cloudcart.errors import ApplicationError


class TotalMismatch(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "total_mismatch"
    default_detail = "The total does not match the catalog prices."


class UnknownProducts(ApplicationError):
    default_code = "unknown_products"
    default_detail = "Some products do not exist."


class CartEmpty(ApplicationError):
    default_code = "cart_empty"
    default_detail = "The cart is empty: add items, or send them as `items`."


class InvalidIdempotencyKey(ApplicationError):
    default_code = "invalid_idempotency_key"
    default_detail = "An Idempotency-Key has 1 to 255 characters."


class IdempotencyKeyReused(ApplicationError):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


class OrderNotFound(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "order_not_found"
    default_detail = "No order with this id."


class CartCheckedOut(ApplicationError):
    """The cart, as the request saw it, was already made into an order: here is that order."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "cart_checked_out"
    default_detail = "This cart was already checked out; see `order_id` and `Location`."

    def __init__(self, *, order_id: str) -> None:
        super().__init__(extra={"order_id": order_id})
        self.headers = {"Location": f"/orders/{order_id}"}


class OrderNotCancellable(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "order_not_cancellable"
    default_detail = "This order can no longer be cancelled (its stock is taken or it is final)."
