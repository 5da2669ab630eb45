"""What staff endpoints share: input fields, the If-Match version, and how a staff answer looks.

Staff answers are never cached (a staff client reads its own write at once) and carry the
product's version as a strong ETag, which `If-Match` names on the next edit.
"""

import re

from django.conf import settings
from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from catalog.errors import PreconditionRequired
from catalog.models import CATEGORY_PATTERN, PRODUCT_ID_PATTERN, Product
from catalog.serializers import PRODUCT_EXAMPLE, ProductSerializer, product_data, product_etag
from cloudcart.money import parse_amount
from cloudcart.openapi import BODY_ERRORS, STAFF_ONLY, errors

IF_MATCH_PARAMETER = OpenApiParameter(
    name="If-Match",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description='The version you read, as its ETag (`"3"`). Required for an edit (or `version` in a '
    "form): a stale one is 412 with the current `version`, a missing one 428.",
)

# An If-Match that can never match a stored version (versions start at 1): the write is then
# refused with 412 and the current version, like any stale one.
NO_VERSION = 0
_IF_MATCH_VERSION = re.compile(r'"(\d{1,18})"|(\d{1,18})')


def product_id_field(**kwargs):
    return serializers.CharField(
        max_length=64,
        validators=[RegexValidator(rf"^{PRODUCT_ID_PATTERN}\Z", "Letters, digits, '.', '_' or '-' (1-64).")],
        **kwargs,
    )


class StrictIntegerField(serializers.IntegerField):
    """An integer, or a string of one (forms): never a float, a bool or `"4.0"`."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str) and not re.fullmatch(r"\s*-?\d{1,18}\s*", data):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.STR)
class PriceField(serializers.Field):
    """A decimal string (or JSON number) >= 0 with at most two decimals, as integer cents."""

    def to_internal_value(self, data) -> int:
        try:
            return parse_amount(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def to_representation(self, value):
        return value


def name_field(**kwargs):
    return serializers.CharField(max_length=200, **kwargs)


def category_field(**kwargs):
    return serializers.CharField(
        max_length=100,
        validators=[RegexValidator(rf"^{CATEGORY_PATTERN}\Z", "A category has no '/'.")],
        **kwargs,
    )


def description_field(**kwargs):
    return serializers.CharField(max_length=2000, allow_blank=True, trim_whitespace=False, **kwargs)


def currency_field(**kwargs):
    # One shop, one currency: totals are summed in it.
    return serializers.ChoiceField(choices=[settings.SHOP_CURRENCY], **kwargs)


def stock_field(**kwargs):
    return StrictIntegerField(min_value=0, max_value=10**9, **kwargs)


def expected_version(request, *, body_version: int | None, required: bool) -> int | None:
    """The version the client read: `If-Match` (API clients) or `version` in the body (forms).

    None means "any": `If-Match: *`, or no precondition where none is required. A missing one
    where it is required is 428; a malformed one (a weak or listed ETag) can never match (412).
    """
    header = request.META.get("HTTP_IF_MATCH")
    if header is None:
        if body_version is not None:
            return body_version
        if required:
            raise PreconditionRequired()
        return None
    header = header.strip()
    if header == "*":
        return None
    match = _IF_MATCH_VERSION.fullmatch(header)
    if not match:
        return NO_VERSION
    return int(match.group(1) or match.group(2))


def staff_response(product: Product, *, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        product_data(product),
        status=status,
        headers={"ETag": product_etag(product), "Cache-Control": "private, no-store", **(headers or {})},
    )


# --- OpenAPI pieces the staff operations share ------------------------------------------------

PRODUCT_ID_PATH = OpenApiParameter(
    "product_id", str, OpenApiParameter.PATH, pattern=f"^{PRODUCT_ID_PATTERN}$"
)
STAFF_PRODUCT = OpenApiResponse(
    ProductSerializer,
    description="The product as stored; `ETag` is its version (never cached).",
    examples=[OpenApiExample("A product", value=PRODUCT_EXAMPLE)],
)
STAFF_EDIT_RESPONSES = {
    200: STAFF_PRODUCT,
    **BODY_ERRORS,
    **STAFF_ONLY,
    404: errors(404, "product_not_found"),
    412: errors(412, "precondition_failed"),
    428: errors(428, "precondition_required"),
}
