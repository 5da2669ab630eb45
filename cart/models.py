"""The carts table: one item per (cart, product) line, plus one head item per cart."""

from datetime import timedelta

from django.conf import settings
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.models import Model

from cloudcart.aws import DynamoMeta

# The head item of a cart (range key "#cart", never a product id: those match [A-Za-z0-9._-])
# holds the set of the cart's product ids, so "at most 50 lines" is a condition on one item.
CART_HEAD_ID = "#cart"
# A cart lives this long after its last write.
CART_TTL = timedelta(days=7)


class CartLine(Model):
    class Meta(DynamoMeta):
        table_name = settings.CARTS_TABLE
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    cart_id = UnicodeAttribute(hash_key=True)
    product_id = UnicodeAttribute(range_key=True)
    qty = NumberAttribute()
    # Sliding expiry; DynamoDB deletes late (and moto never), so reads filter on it too.
    expires_at = TTLAttribute()
    # Only on the head item: the product ids that hold (or are about to hold) a line.
    products = UnicodeSetAttribute(null=True)

    @property
    def is_head(self) -> bool:
        return self.product_id == CART_HEAD_ID
