"""The admin at /admin/: staff only (Cognito `staff` group), orders found by e-mail, each action
run once per form submission through the owning service, the CSV export streamed."""

import re
import uuid

import pytest
from django.test import Client

from backoffice.models import ActionRun, Refund
from catalog.models import Product
from tests.accounts.support import PASSWORD, email_new, user_create
from tests.backoffice.conftest import csrf_post, signed_in_client
from tests.backoffice.support import event_publish, order_published, project_all
from tests.notifications.support import emails_to
from tests.payments.refund_support import paid_order_factory, stock_of, stripe_refunds

pytestmark = pytest.mark.usefixtures("ledger_db")


def _key(page) -> str:
    return re.search(rb'name="key" value="([0-9a-f]+)"', page.content).group(1).decode()


def test_an_anonymous_visitor_is_sent_to_sign_in():
    client = Client()
    for url in ("/admin/", "/admin/backoffice/order/", "/admin/sales/", "/admin/backoffice/order/export.csv"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url


def test_a_customer_is_refused_and_gets_no_session():
    client, _ = signed_in_client(staff=False)
    assert client.get("/admin/").status_code == 302
    email = email_new("customer")
    user_create(email=email)
    page = client.get("/admin/login/")
    refused = client.post(
        "/admin/login/",
        {"username": email, "password": PASSWORD, "csrfmiddlewaretoken": page.cookies["csrftoken"].value},
    )
    assert refused.status_code == 200
    assert b"not a staff account" in refused.content


def test_a_wrong_password_is_refused():
    email = email_new("staff")
    user_create(email=email, staff=True)
    client = Client()
    client.get("/admin/login/")
    answer = client.post("/admin/login/", {"username": email, "password": "Wrong-passw0rd-long"})
    assert answer.status_code == 200 and client.get("/admin/").status_code == 302


def test_staff_sign_in_with_a_secure_http_only_session_cookie_and_no_usable_password():
    from django.contrib.auth import get_user_model

    client, email = signed_in_client(staff=True)
    assert client.get("/admin/").status_code == 200
    session = client.cookies["cloudcart_admin"]
    assert session["httponly"]
    user = get_user_model().objects.get(email=email)
    assert user.is_staff and not user.has_usable_password()


def test_staff_find_an_order_by_email_and_see_its_lines_and_timeline(staff_client):
    email = f"{uuid.uuid4().hex[:8]}@Example.com"
    item = order_published(
        statuses=("PENDING", "CONFIRMED"), email=email, lines=(("p-9", "Green teapot", 1999, 1),)
    )
    order_published(email="someone-else@example.com")
    project_all()

    listing = staff_client.get("/admin/backoffice/order/", {"q": email.lower()})
    assert listing.status_code == 200
    assert item["order_id"][:12].encode() in listing.content
    assert b"someone-else" not in listing.content

    by_product = staff_client.get("/admin/backoffice/order/", {"q": "green teap"})
    assert item["order_id"][:12].encode() in by_product.content

    detail = staff_client.get(f"/admin/backoffice/order/{item['order_id']}/change/")
    assert b"Green teapot" in detail.content and b"status timeline" in detail.content.lower()
    assert detail.content.count(b"CONFIRMED") >= 2  # the status and its timeline entry


def test_resend_receipt_submitted_twice_sends_one_email(staff_client):
    email = f"receipt-{uuid.uuid4().hex[:8]}@example.com"
    item = order_published(statuses=("PENDING", "CONFIRMED"), email=email)
    project_all()
    url = f"/admin/backoffice/order/{item['order_id']}/action/resend-receipt/"
    key = _key(staff_client.get(url))

    first = csrf_post(staff_client, url, {"key": key})
    second = csrf_post(staff_client, url, {"key": key})

    assert first.status_code == second.status_code == 302
    assert len(emails_to(email)) == 1
    assert ActionRun.objects.get(key=key).state == ActionRun.DONE


def test_retry_submitted_twice_retries_once(staff_client):
    from orders.models import Order as DynamoOrder

    item = order_published(statuses=("PENDING", "FAILED"))
    project_all()
    url = f"/admin/backoffice/order/{item['order_id']}/action/retry/"
    key = _key(staff_client.get(url))

    csrf_post(staff_client, url, {"key": key})
    again = csrf_post(
        staff_client,
        url,
        {"key": key},
    )

    order = DynamoOrder.get(item["order_id"], consistent_read=True)
    assert [c.status for c in order.history] == ["PENDING", "FAILED", "PENDING"]
    assert b"Already submitted" in staff_client.get(again["Location"]).content


def test_a_refund_submitted_twice_refunds_once_through_payments(staff_client, make_product, localstripe):
    """The refund form (amount, restock) posted twice: one refund at Stripe, the units back once."""
    from orders.models import Order as DynamoOrder

    order = paid_order_factory(make_product, localstripe)(qty=2, price_cents=1500, stock=10)  # 30.00
    product_id = order.items[0].product_id
    assert stock_of(product_id) == 8
    event_publish(order.order_id)
    project_all()
    url = f"/admin/backoffice/order/{order.order_id}/action/refund/"
    page = staff_client.get(url)
    assert b"Amount" in page.content and b"Put the items back in stock" in page.content
    key = _key(page)
    form = {"key": key, "amount": "30.00", "restock": "on", "reason": "Returned"}

    first = csrf_post(staff_client, url, form)
    second = csrf_post(staff_client, url, form)

    assert first.status_code == second.status_code == 302
    assert [r["amount"] for r in stripe_refunds(localstripe, order.payment.intent_id)] == [3000]
    assert stock_of(product_id) == 10
    stored = DynamoOrder.get(order.order_id, consistent_read=True)
    assert stored.status == DynamoOrder.REFUNDED
    assert int(stored.payment.amount_refunded_cents) == 3000
    assert [(int(r.amount_cents), bool(r.restock), r.reason) for r in stored.payment.refunds] == [
        (3000, True, "Returned")
    ]
    run = ActionRun.objects.get(key=key)
    assert (run.state, run.outcome) == (ActionRun.DONE, "Refunded 30.00.")
    assert b"Already submitted" in staff_client.get(second["Location"]).content

    event_publish(order.order_id)  # the refund's event, as the notifier publishes it
    project_all()
    detail = staff_client.get(f"/admin/backoffice/order/{order.order_id}/change/")
    assert [(r.amount_cents, r.restock) for r in Refund.objects.filter(order_id=order.order_id)] == [
        (3000, True)
    ]
    assert b"REFUNDED" in detail.content


def test_an_action_whose_service_is_missing_fails_with_a_message(ledger_db):
    """An app that has not shipped a service makes its action unavailable, not the admin broken."""
    from backoffice import services

    key = uuid.uuid4().hex
    outcome = services.action_run(
        key=key, action="refund", by="staff", run=lambda: services.service("payments.no_such.order_refund")()
    )
    assert not outcome.ok and "not available" in outcome.message
    assert ActionRun.objects.get(key=key).state == ActionRun.FAILED


def test_a_stock_change_submitted_twice_is_applied_once(staff_client, make_product):
    product = make_product(stock=10)
    page = staff_client.get("/admin/catalog/", {"q": product.id})
    assert product.name.encode() in page.content
    keys = re.findall(rb'name="key" value="([0-9a-f]+)"', page.content)
    stock_key = keys[1].decode()

    for _ in range(2):
        csrf_post(
            staff_client,
            "/admin/catalog/",
            {"product_id": product.id, "form": "stock", "key": stock_key, "delta": "5"},
        )

    assert int(Product.get(product.id, consistent_read=True).stock) == 15


def test_a_price_change_from_a_stale_page_is_refused(staff_client, make_product):
    product = make_product(price_cents=1000)
    page = staff_client.get("/admin/catalog/", {"q": product.id})
    key = re.findall(rb'name="key" value="([0-9a-f]+)"', page.content)[0].decode()
    from catalog.services import product_update

    product_update(product_id=product.id, expected_version=int(product.version), changes={"name": "Renamed"})
    answer = csrf_post(
        staff_client,
        "/admin/catalog/",
        {
            "product_id": product.id,
            "form": "product",
            "key": key,
            "version": str(int(product.version)),
            "price": "12.50",
        },
    )
    assert answer.status_code == 302
    assert int(Product.get(product.id, consistent_read=True).price_cents) == 1000


def test_the_csv_export_streams_the_filtered_list(staff_client):
    email = f"csv-{uuid.uuid4().hex[:8]}@example.com"
    for _ in range(3):
        order_published(statuses=("PENDING", "CONFIRMED"), email=email, lines=(("p-1", "Kettle", 1250, 2),))
    project_all()

    response = staff_client.get("/admin/backoffice/order/export.csv", {"q": email, "status": "CONFIRMED"})

    assert response.status_code == 200 and response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("order_id,created_at,status")
    assert len(lines) == 4 and all(",25.00," in line and email in line for line in lines[1:])


def test_the_sales_page_adds_up_paid_orders(staff_client):
    order_published(statuses=("PENDING", "CONFIRMED"), lines=(("sales-p", "Sales kettle", 100000, 3),))
    project_all()
    page = staff_client.get("/admin/sales/")
    assert page.status_code == 200
    assert b"Sales kettle" in page.content and b"3000.00" in page.content


def test_staff_disable_and_enable_a_customers_sign_in(staff_client):
    from accounts.selectors import user_sign_in_enabled

    email = email_new("customer")
    sub = user_create(email=email)
    order_published(statuses=("PENDING", "CONFIRMED"), customer_id=sub, email=email)
    project_all()
    for action, enabled in (("disable", False), ("enable", True)):
        url = f"/admin/backoffice/customer/{sub}/sign-in/{action}/"
        csrf_post(staff_client, url, {"key": _key(staff_client.get(url))})
        assert user_sign_in_enabled(user_id=sub) is enabled


def test_cancel_submitted_twice_cancels_once(staff_client):
    from orders.models import Order as DynamoOrder

    item = order_published(statuses=("PENDING",))
    project_all()
    url = f"/admin/backoffice/order/{item['order_id']}/action/cancel/"
    key = _key(staff_client.get(url))

    csrf_post(staff_client, url, {"key": key})
    csrf_post(staff_client, url, {"key": key})

    order = DynamoOrder.get(item["order_id"], consistent_read=True)
    assert order.status == "CANCELLED"
    assert [c.status for c in order.history].count("CANCELLED") == 1
    assert ActionRun.objects.get(key=key).state == ActionRun.DONE
