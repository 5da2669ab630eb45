"""What each process may do to each table: explicit DynamoDB action lists, never `grant_*_data`.

`grant_read_write_data` would let the web tier rewrite a product's stock or delete an order;
these lists say exactly which calls each process makes, so a bug or a compromised web task
cannot (tests/iam/ checks them against the calls the test suite makes). Staff catalog writes
run on a service of their own (the ALB routes them there), so the public web tier never needs a
product write. TransactWriteItems needs no action of its own: IAM
checks each item's Put, Update or ConditionCheck. One limit IAM cannot express: PutItem may
replace an existing item, so the web tier, which creates orders, could still overwrite one; our
code only ever puts an order on condition that its id is new.
"""

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam

_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:DescribeTable")

# The web tier: reads the catalog (GetItem, BatchGetItem, the category Query, the listing Scan;
# DescribeTable is `/readyz`) but never writes it; keeps carts (one UpdateItem per write, the
# checkout's transaction Update, a merged guest cart's Delete); creates orders (the checkout's
# transaction Put), reads them (GetItem, the customer index Query for `GET /orders`) and moves
# their payment on (the payment call, Stripe's webhook, cancel: conditional UpdateItems), but never
# deletes one nor touches stock; stores idempotency records
# (in the same transaction) and reads them; counts sign-in attempts and per-address throttles
# (one conditional UpdateItem ADD each).
WEB = {
    "PRODUCTS_TABLE": (*_READ, "dynamodb:Scan"),
    "CARTS_TABLE": ("dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
    "ORDERS_TABLE": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"),
    "IDEMPOTENCY_TABLE": ("dynamodb:GetItem", "dynamodb:PutItem"),
    "THROTTLE_TABLE": ("dynamodb:UpdateItem",),
}
# Staff writes, on their own service (StaffService, deploy/stacks/services.py): create a product
# (PutItem on condition that the id is new); edit, archive, change the stock or attach an image
# (one conditional UpdateItem each), after reading the product (a consistent GetItem). Refunds:
# read the order, reserve and record the refund on it (conditional UpdateItems), and restock its
# lines in the same transaction (UpdateItem on products). Nothing else: archiving keeps the item
# (no DeleteItem), staff reads (GET) are served by web.
STAFF = {
    "PRODUCTS_TABLE": (
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ),
    "ORDERS_TABLE": ("dynamodb:GetItem", "dynamodb:UpdateItem"),
    # The back office's sign-in counts attempts in the API's brute-force guard (accounts/login_guard.py).
    "THROTTLE_TABLE": ("dynamodb:UpdateItem",),
}
# The ledger's projector reads the orders its events name (a consistent BatchGetItem);
# `ledger_rebuild` and `ledger_check`, run as its one-off tasks, Scan the orders table in pages.
LEDGER = {"ORDERS_TABLE": ("dynamodb:BatchGetItem", "dynamodb:Scan")}
# The worker: takes stock and sets order status in one transaction (UpdateItem on both; no read
# of a product), reads the order it processes, the reconciler Queries the status index and counts
# publishes; no carts, keys or throttles at all.
WORKER = {
    "PRODUCTS_TABLE": ("dynamodb:UpdateItem",),
    "ORDERS_TABLE": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"),
}
# The seed task: creates missing products (the sample: a conditional PutItem each; synthetic
# ones with --count: BatchWriteItem of the ids a BatchGetItem found missing).
SEED = {"PRODUCTS_TABLE": ("dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem")}


# The notifier: reads the order it notifies about with its markers (one consistent BatchGetItem
# of both tables) and keeps its markers and the per-recipient e-mail counts (Query an order's
# markers, GetItem one, conditional UpdateItem claims and outcomes): no scans, puts or deletes,
# and no other table.
NOTIFIER = {
    "ORDERS_TABLE": ("dynamodb:BatchGetItem",),
    "NOTIFICATIONS_TABLE": (
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ),
}


def tables_grant(
    role: iam.IGrantable, *, tables: dict[str, dynamodb.Table], actions: dict[str, tuple]
) -> None:
    """Grant `role` exactly `actions[setting]` on each table (and its indexes, for Query)."""
    for setting, table_actions in actions.items():
        tables[setting].grant(role, *table_actions)
