"""The projector over the real SNS topic, SQS queue, DynamoDB Local and PostgreSQL: duplicate,
reordered and lost events, and the check and rebuild that find and repair what was lost."""

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from backoffice.ledger import ledger_rebuild
from backoffice.models import Customer, LedgerCursor, Order, OrderLine, Refund, StatusChange
from backoffice.projection import ledger_upsert, snapshot_from_item
from tests.backoffice.support import event_publish, ledger_queue_depth, order_item, order_put, project_all

pytestmark = pytest.mark.usefixtures("ledger_db")


def test_an_event_projects_the_whole_order_as_dynamodb_holds_it():
    customer = f"sub-{uuid.uuid4().hex[:8]}"
    item = order_put(
        order_item(
            statuses=("PENDING", "CONFIRMED", "PARTIALLY_REFUNDED"),
            email="Ann@Example.com",
            customer_id=customer,
            lines=(("p-1", "Blue kettle", 2500, 2), ("p-2", "Tea", 399, 1)),
            captured_cents=5399,
            refunds=(1000,),
        )
    )
    event_publish(item["order_id"], "PENDING")  # an early event: the ledger still gets today's state

    project_all()

    order = Order.objects.get(id=item["order_id"])
    assert (order.status, order.version, order.total_cents) == ("PARTIALLY_REFUNDED", 4, 5399)
    assert (order.amount_captured_cents, order.amount_refunded_cents, order.payment_status) == (
        5399,
        1000,
        "succeeded",
    )
    assert order.email == "Ann@Example.com" and order.customer_id == customer
    assert [(line.product_id, line.qty, line.line_total_cents) for line in order.lines.all()] == [
        ("p-1", 2, 5000),
        ("p-2", 1, 399),
    ]
    assert [c.status for c in order.status_changes.all()] == ["PENDING", "CONFIRMED", "PARTIALLY_REFUNDED"]
    assert [(r.refund_id, r.amount_cents) for r in order.refunds.all()] == [("re_0", 1000)]
    spent = Customer.objects.get(cognito_id=customer)
    assert (spent.order_count, spent.total_spent_cents, spent.email) == (1, 4399, "Ann@Example.com")


def test_duplicate_events_write_the_order_once():
    item = order_put(order_item(statuses=("PENDING", "CONFIRMED")))
    event_publish(item["order_id"])
    project_all()
    first = Order.objects.get(id=item["order_id"]).projected_at

    for _ in range(3):
        event_publish(item["order_id"])
    project_all()

    order = Order.objects.get(id=item["order_id"])
    assert order.projected_at == first  # same version: not rewritten
    assert OrderLine.objects.filter(order=order).count() == 1
    assert StatusChange.objects.filter(order=order).count() == 2
    assert ledger_queue_depth() == 0


def test_events_out_of_order_never_move_an_order_back():
    item = order_put(order_item(statuses=("PENDING", "CONFIRMED")))
    event_publish(item["order_id"], "CONFIRMED")
    event_publish(item["order_id"], "PENDING")  # arrives last
    project_all()
    assert Order.objects.get(id=item["order_id"]).status == "CONFIRMED"


def test_an_older_read_never_overwrites_a_later_version():
    """Two projector threads racing: the one holding the older read writes last and loses."""
    order_id = uuid.uuid4().hex
    older = snapshot_from_item(order_item(order_id=order_id, statuses=("PENDING",)))
    newer = snapshot_from_item(
        order_item(order_id=order_id, statuses=("PENDING", "CONFIRMED"), captured_cents=5000)
    )

    assert ledger_upsert(snapshots=[newer]) == [order_id]
    assert ledger_upsert(snapshots=[older]) == []

    order = Order.objects.get(id=order_id)
    assert (order.status, order.version, order.amount_captured_cents) == ("CONFIRMED", 2, 5000)
    assert StatusChange.objects.filter(order=order).count() == 2


def test_an_event_for_an_unknown_order_is_dropped_not_looped():
    from django.conf import settings

    from cloudcart import aws

    aws.client("sqs").send_message(
        QueueUrl=settings.LEDGER_QUEUE_URL, MessageBody='{"order_id": "no-such-order", "status": "PENDING"}'
    )
    aws.client("sqs").send_message(QueueUrl=settings.LEDGER_QUEUE_URL, MessageBody="not json")
    project_all()
    assert ledger_queue_depth() == 0
    assert not Order.objects.filter(id="no-such-order").exists()


def _check(since: datetime) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("ledger_check", since=since.isoformat(), stdout=out)
    except CommandError as error:
        return error.returncode, out.getvalue()
    return 0, out.getvalue()


def test_lost_events_are_found_by_ledger_check_and_repaired_by_ledger_rebuild():
    since = datetime.now(UTC) - timedelta(seconds=1)
    seen = order_put(order_item(statuses=("PENDING",)))
    event_publish(seen["order_id"])
    project_all()
    # Then the order is confirmed and refunded, but those events are lost; another order's only one too.
    order_put(
        {
            **order_item(
                order_id=seen["order_id"],
                statuses=("PENDING", "CONFIRMED"),
                captured_cents=5000,
                refunds=(500,),
            ),
            "created_at": seen["created_at"],
        }
    )
    never = order_put(order_item(statuses=("PENDING",)))

    status, output = _check(since)
    assert status == 1
    assert f"order {never['order_id']}: missing from the ledger" in output
    assert f"order {seen['order_id']}: status: ledger='PENDING' dynamodb='CONFIRMED'" in output
    assert f"order {seen['order_id']}: refunds:" in output

    call_command("ledger_rebuild", restart=True, stdout=io.StringIO())

    assert _check(since) == (0, "The ledger matches DynamoDB.\n")
    assert Refund.objects.get(order_id=seen["order_id"]).amount_cents == 500


def test_ledger_rebuild_resumes_where_it_stopped():
    for _ in range(3):
        order_put(order_item())

    class Stop(Exception):
        pass

    def stop_after_first_page(pages, done):
        if pages == 1:
            raise Stop

    with pytest.raises(Stop):
        ledger_rebuild(page_size=2, restart=True, on_page=stop_after_first_page)
    assert LedgerCursor.objects.get(name="rebuild").done == 2

    result = ledger_rebuild(page_size=2)

    assert result.resumed
    assert result.orders >= 3 and LedgerCursor.objects.get(name="rebuild").position == ""


def test_an_idle_long_poll_longer_than_the_aws_read_timeout_comes_back_empty():
    """Found on `make run`: the projector's 10 s long poll on the shared client (3 s read
    timeout) failed every idle receive with a read timeout."""
    from django.conf import settings

    from backoffice.projector import receive
    from cloudcart import aws

    url = aws.client("sqs").create_queue(QueueName=f"{settings.QUEUE_PREFIX}idle-{uuid.uuid4().hex[:8]}")[
        "QueueUrl"
    ]
    assert receive(queue_url=url, wait_seconds=int(settings.AWS_READ_TIMEOUT) + 1) == []
