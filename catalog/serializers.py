"""How a product looks in the API. A plain function: catalog reads are hot, DRF fields are slow."""

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
