"""`POST /checkout` (202 + the PENDING order) and `GET /orders/{id}`."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.http import urlencode
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsSignedIn, request_is_staff
from cart.identity import CART_HEADER_NAME, cart_cookie_set, cart_id_for, cart_id_from_request
from cart.serializers import CART_ID_PARAMETER
from cloudcart.inputs import InputForm, validated
from cloudcart.money import parse_amount
from cloudcart.openapi import BODY_ERRORS, CSRF_FAILED, CURSOR_PARAMETER, LIMIT_PARAMETER, THROTTLED, errors
from cloudcart.pagination import page_size
from cloudcart.throttling import address_limit_check, write_limit
from orders.contact import PhoneField, ShippingAddressInput
from orders.errors import InvalidIdempotencyKey
from orders.permissions import CheckoutAllowed
from orders.selectors import order_get_for, order_get_for_owner, order_is_owner, orders_of_customer
from orders.serializers import IDEMPOTENCY_KEY_PARAMETER, ORDER_EXAMPLE, OrderSerializer, order_data
from orders.services import Contact, LineRequest, order_cancel, order_place

IDEMPOTENCY_HEADER = "Idempotency-Key"


@extend_schema_field(
    {
        "oneOf": [{"type": "string", "example": "399.98"}, {"type": "number", "example": 399.98}],
        "nullable": True,
        "description": "Optional: the total the client expects, checked against the server's.",
    }
)
class AmountField(serializers.Field):
    """A decimal string or JSON number with at most two decimals, as integer cents (never a float)."""

    def to_internal_value(self, data) -> int:
        try:
            return parse_amount(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def to_representation(self, value):  # pragma: no cover - input only
        return value


class CheckoutLineInput(serializers.Serializer):
    id = serializers.CharField(
        max_length=64,
        validators=[
            RegexValidator(r"^[A-Za-z0-9._-]+\Z", "A product id is letters, digits, '.', '_' or '-'.")
        ],
    )
    qty = serializers.IntegerField(min_value=1, max_value=settings.ORDER_MAX_LINE_QTY)


def _idempotency_key(request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        return None
    if not 1 <= len(key) <= settings.IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey()
    return key


_ORDER = OpenApiResponse(OrderSerializer, examples=[OpenApiExample("An order", value=ORDER_EXAMPLE)])
_LOCATION = OpenApiParameter(
    name="Location",
    type=str,
    location=OpenApiParameter.HEADER,
    response=[202],
    description="`/orders/{id}`: where to follow the order to CONFIRMED or REJECTED.",
)
_REPLAYED = OpenApiParameter(
    name="Idempotent-Replayed",
    type=str,
    location=OpenApiParameter.HEADER,
    response=[202],
    description="`true` when this is the stored first answer to the same Idempotency-Key and body.",
)


@extend_schema_view(
    post=extend_schema(
        operation_id="checkout",
        tags=["orders"],
        summary="Place an order from items or the caller's cart (202, processed asynchronously)",
        parameters=[IDEMPOTENCY_KEY_PARAMETER, CART_ID_PARAMETER, _LOCATION, _REPLAYED],
        examples=[
            OpenApiExample(
                "Two units of product 1",
                value={"items": [{"id": "1", "qty": 2}], "total": "399.98"},
                request_only=True,
            ),
            OpenApiExample("The caller's cart", value={}, request_only=True),
        ],
        responses={
            202: _ORDER,
            **BODY_ERRORS,
            400: errors(
                400,
                "invalid",
                "parse_error",
                "unknown_products",
                "cart_empty",
                "invalid_idempotency_key",
                "bad_request",
            ),
            **CSRF_FAILED,
            409: errors(409, "total_mismatch", "out_of_stock", "cart_checked_out"),
            422: errors(422, "idempotency_key_reused"),
            **THROTTLED,
        },
    )
)
class CheckoutView(InputForm, APIView):
    """Place an order from `items` (or, without `items`, from the caller's cart).

    `{"items": [{"id": "1", "qty": 2}], "total": "399.98"}`: `total` is optional and only
    checked. Answers 202 with `Location: /orders/{id}` and the order (status PENDING); the worker
    then CONFIRMS or REJECTS it. Send an `Idempotency-Key` header to retry safely: keys belong to
    the client (its cart id, or the signed-in customer); a client with neither gets a cart id
    with the answer (cookie and `X-Cart-Id`), derived from its address and key, so a retry that
    lost the answer gets the same id and the same order. Checkouts are
    limited per client (THROTTLE_RATES "checkout"), counted inside the order's own transaction;
    those of clients with no identity per address ("guest_checkout").
    """

    private_answers = True  # one client's answer: Cache-Control: private, no-store
    write_scope = "checkout"
    permission_classes = [CheckoutAllowed]

    class CheckoutInput(serializers.Serializer):
        items = serializers.ListField(
            child=CheckoutLineInput(),
            required=False,
            min_length=1,
            max_length=settings.ORDER_MAX_LINES,
        )
        total = AmountField(required=False, allow_null=True)
        # Where a guest's receipt goes (a signed-in customer's comes from the account); none: no e-mail.
        email = serializers.EmailField(required=False, allow_null=True, max_length=254)
        shipping_address = ShippingAddressInput(required=False, allow_null=True)
        phone = PhoneField(required=False, allow_null=True, help_text="E.164, e.g. +4915112345678.")
        sms_opt_in = serializers.BooleanField(
            required=False, default=False, help_text="Text the order's updates to `phone`."
        )

        def validate(self, data: dict) -> dict:
            if settings.SHIPPING_ADDRESS_REQUIRED and not data.get("shipping_address"):
                raise serializers.ValidationError(
                    {"shipping_address": ["This shop needs a shipping address."]}
                )
            if data.get("sms_opt_in") and not data.get("phone"):
                raise serializers.ValidationError({"phone": ["SMS updates need a phone number."]})
            return data

    input_serializer = CheckoutInput

    def post(self, request):
        key = _idempotency_key(request)
        data = validated(self.CheckoutInput, request.data)
        lines = None
        if "items" in data:
            lines = [LineRequest(product_id=line["id"], qty=line["qty"]) for line in data["items"]]
        # Every checkout has a client identity: a client without one gets a fresh cart id now (its
        # first checkout cannot have been counted yet, so there is no throttle count to bump).
        customer = request.user if request.user.is_authenticated else None
        known = cart_id_from_request(request) is not None
        if not known:
            # Nothing of its own to count on (a new client each time, as far as we can tell).
            address_limit_check(request=request, scope="guest_checkout")
        cart_id = cart_id_for(request, idempotency_key=key)
        placement = order_place(
            lines=lines,
            client_total_cents=data.get("total"),
            cart_id=cart_id,
            idempotency_key=key,
            idempotency_scope=cart_id,
            request_id=getattr(request._request, "request_id", None),
            # A customer's receipt goes to their account's address; a guest's to the one given.
            email=customer.email if customer else data.get("email"),
            customer_id=customer.id if customer else None,
            throttle=write_limit(scope=self.write_scope) if known else None,
            contact=Contact(
                shipping_address=dict(data["shipping_address"]) if data.get("shipping_address") else None,
                phone=data.get("phone"),
                sms_opt_in=bool(data.get("sms_opt_in")),
            ),
        )
        headers = {"Location": f"/orders/{placement.order_id}"}
        if placement.replayed:
            headers["Idempotent-Replayed"] = "true"
        response = Response(placement.body, status=placement.status_code, headers=headers)
        if not known:
            cart_cookie_set(response, cart_id)
            response[CART_HEADER_NAME] = cart_id
        return response


ORDER_ID_PARAMETER = OpenApiParameter(
    name="order_id",
    type={"type": "string", "pattern": "^[0-9a-f]{32}$"},
    location=OpenApiParameter.PATH,
    description="The id from checkout's `Location`.",
)


@extend_schema_view(
    get=extend_schema(
        operation_id="order_get",
        tags=["orders"],
        summary="An order: its status (PENDING, CONFIRMED, REJECTED), lines, total and history",
        parameters=[
            OpenApiParameter(
                name="order_id",
                type={"type": "string", "pattern": "^[0-9a-f]{32}$"},
                location=OpenApiParameter.PATH,
                description="The id from checkout's `Location`.",
            )
        ],
        responses={200: _ORDER, 404: errors(404, "order_not_found", "not_found")},
    )
)
class OrderDetailView(APIView):
    """One order: status PENDING, CONFIRMED or REJECTED (with `reason`), its lines and history."""

    private_answers = True  # one client's answer: Cache-Control: private, no-store

    def get(self, request, order_id: str):
        order = order_get_for(
            order_id=order_id, customer_id=request.user.id, is_staff=request_is_staff(request)
        )
        owner = order_is_owner(order, customer_id=request.user.id, cart_id=cart_id_from_request(request))
        return Response(order_data(order, owner=owner))


@extend_schema_view(
    get=extend_schema(
        operation_id="orders_list",
        tags=["orders"],
        summary="The signed-in customer's orders, newest first (cursor pages)",
        parameters=[LIMIT_PARAMETER, CURSOR_PARAMETER],
        responses={
            200: OpenApiResponse(
                inline_serializer(
                    name="OrderPage",
                    fields={
                        "results": OrderSerializer(many=True),
                        "next": serializers.URLField(
                            allow_null=True, help_text="The next page's URL; null on the last."
                        ),
                    },
                ),
                examples=[OpenApiExample("A page", value={"results": [ORDER_EXAMPLE], "next": None})],
            ),
            400: errors(400, "invalid", "invalid_cursor"),
            401: errors(401, "not_authenticated", "invalid_token", "token_expired"),
        },
    )
)
class OrderListView(APIView):
    """Your orders, newest first (`Authorization: Bearer <access token>`); follow `next` for more."""

    private_answers = True
    permission_classes = [IsSignedIn]

    def get(self, request):
        page = orders_of_customer(
            customer_id=request.user.id,
            limit=page_size(request.query_params.get("limit")),
            cursor=request.query_params.get("cursor"),
        )
        next_url = None
        if page.next_cursor:
            query = request.GET.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")
        results = [order_data(order, owner=True) for order in page.items]
        return Response({"results": results, "next": next_url})


@extend_schema_view(
    post=extend_schema(
        operation_id="order_cancel",
        tags=["orders"],
        summary="Cancel an order before its payment is captured (its owner, or staff)",
        request=None,
        parameters=[ORDER_ID_PARAMETER],
        responses={
            200: _ORDER,
            **CSRF_FAILED,
            404: errors(404, "order_not_found", "not_found"),
            409: errors(409, "order_not_cancellable"),
            503: errors(503, "service_unavailable"),
        },
    )
)
class OrderCancelView(APIView):
    """Cancel the order: while it awaits payment, or is PENDING with no stock taken yet. Its
    PaymentIntent is cancelled (the authorisation released, nothing charged). Only its owner
    (the customer, or the guest with its cart id) or staff; anyone else gets 404. Cancelling a
    cancelled order answers it again; later states are 409 `order_not_cancellable`."""

    private_answers = True

    def post(self, request, order_id: str):
        staff = request_is_staff(request)
        if staff:
            order_get_for(order_id=order_id, customer_id=request.user.id, is_staff=True)
        else:
            order_get_for_owner(
                order_id=order_id, customer_id=request.user.id, cart_id=cart_id_from_request(request)
            )
        order = order_cancel(order_id=order_id, actor="staff" if staff else "owner")
        return Response(order_data(order, owner=not staff))
