"""OpenAPI documentation pieces shared by every view: error bodies, headers and common responses.

Views describe their own input/output with `extend_schema`; `postprocess_common` then adds what every
operation shares (the `X-Request-ID` header, 503 + Retry-After), so no operation can forget them.
"""

import copy

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from cloudcart.errors import ERROR_CODES


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's schema, plus optional request bodies on DELETE (`DELETE /cart {"id"}`)."""

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        # spectacular documents bodies for PUT/PATCH/POST only; DELETE /cart takes an optional one.
        self.method = "PATCH"
        try:
            body = super()._get_request_body(direction)
        finally:
            self.method = "DELETE"
        if body:
            body["required"] = False
        return body


# --- Bodies ------------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error CloudCart answers with."""

    code = serializers.ChoiceField(choices=sorted(ERROR_CODES), help_text="A stable error code.")
    detail = serializers.CharField(help_text="A human-readable explanation.")
    errors = serializers.DictField(
        required=False,
        child=serializers.JSONField(),
        help_text="Field errors (code `invalid`): field name to a list of messages.",
    )


class ProductSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    name = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    price = serializers.RegexField(r"^\d+\.\d{2}$", help_text="Decimal string, e.g. `199.99`.")
    currency = serializers.CharField(min_length=3, max_length=3)
    stock = serializers.IntegerField(min_value=0)
    image_key = serializers.CharField(allow_null=True, help_text="The image's S3 key (products/{id}/...).")
    image_url = serializers.URLField(allow_null=True, help_text="Where the image is served, or null.")
    version = serializers.IntegerField(
        min_value=1, help_text="Bumped by every staff edit; also the `ETag` of staff answers (`If-Match`)."
    )
    archived = serializers.BooleanField(help_text="Archived products are shown to staff only.")
    updated_at = serializers.DateTimeField()


ProductPageSerializer = inline_serializer(
    name="ProductPage",
    fields={
        "results": ProductSerializer(many=True),
        "next": serializers.URLField(allow_null=True, help_text="The next page's URL; null on the last."),
    },
)

PRODUCT_EXAMPLE = {
    "id": "1",
    "name": "Trail running shoes",
    "category": "shoes",
    "description": "Light shoes with a grippy sole.",
    "price": "199.99",
    "currency": "USD",
    "stock": 42,
    "image_key": None,
    "image_url": None,
    "version": 1,
    "archived": False,
    "updated_at": "2026-11-27T12:00:00Z",
}

# --- Headers and parameters --------------------------------------------------------------------

REQUEST_ID_PARAMETER = OpenApiParameter(
    name="X-Request-ID",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Your id for this request, echoed back and put on every log line. An id that is "
    "missing, longer than 128 characters or outside `A-Za-z0-9._:-` is replaced by a new one.",
)
CART_ID_PARAMETER = OpenApiParameter(
    name="X-Cart-Id",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Your cart id, as returned by the first cart write (also set as the `cart_id` "
    "cookie). Header clients are not subject to CSRF checks.",
)
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="A unique key per intended order (e.g. a UUID). Repeating the request with the "
    "same key and body replays the first answer; the same key with another body is a 422.",
)
LIMIT_PARAMETER = OpenApiParameter(
    name="limit",
    type={"type": "integer", "minimum": 1, "maximum": 100},
    location=OpenApiParameter.QUERY,
    required=False,
    allow_blank=True,  # `limit=` means the default
    description="Page size, 1 to 100 (default 20).",
)
CURSOR_PARAMETER = OpenApiParameter(
    name="cursor",
    type=str,
    location=OpenApiParameter.QUERY,
    required=False,
    description="The opaque cursor from a previous page's `next` URL.",
)

IF_MATCH_PARAMETER = OpenApiParameter(
    name="If-Match",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description='The version you read, as its ETag (`"3"`). Required for an edit (or `version` in a '
    "form): a stale one is 412 with the current `version`, a missing one 428.",
)

_RESPONSE_HEADERS = {
    "X-Request-ID": {
        "description": "The request's id (yours if it was valid, else a new one).",
        "schema": {"type": "string"},
    },
}
_RETRY_AFTER_HEADER = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
}

# --- Error responses ---------------------------------------------------------------------------


def errors(status: int, *codes: str, description: str = "") -> OpenApiResponse:
    """A documented error response: ErrorSerializer with one example per code."""
    examples = []
    for code in codes:
        body = {"code": code, "detail": ERROR_CODES[code]}
        if code == "invalid":
            body = {"code": "invalid", "detail": "Invalid input.", "errors": {"field": ["A message."]}}
        examples.append(OpenApiExample(code, value=body))
    return OpenApiResponse(
        response=ErrorSerializer,
        description=description or "\n\n".join(f"`{code}`: {ERROR_CODES[code]}" for code in codes),
        examples=examples,
    )


# Responses any operation that reads a body may give.
BODY_ERRORS = {
    400: errors(400, "invalid", "parse_error", "bad_request"),
    413: errors(413, "request_too_large"),
    415: errors(415, "unsupported_media_type"),
}
THROTTLED = {429: errors(429, "throttled")}
# Staff-only operations: anonymous callers, bad tokens and customers are refused.
STAFF_ONLY = {
    401: errors(401, "not_authenticated", "invalid_token", "token_expired"),
    403: errors(403, "permission_denied", "csrf_failed"),
}


# --- Applied to every operation ----------------------------------------------------------------


_HEALTH_PATHS = {
    "/healthz": {
        "get": {
            "operationId": "healthz",
            "summary": "Liveness: the process answers (no dependencies checked).",
            "tags": ["health"],
            "responses": {
                "200": {
                    "description": "Alive.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}},
                }
            },
        }
    },
    "/readyz": {
        "get": {
            "operationId": "readyz",
            "summary": "Readiness: DynamoDB (and SQS) answer; 503 + Retry-After when not.",
            "tags": ["health"],
            "responses": {
                "200": {
                    "description": "Ready.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Health"}}},
                }
            },
        }
    },
}
_HEALTH_SCHEMA = {
    "type": "object",
    "properties": {
        "status": {"type": "string"},
        "checks": {
            "type": "object",
            "additionalProperties": {"type": "string", "enum": ["ok", "unavailable"]},
        },
        "code": {"type": "string"},
        "detail": {"type": "string"},
    },
}


def postprocess_common(result, generator, request, public):
    """Every operation: the X-Request-ID header in and out, 406 and 503 (+ Retry-After) documented."""
    # The health views are plain Django views (no DRF overhead for the load balancer's probes).
    for path, item in _HEALTH_PATHS.items():
        result.setdefault("paths", {}).setdefault(path, copy.deepcopy(item))
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Health", _HEALTH_SCHEMA)
    components = result.setdefault("components", {}).setdefault("schemas", {})
    error_ref = {"$ref": "#/components/schemas/Error"}
    components.setdefault("Error", {"type": "object"})
    for path, path_item in result.get("paths", {}).items():
        for operation in path_item.values():
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == "X-Request-ID" for p in parameters):
                parameters.append(
                    {
                        "in": "header",
                        "name": "X-Request-ID",
                        # No pattern: an odd id is replaced, not refused (see the description).
                        "schema": {"type": "string"},
                        "description": REQUEST_ID_PARAMETER.description,
                    }
                )
            responses = operation.setdefault("responses", {})
            if "{" in path:  # a path parameter outside its pattern matches no route
                responses.setdefault(
                    "404",
                    {
                        "description": ERROR_CODES["not_found"],
                        "content": {"application/json": {"schema": error_ref}},
                    },
                )
            responses.setdefault(
                "406",
                {
                    "description": ERROR_CODES["not_acceptable"],
                    "content": {"application/json": {"schema": error_ref}},
                },
            )
            responses.setdefault(
                "503",
                {
                    "description": ERROR_CODES["service_unavailable"],
                    "content": {
                        "application/json": {
                            "schema": error_ref,
                            "example": {
                                "code": "service_unavailable",
                                "detail": "A backing service is unavailable; please retry shortly.",
                            },
                        }
                    },
                },
            )
            for status, response in responses.items():
                headers = response.setdefault("headers", {})
                headers.update(_RESPONSE_HEADERS)
                if status in ("429", "503"):
                    headers.update(_RETRY_AFTER_HEADER)
    return result


# --- Cart --------------------------------------------------------------------------------------


class CartLineSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The product id.")
    name = serializers.CharField(allow_null=True)
    qty = serializers.IntegerField(min_value=1, max_value=99)
    unit_price = serializers.CharField(allow_null=True, help_text="Current catalog price, decimal string.")
    line_total = serializers.CharField(allow_null=True)
    available = serializers.BooleanField(help_text="False when the product is gone or short of stock.")


class CartSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text="The cart id (null before the first write).")
    items = CartLineSerializer(many=True)
    subtotal = serializers.CharField(help_text="Decimal string.")
    currency = serializers.CharField()


CART_EXAMPLE = {
    "id": "kS3v0lqJ1n3T8o0pG2Vd3bqgJxq0l9aP",
    "items": [
        {
            "id": "1",
            "name": "Trail running shoes",
            "qty": 2,
            "unit_price": "199.99",
            "line_total": "399.98",
            "available": True,
        }
    ],
    "subtotal": "399.98",
    "currency": "USD",
}
SET_COOKIE_HEADER = OpenApiParameter(
    name="Set-Cookie",
    type=str,
    location=OpenApiParameter.HEADER,
    response=[200],
    description="`cart_id=<id>`: HttpOnly, SameSite=Lax, 7 days, renewed by every write.",
)
CSRF_FAILED = {403: errors(403, "csrf_failed")}
# DELETE /cart: with `{"id"}` removes that line; with no body (or no id) empties the cart.
CartItemRemoveRequest = inline_serializer(
    name="CartItemRemove",
    fields={"id": serializers.CharField(max_length=64, required=False, help_text="The product id.")},
)
