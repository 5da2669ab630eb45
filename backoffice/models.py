"""The order ledger: a relational copy of the DynamoDB orders, written only by the projector.

DynamoDB stays the system of record. Every row here reflects an order item at one `version`
(orders/models.py); a row is only ever replaced by a later version (backoffice/projection.py).
Money is integer cents (BigIntegerField), never float.
"""

from django.db import models
from django.db.models.functions import Upper


class Order(models.Model):
    """An order as of `version`: its status, payment, totals, who placed it and where it goes."""

    id = models.CharField(primary_key=True, max_length=64)
    status = models.CharField(max_length=24)
    reason = models.CharField(max_length=64, null=True, blank=True)
    total_cents = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    # The signed-in customer's Cognito `sub`; null for a guest.
    customer_id = models.CharField(max_length=64, null=True, blank=True)
    email = models.CharField(max_length=254, null=True, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    phone = models.CharField(max_length=32, null=True, blank=True)
    # The payment (empty provider: none, the order confirmed on stock alone).
    payment_provider = models.CharField(max_length=16, blank=True, default="")
    payment_status = models.CharField(max_length=32, blank=True, default="")
    payment_intent_id = models.CharField(max_length=64, blank=True, default="")
    amount_authorized_cents = models.BigIntegerField(default=0)
    amount_captured_cents = models.BigIntegerField(default=0)
    amount_refunded_cents = models.BigIntegerField(default=0)
    payment_error = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField()
    # When the order last changed (its latest history entry).
    updated_at = models.DateTimeField()
    # The DynamoDB item's version this row reflects (`len(history)` for orders stored before
    # versions were counted).
    version = models.BigIntegerField()
    # When the projector (or a rebuild) last wrote this row.
    projected_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Newest first, alone and under each filter: every list page is an index range.
            models.Index(fields=["-created_at", "-id"], name="order_created"),
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
            models.Index(fields=["payment_status", "-created_at"], name="order_payment_created"),
            models.Index(fields=["customer_id", "-created_at"], name="order_customer_created"),
            # Search by e-mail is case-insensitive equality: UPPER(email) = UPPER(%s).
            models.Index(Upper("email"), name="order_email_upper"),
        ]

    def __str__(self) -> str:
        return self.id

    @property
    def is_guest(self) -> bool:
        return self.customer_id is None


class OrderLine(models.Model):
    """A line as sold (name and unit price snapshotted at checkout)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    unit_price_cents = models.BigIntegerField()
    qty = models.PositiveIntegerField()
    line_total_cents = models.BigIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["order", "position"], name="orderline_position")]
        indexes = [models.Index(fields=["product_id"], name="orderline_product")]

    def __str__(self) -> str:
        return f"{self.qty} x {self.name}"


class StatusChange(models.Model):
    """One entry of the order's history: the status timeline."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=24)
    at = models.DateTimeField()
    reason = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["order", "position"], name="statuschange_position")]

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%Y-%m-%d %H:%M:%S}"


class Refund(models.Model):
    """A refund of (part of) the captured payment, as the payments service recorded it."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    refund_id = models.CharField(max_length=64)
    amount_cents = models.BigIntegerField()
    restock = models.BooleanField(default=False)
    reason = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    # The staff member's Cognito `sub`.
    by = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["order", "refund_id"], name="refund_per_order")]

    def __str__(self) -> str:
        return self.refund_id


class Customer(models.Model):
    """A signed-in customer's totals over their orders (guests have none), kept with the orders."""

    cognito_id = models.CharField(primary_key=True, max_length=64)
    email = models.CharField(max_length=254, null=True, blank=True)
    first_order_at = models.DateTimeField()
    last_order_at = models.DateTimeField()
    order_count = models.PositiveIntegerField()
    # What the customer paid and kept: confirmed orders' totals less their refunds.
    total_spent_cents = models.BigIntegerField()

    class Meta:
        ordering = ["-last_order_at", "cognito_id"]
        indexes = [
            models.Index(fields=["-last_order_at", "cognito_id"], name="customer_last_order"),
            models.Index(Upper("email"), name="customer_email_upper"),
        ]

    def __str__(self) -> str:
        return self.email or self.cognito_id


class LedgerCursor(models.Model):
    """Where a paged job (`ledger_rebuild`) stopped, so a rerun resumes there."""

    name = models.CharField(primary_key=True, max_length=64)
    position = models.TextField(blank=True, default="")
    done = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class ActionRun(models.Model):
    """A staff action submitted from the admin, once per form submission (its idempotency key).

    A second submission of the same form finds the row and runs nothing again; the ledger itself
    only changes when the owning service's events come back.
    """

    RUNNING, DONE, FAILED = "running", "done", "failed"

    key = models.CharField(primary_key=True, max_length=64)
    action = models.CharField(max_length=32)
    order_id = models.CharField(max_length=64, blank=True, default="")
    by = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    # "running", "done" or "failed", and what the service answered.
    state = models.CharField(max_length=16, default="running")
    outcome = models.TextField(blank=True, default="")

    def __str__(self) -> str:
        return f"{self.action} {self.order_id}"
