"""OpenAPI documentation pieces shared by every view: error bodies, headers and common responses.

Views describe their own input/output with `extend_schema` (each app's shapes and examples live in
the app, e.g. `catalog/serializers.py`); `postprocess_common` then adds what every
operation shares (the `X-Request-ID` header, 503 + Retry-After), so no operation can forget them.
"""

import copy

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
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


# --- Headers and parameters --------------------------------------------------------------------

REQUEST_ID_PARAMETER = OpenApiParameter(
    name="X-Request-ID",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Your id for this request, echoed back and put on every log line. An id that is "
    "missing, longer than 128 characters or outside `A-Za-z0-9._:-` is replaced by a new one.",
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
CSRF_FAILED = {403: errors(403, "csrf_failed")}
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
