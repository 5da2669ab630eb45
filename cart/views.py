"""`/cart`: GET shows the caller's cart; POST adds to a line; PATCH sets a line; DELETE removes."""

from django.core.validators import RegexValidator
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cart.identity import cart_cookie_set, cart_id_for, cart_id_from_request
from cart.selectors import PricedCart, cart_get
from cart.serializers import (
    CART_EXAMPLE,
    CART_ID_PARAMETER,
    SET_COOKIE_HEADER,
    CartItemRemoveRequest,
    CartSerializer,
    cart_data,
)
from cart.services import (
    MAX_LINE_QTY,
    cart_clear,
    cart_item_add,
    cart_item_remove,
    cart_item_set,
)
from cloudcart.inputs import validated
from cloudcart.openapi import BODY_ERRORS, CSRF_FAILED, THROTTLED, errors
from cloudcart.throttling import write_limit

# The same ids the catalog's routes accept: anything else cannot be a product.
product_id_field = serializers.CharField(
    max_length=64,
    validators=[RegexValidator(r"^[A-Za-z0-9._-]+\Z", "A product id is letters, digits, '.', '_' or '-'.")],
)


_CART_OK = OpenApiResponse(CartSerializer, examples=[OpenApiExample("A cart", value=CART_EXAMPLE)])
_WRITE_ERRORS = {
    **BODY_ERRORS,
    400: errors(400, "invalid", "parse_error", "qty_limit"),
    **CSRF_FAILED,
    404: errors(404, "product_not_found"),
    409: errors(409, "out_of_stock", "cart_full"),
    **THROTTLED,
}


@extend_schema_view(
    get=extend_schema(
        operation_id="cart_get",
        tags=["cart"],
        summary="Show the caller's cart, priced from the current catalog",
        parameters=[CART_ID_PARAMETER],
        responses={200: _CART_OK},
    ),
    post=extend_schema(
        operation_id="cart_item_add",
        tags=["cart"],
        summary="Add units of a product to the cart",
        parameters=[CART_ID_PARAMETER, SET_COOKIE_HEADER],
        examples=[OpenApiExample("Add two", value={"id": "1", "qty": 2}, request_only=True)],
        responses={200: _CART_OK, **_WRITE_ERRORS},
    ),
    patch=extend_schema(
        operation_id="cart_item_set",
        tags=["cart"],
        summary="Set a line's quantity (0 removes the line)",
        parameters=[CART_ID_PARAMETER, SET_COOKIE_HEADER],
        examples=[OpenApiExample("Set to five", value={"id": "1", "qty": 5}, request_only=True)],
        responses={200: _CART_OK, **_WRITE_ERRORS},
    ),
    put=extend_schema(
        operation_id="cart_item_set_put",
        tags=["cart"],
        summary="Same as PATCH (gives the browsable API an HTML form for setting a line)",
        parameters=[CART_ID_PARAMETER, SET_COOKIE_HEADER],
        examples=[OpenApiExample("Set to five", value={"id": "1", "qty": 5}, request_only=True)],
        responses={200: _CART_OK, **_WRITE_ERRORS},
    ),
    delete=extend_schema(
        operation_id="cart_item_remove",
        tags=["cart"],
        summary="Remove a line (with a body) or empty the cart (no body)",
        parameters=[CART_ID_PARAMETER, SET_COOKIE_HEADER],
        request=CartItemRemoveRequest,
        examples=[OpenApiExample("Remove a line", value={"id": "1"}, request_only=True)],
        responses={200: _CART_OK, **BODY_ERRORS, **CSRF_FAILED, **THROTTLED},
    ),
)
class CartView(APIView):
    """The caller's cart, kept for 7 days after the last change.

    POST `{"id": "1", "qty": 2}` adds 2 units. PATCH `{"id": "1", "qty": 5}` sets the line to 5
    (0 removes it; PUT does the same, for the browser's form). DELETE `{"id": "1"}` removes the
    line; DELETE with no body empties the cart. The cart's id comes back in a `cart_id` cookie
    and is also accepted as header `X-Cart-Id`. Writes are limited per cart (THROTTLE_RATES
    "cart_write"), counted inside the write itself (cloudcart/throttling.py).
    """

    private_answers = True  # one client's answer: Cache-Control: private, no-store

    write_scope = "cart_write"

    class AddInput(serializers.Serializer):
        id = product_id_field
        qty = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QTY)

    class SetInput(serializers.Serializer):
        id = product_id_field
        qty = serializers.IntegerField(min_value=0, max_value=MAX_LINE_QTY, help_text="0 removes the line")

    class RemoveInput(serializers.Serializer):
        id = product_id_field

    def get_serializer(self, *args, **kwargs):
        """The input serializer of the current method: the browsable API builds its forms from it."""
        serializer_class = {"PATCH": self.SetInput, "PUT": self.SetInput, "DELETE": self.RemoveInput}.get(
            self.request.method, self.AddInput
        )
        kwargs.pop("instance", None)
        return serializer_class(*args, **kwargs)

    def _limit(self):
        return write_limit(scope=self.write_scope)

    def _answer(self, cart: PricedCart) -> Response:
        response = Response(cart_data(cart))
        if cart.id:
            cart_cookie_set(response, cart.id)
        return response

    def get(self, request):
        return Response(cart_data(cart_get(cart_id=cart_id_from_request(request))))

    def post(self, request):
        data = validated(self.AddInput, request.data)
        cart = cart_item_add(
            cart_id=cart_id_for(request), product_id=data["id"], qty=data["qty"], throttle=self._limit()
        )
        return self._answer(cart)

    def patch(self, request):
        data = validated(self.SetInput, request.data)
        cart = cart_item_set(
            cart_id=cart_id_for(request), product_id=data["id"], qty=data["qty"], throttle=self._limit()
        )
        return self._answer(cart)

    def put(self, request):
        """PUT is PATCH: it gives the browsable API an HTML form for setting a line."""
        return self.patch(request)

    def delete(self, request):
        cart_id = cart_id_from_request(request)
        if not request.body.strip():
            # No body: empty the whole cart (the browsable API's DELETE button does this).
            if cart_id:
                return self._answer(cart_clear(cart_id=cart_id, throttle=self._limit()))
            return self._answer(cart_get(cart_id=None))
        data = validated(self.RemoveInput, request.data)
        if cart_id is None:
            return self._answer(cart_get(cart_id=None))
        return self._answer(cart_item_remove(cart_id=cart_id, product_id=data["id"], throttle=self._limit()))
