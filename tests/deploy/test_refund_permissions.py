"""A refund makes only the DynamoDB calls the staff role (where the load balancer sends refunds)
is granted in the synthesized stack; the emulators check no IAM, so the calls are recorded with
the app's own counter and looked up in the role's statements."""

import uuid

from cloudcart.aws import aws_calls_counted
from payments.refunds import order_refund
from tests.deploy.test_stack import _actions_on, _statements_of, _table_id
from tests.payments.refund_support import paid_order_factory

# IAM checks each item of a transaction against its own action (here UpdateItem on each).
_NO_ACTION_OF_ITS_OWN = {"TransactWriteItems"}


def test_a_partial_refund_and_a_restocking_one_call_only_what_the_staff_role_holds(
    stack, make_product, localstripe
):
    order = paid_order_factory(make_product, localstripe)(qty=2, price_cents=1000)
    with aws_calls_counted() as calls:
        for amount, restock in ((500, False), (None, True)):
            order_refund(
                order_id=order.order_id,
                amount_cents=amount,
                restock=restock,
                reason=None,
                idempotency_key=uuid.uuid4().hex,
                actor="staff-sub-1",
            )
    used = {
        f"dynamodb:{operation}"
        for service, _, operation in (key.partition(".") for key in calls)
        if service == "dynamodb" and operation not in _NO_ACTION_OF_ITS_OWN
    }
    staff = _statements_of(stack, "staff")
    granted = _actions_on(staff, _table_id(stack, "ORDERS_TABLE")) | _actions_on(
        staff, _table_id(stack, "PRODUCTS_TABLE")
    )
    assert used and used <= granted, (used, granted)
    assert calls.service("sqs") == 2  # each refund enqueues its notifications
    assert "sqs:SendMessage" in _actions_on(
        staff, stack.environment("staff")["NOTIFICATIONS_QUEUE_URL"]["Ref"]
    )
    assert calls.service("stripe") == 2  # one refund each, no lookup on a first attempt
