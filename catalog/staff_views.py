"""Staff-only catalog endpoints: stock changes, product images (signed uploads, verified attach)."""

from django.conf import settings
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

from accounts.permissions import IsStaff
from catalog.images import IMAGE_TYPES, image_upload_sign
from catalog.selectors import product_get
from catalog.services import product_image_attach, product_stock_change
from catalog.staff import (
    IF_MATCH_PARAMETER,
    PRODUCT_ID_PATH,
    STAFF_PRODUCT,
    StrictIntegerField,
    expected_version,
    product_id_field,
    staff_response,
)
from cloudcart.inputs import InputForm, validated
from cloudcart.openapi import BODY_ERRORS, STAFF_ONLY, errors

# The largest single stock change: far beyond any real delivery, far below DynamoDB's number range.
MAX_STOCK_CHANGE = 10**9


@extend_schema_view(
    get=extend_schema(
        operation_id="products_stock_get",
        tags=["staff"],
        summary="The product with its current stock, never cached (staff)",
        parameters=[PRODUCT_ID_PATH],
        responses={200: STAFF_PRODUCT, **STAFF_ONLY, 404: errors(404, "product_not_found")},
    ),
    post=extend_schema(
        operation_id="products_stock_change",
        tags=["staff"],
        summary="Change the stock by `delta`, or `set` what was counted against the `expected` stock (staff)",
        parameters=[PRODUCT_ID_PATH],
        examples=[
            OpenApiExample("Three sold elsewhere", value={"delta": -3}, request_only=True),
            OpenApiExample(
                "Counted forty where the stock said 42", value={"set": 40, "expected": 42}, request_only=True
            ),
        ],
        responses={
            200: STAFF_PRODUCT,
            **BODY_ERRORS,
            **STAFF_ONLY,
            404: errors(404, "product_not_found"),
            409: errors(409, "stock_below_zero", "stock_changed"),
        },
    ),
)
class ProductStockView(InputForm, APIView):
    """A product's stock. POST `{"delta": -3}` adds (refused below zero); `{"set": 40, "expected": 42}`
    sets what was counted, only while the stock is still the `expected` one that staff saw
    (else `409 stock_changed` with the current stock: a sale came in since).

    Both are single atomic DynamoDB updates, safe beside the order worker's own decrements, and
    need no version: the stock is a counter of its own.
    """

    permission_classes = [IsStaff]

    class StockChangeInput(serializers.Serializer):
        delta = StrictIntegerField(
            required=False, min_value=-MAX_STOCK_CHANGE, max_value=MAX_STOCK_CHANGE, help_text="e.g. -3 or 12"
        )
        set = StrictIntegerField(required=False, min_value=0, max_value=MAX_STOCK_CHANGE, help_text="e.g. 40")
        expected = StrictIntegerField(
            required=False,
            min_value=0,
            max_value=MAX_STOCK_CHANGE,
            help_text="With `set`: the stock you counted against (as `GET` showed it), e.g. 42.",
        )

        def validate(self, attrs):
            if ("delta" in attrs) == ("set" in attrs):
                raise serializers.ValidationError("Give exactly one of `delta` and `set`.")
            if "set" in attrs and "expected" not in attrs:
                raise serializers.ValidationError(
                    {"expected": ["Required with `set`: the stock you counted against."]}
                )
            if "delta" in attrs and "expected" in attrs:
                raise serializers.ValidationError({"expected": ["Only with `set`."]})
            return attrs

    input_serializer = StockChangeInput

    def get(self, request, product_id: str):
        return staff_response(product_get(product_id=product_id, consistent=True, include_archived=True))

    def post(self, request, product_id: str):
        data = validated(self.StockChangeInput, request.data)
        product = product_stock_change(
            product_id=product_id,
            delta=data.get("delta"),
            set_to=data.get("set"),
            expected=data.get("expected"),
        )
        return staff_response(product)


@extend_schema_view(
    post=extend_schema(
        operation_id="products_image_attach",
        tags=["staff"],
        summary="Attach an uploaded image once the object itself is verified (staff)",
        parameters=[PRODUCT_ID_PATH, IF_MATCH_PARAMETER],
        responses={
            200: STAFF_PRODUCT,
            **BODY_ERRORS,
            400: errors(
                400,
                "invalid",
                "parse_error",
                "upload_key_invalid",
                "upload_not_found",
                "upload_type_not_allowed",
                "upload_too_large",
                "upload_content_mismatch",
            ),
            **STAFF_ONLY,
            404: errors(404, "product_not_found"),
            412: errors(412, "precondition_failed"),
        },
    ),
)
class ProductImageView(InputForm, APIView):
    """POST `{"key": "products/{id}/....png"}` (from `/uploads/sign`) after uploading to S3.

    The object is checked first: under this product's prefix, present, an allowed type, within
    the size limit, and its first bytes really that type. The old image is left to expire.
    """

    permission_classes = [IsStaff]

    class ImageAttachInput(serializers.Serializer):
        key = serializers.CharField(max_length=300, help_text="The `key` field of the signed upload.")

    input_serializer = ImageAttachInput

    def post(self, request, product_id: str):
        data = validated(self.ImageAttachInput, request.data)
        version = expected_version(request, body_version=None, required=False)
        return staff_response(
            product_image_attach(product_id=product_id, key=data["key"], expected_version=version)
        )


_SIGNED_UPLOAD = inline_serializer(
    name="SignedUpload",
    fields={
        "url": serializers.URLField(help_text="POST the form here (multipart), the file last."),
        "fields": serializers.DictField(
            child=serializers.CharField(), help_text="Form fields to send as given."
        ),
        "key": serializers.CharField(help_text="The object's key: attach it with POST /products/{id}/image."),
        "expires_in": serializers.IntegerField(help_text="Seconds the form stays valid."),
    },
)


@extend_schema_view(
    post=extend_schema(
        operation_id="uploads_sign",
        tags=["staff"],
        summary="A presigned S3 POST for one product image (staff)",
        examples=[
            OpenApiExample(
                "A PNG",
                value={"product_id": "1", "content_type": "image/png", "size": 48213},
                request_only=True,
            )
        ],
        responses={
            200: OpenApiResponse(_SIGNED_UPLOAD),
            **BODY_ERRORS,
            **STAFF_ONLY,
            404: errors(404, "product_not_found"),
        },
    ),
)
class ImageUploadSignView(InputForm, APIView):
    """POST `{"product_id", "content_type", "size"}`: a form to upload the image straight to S3.

    The form is valid for 10 minutes, for one new key under `products/{id}/`, with the content
    type fixed and the size capped (PRODUCT_IMAGE_MAX_BYTES). Then attach it to the product.
    """

    permission_classes = [IsStaff]

    class UploadSignInput(serializers.Serializer):
        product_id = product_id_field()
        content_type = serializers.ChoiceField(choices=sorted(IMAGE_TYPES))
        size = StrictIntegerField(min_value=1, help_text="The file's size in bytes.")

        def validate_size(self, value):
            if value > settings.PRODUCT_IMAGE_MAX_BYTES:
                raise serializers.ValidationError(f"At most {settings.PRODUCT_IMAGE_MAX_BYTES} bytes.")
            return value

    input_serializer = UploadSignInput

    def post(self, request):
        data = validated(self.UploadSignInput, request.data)
        product_get(product_id=data["product_id"], include_archived=True)  # 404 for an unknown product
        signed = image_upload_sign(
            product_id=data["product_id"], content_type=data["content_type"], size=data["size"]
        )
        return Response(
            {"url": signed.url, "fields": signed.fields, "key": signed.key, "expires_in": signed.expires_in},
            headers={"Cache-Control": "private, no-store"},
        )
