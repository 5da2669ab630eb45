"""The orders table (with its status index) and the idempotency-keys table."""

from django.conf import settings
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from cloudcart.aws import DynamoMeta


class OrderLine(MapAttribute):
    """A line as it was sold: the price and name are snapshotted at checkout."""

    product_id = UnicodeAttribute()
    name = UnicodeAttribute()
    unit_price_cents = NumberAttribute()
    qty = NumberAttribute()


class StatusChange(MapAttribute):
    status = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    reason = UnicodeAttribute(null=True)


class PaymentRefund(MapAttribute):
    """One refund of the order's captured payment (Stripe's `re_...`)."""

    refund_id = UnicodeAttribute()
    amount_cents = NumberAttribute()
    restock = BooleanAttribute(default=False)
    reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    by = UnicodeAttribute(null=True)  # the staff member's sub


class Payment(MapAttribute):
    """The order's one PaymentIntent as last seen, and what moved through it (integer cents)."""

    provider = UnicodeAttribute()
    intent_id = UnicodeAttribute()
    # Stripe's intent status as last seen: requires_payment_method | requires_action |
    # requires_capture | succeeded | canceled.
    status = UnicodeAttribute()
    # Lets the owner's browser confirm the intent (Stripe.js); shown only to them while unpaid.
    client_secret = UnicodeAttribute(null=True)
    amount_authorized_cents = NumberAttribute(default=0)
    amount_captured_cents = NumberAttribute(default=0)
    amount_refunded_cents = NumberAttribute(default=0)
    refunds = ListAttribute(of=PaymentRefund, default=list)
    last_error = UnicodeAttribute(null=True)  # Stripe's decline message


class RefundRequest(MapAttribute):
    """A staff refund by its Idempotency-Key: RESERVED (its amount held against the capture while
    Stripe is asked) until DONE (Stripe's `refund_id` recorded). payments/refunds.py owns it."""

    key = UnicodeAttribute()  # the key, hashed with the order id
    request_hash = UnicodeAttribute()  # what was asked: the same key with another body is a misuse
    amount_cents = NumberAttribute()
    restock = BooleanAttribute(default=False)
    reason = UnicodeAttribute(null=True)
    by = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    state = UnicodeAttribute()  # RESERVED | DONE
    # The attempt asking Stripe holds the request until then; past it, a retry may take it over.
    claimed_until = UTCDateTimeAttribute(null=True)
    refund_id = UnicodeAttribute(null=True)


class ShippingAddress(MapAttribute):
    name = UnicodeAttribute()
    line1 = UnicodeAttribute()
    line2 = UnicodeAttribute(null=True)
    city = UnicodeAttribute()
    postal_code = UnicodeAttribute()
    country = UnicodeAttribute()  # ISO 3166-1 alpha-2


class StatusIndex(GlobalSecondaryIndex):
    """Orders by status and age: the reconciler finds stale PENDING orders here, never by Scan."""

    class Meta:
        index_name = "status-index"
        projection = AllProjection()
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class CustomerIndex(GlobalSecondaryIndex):
    """A customer's orders, newest first (`GET /orders`): a Query per page, never a Scan. Sparse:
    guest orders have no `customer_id` and are not in it."""

    class Meta:
        index_name = "customer-index"
        projection = AllProjection()
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    customer_id = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class Order(Model):
    class Meta(DynamoMeta):
        table_name = settings.ORDERS_TABLE
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    order_id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    items = ListAttribute(of=OrderLine)
    total_cents = NumberAttribute()
    currency = UnicodeAttribute()
    cart_id = UnicodeAttribute(null=True)
    # Who the order belongs to: the signed-in customer's Cognito `sub` (None for a guest), and the
    # address receipts go to (the customer's, or the guest checkout's `email`; None: no e-mail).
    customer_id = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    history = ListAttribute(of=StatusChange, default=list)
    request_id = UnicodeAttribute(null=True)
    # The products a REJECTED order could not get (reason "out_of_stock").
    reason_products = ListAttribute(null=True)
    # Publishes of `process_order` for this order (checkout's is the first; None on orders stored
    # before counting began) and when the reconciler may publish it again: it never republishes
    # before then, and an order published ORDERS_MAX_PUBLISHES times becomes FAILED instead.
    publishes = NumberAttribute(null=True)
    republish_at = UTCDateTimeAttribute(null=True)
    # 1 when stored, +1 in every update of its status, payment or refunds: a reader keeps the
    # highest it saw (absent on older orders: read it as len(history)).
    version = NumberAttribute(null=True)
    # The PaymentIntent (None with PAYMENTS_PROVIDER=none).
    payment = Payment(null=True)
    # Set by the worker's stock transaction when it took the stock of a paid order but has not yet
    # captured (the order stays PENDING): a redelivery captures instead of taking the stock again.
    stock_taken_at = UTCDateTimeAttribute(null=True)
    shipping_address = ShippingAddress(null=True)
    phone = UnicodeAttribute(null=True)  # E.164
    sms_opt_in = BooleanAttribute(null=True)
    # Staff refunds by Idempotency-Key (reserved, then done), and when a refund put the lines'
    # units back in stock (once per order).
    refund_requests = ListAttribute(of=RefundRequest, null=True)
    restocked_at = UTCDateTimeAttribute(null=True)

    status_index = StatusIndex()
    customer_index = CustomerIndex()

    # The statuses; orders/lifecycle.py declares which transitions are allowed and who makes them.
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    REJECTED = "REJECTED"
    # Its message failed every time it was published (reason `processing_failed`): final until an
    # operator retries it (`manage.py order_retry`).
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


class IdempotencyKey(Model):
    """The first answer to a request with an `Idempotency-Key`, kept 24 hours."""

    class Meta(DynamoMeta):
        table_name = settings.IDEMPOTENCY_TABLE
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    key = UnicodeAttribute(hash_key=True)  # scoped by client
    request_hash = UnicodeAttribute()
    order_id = UnicodeAttribute()
    response_status = NumberAttribute()
    response_body = UnicodeAttribute()  # JSON
    expires_at = TTLAttribute()
