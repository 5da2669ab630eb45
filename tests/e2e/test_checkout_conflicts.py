"""Transaction conflicts on checkout are real on DynamoDB Local: they are retried, never answered.

One client's checkouts all touch its own cart item (the throttle count rides in each order's
transaction), so checkouts sent at once conflict with each other; each must still succeed.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from orders.models import Order


def test_concurrent_checkouts_of_one_client_all_succeed_despite_conflicts(web, make_product):
    product = make_product(stock=500)
    cart_id = uuid.uuid4().hex
    # The client has a cart (and so a throttle count on its item) before the burst.
    requests.post(
        f"{web.url}/cart", json={"id": product.id, "qty": 1}, headers={"X-Cart-Id": cart_id}, timeout=30
    )

    def checkout(_):
        return requests.post(
            f"{web.url}/checkout",
            json={"items": [{"id": product.id, "qty": 1}]},
            headers={"X-Cart-Id": cart_id},
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(checkout, range(12)))

    assert [r.status_code for r in responses] == [202] * 12, [
        r.text for r in responses if r.status_code != 202
    ]
    assert len({r.json()["id"] for r in responses}) == 12
    assert len(list(Order.scan(Order.cart_id == cart_id, consistent_read=True))) == 12
