"""Staff-only payment endpoints: refunding an order's captured payment."""

from django.conf import settings
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

from accounts.permissions import IsStaff
from cloudcart.inputs import InputForm, validated
from cloudcart.money import format_cents, parse_amount
from cloudcart.openapi import BODY_ERRORS, STAFF_ONLY, errors
from orders.errors import InvalidIdempotencyKey
from orders.serializers import OrderSerializer, order_data
from payments.errors import IdempotencyKeyRequired
from payments.refunds import Refund, order_refund

IDEMPOTENCY_HEADER = "Idempotency-Key"


@extend_schema_field({"type": "string", "example": "5.00", "nullable": True})
class RefundAmountField(serializers.Field):
    """A decimal string ("5.00") of at most two decimals, above zero, as integer cents."""

    def to_representation(self, value):  # pragma: no cover - input only
        return value

    def to_internal_value(self, data) -> int:
        if not isinstance(data, str) or len(data) > 20:
            raise serializers.ValidationError('An amount is a decimal string, e.g. "5.00".')
        try:
            cents = parse_amount(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc
        if cents <= 0:
            raise serializers.ValidationError("A refund is more than 0.00.")
        return cents


def refund_data(refund: Refund) -> dict:
    return {
        "id": refund.refund_id,
        "amount": format_cents(refund.amount_cents),
        "currency": refund.currency,
        "restock": refund.restock,
        "reason": refund.reason,
        "created_at": refund.created_at.isoformat().replace("+00:00", "Z"),
    }


def _idempotency_key(request) -> str:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is None:
        raise IdempotencyKeyRequired()
    if not 1 <= len(key) <= settings.IDEMPOTENCY_KEY_MAX_LENGTH or not key.isprintable():
        raise InvalidIdempotencyKey()
    return key


_REFUND_EXAMPLE = {
    "id": "re_1QbC2d3E4f5G6h7I",
    "amount": "5.00",
    "currency": "USD",
    "restock": False,
    "reason": "Scratched on arrival",
    "created_at": "2026-12-02T14:18:25.079571Z",
}


@extend_schema_view(
    post=extend_schema(
        operation_id="order_refund",
        tags=["staff"],
        summary="Refund an order's payment, in part or in full, once per Idempotency-Key (staff)",
        parameters=[
            OpenApiParameter(
                name="order_id",
                type={"type": "string", "pattern": "^[0-9a-f]{32}$"},
                location=OpenApiParameter.PATH,
            ),
            OpenApiParameter(
                name=IDEMPOTENCY_HEADER,
                type=str,
                location=OpenApiParameter.HEADER,
                required=True,
                description="A unique key per intended refund (e.g. a UUID). The same key again "
                "answers with the same refund; with another body it is a 422.",
            ),
        ],
        examples=[
            OpenApiExample(
                "Five dollars back", value={"amount": "5.00", "reason": "Scratched"}, request_only=True
            ),
            OpenApiExample("All of it, units back in stock", value={"restock": True}, request_only=True),
        ],
        responses={
            201: OpenApiResponse(
                inline_serializer(
                    name="OrderRefundAnswer",
                    fields={
                        "refund": inline_serializer(
                            name="OrderRefundMade",
                            fields={
                                "id": serializers.CharField(help_text="Stripe's refund id (re_...)."),
                                "amount": serializers.CharField(),
                                "currency": serializers.CharField(),
                                "restock": serializers.BooleanField(),
                                "reason": serializers.CharField(allow_null=True),
                                "created_at": serializers.DateTimeField(),
                            },
                        ),
                        "order": OrderSerializer(),
                    },
                ),
                examples=[OpenApiExample("A partial refund", value={"refund": _REFUND_EXAMPLE})],
            ),
            **BODY_ERRORS,
            400: errors(
                400,
                "invalid",
                "parse_error",
                "bad_request",
                "idempotency_key_required",
                "invalid_idempotency_key",
            ),
            **STAFF_ONLY,
            404: errors(404, "order_not_found", "not_found"),
            409: errors(
                409,
                "order_not_paid",
                "refund_exceeds_captured",
                "restock_not_allowed",
                "refund_in_progress",
                "refund_refused",
            ),
            422: errors(422, "idempotency_key_reused"),
            503: errors(503, "service_unavailable"),
        },
    )
)
class OrderRefundView(InputForm, APIView):
    """Refund a CONFIRMED (or PARTIALLY_REFUNDED) order's captured payment (staff only).

    `{"amount": "5.00", "restock": false, "reason": "..."}`, all optional: no `amount` refunds
    all that is left. Never more than was captured, whatever runs at once (409
    `refund_exceeds_captured`, with `refundable`). `restock: true` puts every line's units back in
    stock, once per order, and only with the refund of all that is left (409 `restock_not_allowed`
    otherwise). `Idempotency-Key` is required: the same key again answers with the same refund
    (`Idempotent-Replayed: true`). The order becomes PARTIALLY_REFUNDED or REFUNDED.
    """

    private_answers = True
    permission_classes = [IsStaff]

    class RefundInput(serializers.Serializer):
        amount = RefundAmountField(
            required=False, allow_null=True, help_text="Decimal string; none: all that is left."
        )
        restock = serializers.BooleanField(required=False, default=False)
        reason = serializers.CharField(required=False, allow_null=True, max_length=500)

    input_serializer = RefundInput

    def post(self, request, order_id: str):
        key = _idempotency_key(request)
        data = validated(self.RefundInput, request.data)
        refund = order_refund(
            order_id=order_id,
            amount_cents=data.get("amount"),
            restock=data["restock"],
            reason=data.get("reason") or None,
            idempotency_key=key,
            actor=request.user.id,
        )
        headers = {"Location": f"/orders/{order_id}"}
        if refund.replayed:
            headers["Idempotent-Replayed"] = "true"
        body = {"refund": refund_data(refund), "order": order_data(refund.order)}
        return Response(body, status=201, headers=headers)
