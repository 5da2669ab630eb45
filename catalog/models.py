"""The products table and its category index."""

from django.conf import settings
from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from cloudcart.aws import DynamoMeta

# Bounds on ids and category names in paths (routes and OpenAPI share them), so an absurd path is
# a 404, never a DynamoDB validation error.
PRODUCT_ID_PATTERN = r"[A-Za-z0-9._-]{1,64}"
CATEGORY_PATTERN = r"[^/]{1,100}"


def name_sort_key(*, name: str, product_id: str) -> str:
    """The category index's range key: by name, case-insensitively, then by id (unique, stable)."""
    return f"{name.casefold()}#{product_id}"


class CategoryIndex(GlobalSecondaryIndex):
    """Products of one category in name order: `GET /categories/{name}` queries this, never scans."""

    class Meta:
        index_name = "category-index"
        projection = AllProjection()
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    category = UnicodeAttribute(hash_key=True)
    name_sort = UnicodeAttribute(range_key=True)


class Product(Model):
    class Meta(DynamoMeta):
        table_name = settings.PRODUCTS_TABLE
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    category = UnicodeAttribute()
    name_sort = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    price_cents = NumberAttribute()  # integer minor units; never a float
    currency = UnicodeAttribute()
    stock = NumberAttribute(default=0)  # >= 0, guarded by conditional writes
    image_key = UnicodeAttribute(null=True)  # the S3 key of the current image (products/{id}/...)
    updated_at = UTCDateTimeAttribute()
    # Bumped by every staff edit of the fields above (not by stock changes, which are atomic
    # counters of their own): `PATCH` names the version it read, a stale one is refused (412).
    version = NumberAttribute(default=1)
    # Archived products stay in the table (past orders and carts name them) but leave the shop.
    archived = BooleanAttribute(default=False)

    category_index = CategoryIndex()

    # The key attributes of the table and of the index, for pagination cursors.
    TABLE_KEY = frozenset({"id"})
    CATEGORY_INDEX_KEY = frozenset({"id", "category", "name_sort"})
