"""The carts table: one item per (cart, product) line."""

from django.conf import settings
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.models import Model

from cloudcart.aws import DynamoMeta


class CartLine(Model):
    class Meta(DynamoMeta):
        table_name = settings.CARTS_TABLE
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    cart_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute(range_key=True)
    qty = NumberAttribute()
    # Sliding expiry; DynamoDB deletes late (and moto never), so reads filter on it too.
    expires_at = TTLAttribute()
