"""How a product looks in the API. A plain function: catalog reads are hot, DRF fields are slow."""

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
        "updated_at": product.updated_at.isoformat().replace("+00:00", "Z"),
    }
