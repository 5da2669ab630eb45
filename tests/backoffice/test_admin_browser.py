"""A staff member in real Chromium: signs in at /admin/ with their Cognito account, finds an order by
the customer's e-mail, refunds part of it, and sees the refund in the order's status timeline.

The whole way is real: gunicorn serves the admin, the refund goes through payments' service to
localstripe, a Celery worker publishes the order's events to SNS, and `manage.py ledger_project`
(its own process) brings them into the ledger that the page shows.
"""

import signal
import sys
import time
import uuid

import pytest
from playwright.sync_api import expect

from backoffice.models import Order as LedgerOrder
from notifications.services import order_notify
from tests.accounts.support import PASSWORD, email_new, user_create
from tests.payments.refund_support import paid_order_factory, stripe_refunds
from tests.processes import CeleryProcess, spawn, stop

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("ledger_db")]


@pytest.fixture(scope="module")
def ledger_stack(django_db_setup, local_aws):
    """The projector as `make run` runs it and a worker publishing the order events, for this
    module only: other back-office tests drain the ledger's queue themselves."""
    projector = spawn(
        [sys.executable, "manage.py", "ledger_project", "--threads", "2"],
        env={"LEDGER_WAIT_TIME_SECONDS": "1"},
        log_name="admin-browser-projector",
    )
    notifier = CeleryProcess("worker", concurrency=2, queues="notifications", name="admin-browser-notifier")
    yield projector
    projector.send_signal(signal.SIGTERM)  # both wind down at once
    notifier.stop()
    stop(projector)


def _ledger_status(order_id: str, status: str, *, projector, timeout: float = 60.0) -> LedgerOrder:
    """The ledger's row of the order once it shows `status` (the projector's work, not ours)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = LedgerOrder.objects.filter(id=order_id, status=status).first()
        if row is not None:
            return row
        assert projector.poll() is None, "the projector exited"
        time.sleep(0.2)
    raise AssertionError(f"the ledger did not show {order_id} {status} within {timeout} s")


def test_staff_find_an_order_by_email_refund_part_and_see_it_in_the_timeline(
    web, chromium, ledger_stack, make_product, localstripe
):
    staff = email_new("staff")
    user_create(email=staff, staff=True)
    buyer = f"buyer-{uuid.uuid4().hex[:10]}@example.com"
    order = paid_order_factory(make_product, localstripe)(qty=2, price_cents=1500, email=buyer)  # 30.00
    # As the worker's task does once the order is final (orders/tasks.py): the factory runs the
    # service alone, and without this the CONFIRMED event reached the ledger only when the notifier
    # happened to take checkout's "placed" message after the confirmation (a flaky test).
    assert order_notify(order_id=order.order_id)
    _ledger_status(order.order_id, "CONFIRMED", projector=ledger_stack)

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(f"{web.url}/admin/")
        assert "/admin/login/" in page.url
        page.get_by_label("E-mail").fill(staff)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Orders").first.click()

        page.locator("#searchbar").fill(buyer)
        page.locator("#searchbar").press("Enter")
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(1)  # waits for the search's page (pressing Enter does not)
        rows.get_by_role("link", name=order.order_id[:12]).click()

        page.get_by_role("link", name="Refund").click()
        page.get_by_label("Amount").fill("12.50")
        page.get_by_label("Reason").fill("Scratched lid")
        page.get_by_role("button", name="Refund").click()
        page.get_by_text("Refunded 12.50.").wait_for()

        row = _ledger_status(order.order_id, "PARTIALLY_REFUNDED", projector=ledger_stack)
        assert (row.amount_refunded_cents, row.refunds.get().amount_cents) == (1250, 1250)
        page.reload()
        timeline = page.locator("fieldset", has_text="status timeline")
        assert timeline.locator("td.field-status").all_inner_texts() == [
            "PENDING",
            "CONFIRMED",
            "PARTIALLY_REFUNDED",
        ]
        refunds = page.locator("fieldset", has_text="Scratched lid")
        assert refunds.locator("td.field-amount").all_inner_texts() == ["12.50"]
    finally:
        context.close()
    assert [r["amount"] for r in stripe_refunds(localstripe, order.payment.intent_id)] == [1250]
