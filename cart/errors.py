"""The cart's domain errors: a full cart, a line past its quantity limit, too few units in stock."""

from rest_framework import status

from cloudcart.errors import ApplicationError


class CartFull(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "cart_full"
    default_detail = "The cart already holds 50 lines; remove one first."


class OutOfStock(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "out_of_stock"
    default_detail = "Not enough units in stock."


class QtyLimit(ApplicationError):
    default_code = "qty_limit"
    default_detail = "A cart line holds at most 99 units."
