"""The carts table: ONE item per cart, holding its lines as a map, a version and a sliding expiry."""

from datetime import timedelta

from django.conf import settings
from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.models import Model

from cloudcart.aws import DynamoMeta

# A cart lives this long after its last write.
CART_TTL = timedelta(days=7)


class Cart(Model):
    """One cart: `lines` maps product id -> quantity; every write is one conditional UpdateItem.

    `version` grows by one on every write, so "the cart is still as I read it" is one condition
    (checkout's guard). `last_order_id`/`last_order_version` mark the order made from the cart
    at that version. Write-throttle counters of the cart's client live on the item as well, as
    attributes named `t#<scope>#<window>` (see cloudcart/throttling.py); they are not declared here.
    The services read and write this table with the low-level client (cart/store.py); the model
    declares the table for bootstrap and the CDK app.
    """

    class Meta(DynamoMeta):
        table_name = settings.CARTS_TABLE
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    cart_id = UnicodeAttribute(hash_key=True)
    lines = MapAttribute(default=dict)
    version = NumberAttribute(default=0)
    # Sliding expiry; DynamoDB deletes late (and the emulators never), so reads filter on it too.
    expires_at = TTLAttribute(null=True)
    last_order_id = UnicodeAttribute(null=True)
    last_order_version = NumberAttribute(null=True)
