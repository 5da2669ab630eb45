"""The order domain's errors (their codes are listed in cloudcart.errors.ERROR_CODES)."""

from rest_framework import status

from cloudcart.errors import ApplicationError


class CartCheckedOut(ApplicationError):
    """The cart, as the request saw it, was already made into an order: here is that order."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "cart_checked_out"
    default_detail = "This cart was already checked out; see `order_id` and `Location`."

    def __init__(self, *, order_id: str) -> None:
        super().__init__(extra={"order_id": order_id})
        self.headers = {"Location": f"/orders/{order_id}"}
