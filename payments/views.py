"""`POST /orders/{id}/payment` (the owner pays) and `POST /webhooks/stripe` (Stripe reports)."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cart.identity import cart_id_from_request
from cloudcart.inputs import InputForm, validated
from cloudcart.openapi import BODY_ERRORS, CSRF_FAILED, errors
from orders.selectors import order_get_for_owner
from orders.serializers import OrderSerializer, order_data
from orders.views import ORDER_ID_PARAMETER
from payments.services import order_pay
from payments.webhooks import webhook_handle

_ORDER = OpenApiResponse(OrderSerializer)


@extend_schema_view(
    post=extend_schema(
        operation_id="order_pay",
        tags=["payments"],
        summary="Pay for your order with a card (or re-check it after 3-D Secure)",
        parameters=[ORDER_ID_PARAMETER],
        examples=[
            OpenApiExample(
                "A card from Stripe.js", value={"payment_method": "pm_card_visa"}, request_only=True
            ),
            OpenApiExample("After 3-D Secure in the browser", value={}, request_only=True),
        ],
        responses={
            202: OpenApiResponse(OrderSerializer, description="Authorised: the order is PENDING."),
            200: OpenApiResponse(
                OrderSerializer, description="`payment.status` is `requires_action`: finish 3-D Secure."
            ),
            **BODY_ERRORS,
            400: errors(400, "invalid", "parse_error", "invalid_payment_method"),
            402: errors(402, "payment_declined"),
            **CSRF_FAILED,
            404: errors(404, "order_not_found", "not_found"),
            409: errors(409, "order_not_payable"),
            503: errors(503, "service_unavailable"),
        },
    )
)
class OrderPaymentView(InputForm, APIView):
    """Pay for an order AWAITING_PAYMENT: `{"payment_method": "pm_..."}` (from Stripe.js; a
    `card_...` from `createToken` too) sets the card on the order's PaymentIntent and confirms it;
    an empty body re-reads the intent (after `stripe.confirmCardPayment` in the browser).
    Authorised: 202 and the order, now PENDING. 3-D Secure needed: 200 with `payment.status =
    "requires_action"` and `payment.client_secret`. Declined: 402 `payment_declined` (another
    card may be tried). Only the order's owner; anyone else gets 404."""

    private_answers = True

    class PaymentInput(serializers.Serializer):
        payment_method = serializers.RegexField(
            r"^(pm|card)_[A-Za-z0-9_]{1,200}\Z",
            required=False,
            allow_null=True,
            help_text="A Stripe PaymentMethod id (`pm_...`) or a card id from Stripe.js (`card_...`).",
        )

    input_serializer = PaymentInput

    def post(self, request, order_id: str):
        data = validated(self.PaymentInput, request.data or {})
        order_get_for_owner(
            order_id=order_id, customer_id=request.user.id, cart_id=cart_id_from_request(request)
        )
        outcome = order_pay(order_id=order_id, payment_method=data.get("payment_method"))
        return Response(order_data(outcome.order, owner=True), status=outcome.status_code)


@extend_schema_view(
    post=extend_schema(
        operation_id="stripe_webhook",
        tags=["payments"],
        summary="Stripe's webhook: signed events about the orders' PaymentIntents",
        request={"application/json": {"type": "object", "description": "A Stripe event."}},
        responses={
            200: inline_serializer(name="WebhookAnswer", fields={"received": serializers.CharField()}),
            400: errors(400, "invalid_signature"),
            503: errors(503, "service_unavailable"),
        },
    )
)
class StripeWebhookView(APIView):
    """Stripe's events, verified on the raw body (`Stripe-Signature`: HMAC with the endpoint's
    secret, timestamp at most 5 minutes old). Each event id is handled once; unknown types and
    events for intents that are not ours answer 200 (logged) so Stripe stops resending them."""

    authentication_classes: list = []
    permission_classes: list = []  # Stripe is no browser: the signature is the credential

    def post(self, request):
        # The raw bytes, as signed: never the parsed body.
        outcome = webhook_handle(payload=request.body, signature=request.headers.get("Stripe-Signature"))
        return Response({"received": outcome})
