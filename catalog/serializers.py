"""How a product looks in the API. A plain function: catalog reads are hot, DRF fields are slow."""

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from catalog.images import image_url
from catalog.models import Product
from cloudcart.money import format_cents


def product_data(product: Product) -> dict:
    return {
        "id": product.id,
        "name": product.name,
        "category": product.category,
        "description": product.description,
        "price": format_cents(product.price_cents),
        "currency": product.currency,
        "stock": int(product.stock),
        "image_key": product.image_key,
        "image_url": image_url(product.image_key),
        "version": int(product.version or 1),
        "archived": bool(product.archived),
        "updated_at": product.updated_at.isoformat().replace("+00:00", "Z"),
    }


def product_etag(product: Product) -> str:
    """The product's version as a strong ETag: what `If-Match` must name to edit it."""
    return f'"{int(product.version or 1)}"'


# --- The same shapes for the OpenAPI schema (documentation only; product_data builds the bodies) ---


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
