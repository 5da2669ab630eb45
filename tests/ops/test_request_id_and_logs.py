"""Request ids: taken from the client when sane, made otherwise, echoed, and on every JSON log line."""

import json
import logging
import time
import uuid

import requests

from cloudcart.logs import RequestIdFilter, json_formatter, request_id_from, request_id_var, short_hash


def test_sane_client_request_id_is_echoed(api):
    response = api.get("/healthz", HTTP_X_REQUEST_ID="client-abc.123")
    assert response["X-Request-ID"] == "client-abc.123"


def test_insane_client_request_id_is_replaced(api):
    for bad in ["x" * 129, "has space", "new\nline", "<script>", ""]:
        response = api.get("/healthz", HTTP_X_REQUEST_ID=bad)
        echoed = response["X-Request-ID"]
        assert echoed != bad
        assert len(echoed) == 32 and echoed.isalnum()


def test_an_id_with_a_trailing_newline_is_replaced():
    """`$` matches before a final newline: the whole value must match, not a prefix of it."""
    assert request_id_from("abc\n") != "abc\n"
    assert request_id_from("abc\n").isalnum()
    assert request_id_from("abc") == "abc"


def test_each_request_without_an_id_gets_a_new_one(api):
    first = api.get("/products/nope")["X-Request-ID"]
    second = api.get("/products/nope")["X-Request-ID"]
    assert first != second


def test_log_line_is_json_with_the_current_request_id():
    record = logging.LogRecord("cloudcart.test", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = request_id_var.set("rid-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(json_formatter().format(record))
    assert line["message"] == "hello world"
    assert line["request_id"] == "rid-42"
    assert line["level"] == "INFO"
    assert line["logger"] == "cloudcart.test"


def test_short_hash_hides_the_value_but_is_stable():
    cart_id = "c" * 43
    assert short_hash(cart_id) == short_hash(cart_id)
    assert cart_id not in short_hash(cart_id) and len(short_hash(cart_id)) == 12


def test_gunicorn_access_log_is_json_with_the_request_id(web):
    rid = f"rid-{uuid.uuid4().hex}"
    response = requests.get(f"{web.url}/products/absent-product", headers={"X-Request-ID": rid})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == rid
    access = [line for line in _logged(web, rid) if line["logger"] == "gunicorn.access"]
    assert access[0]["status"] == 404
    assert access[0]["path"] == "/products/absent-product"
    assert access[0]["method"] == "GET"


def test_a_client_error_is_one_log_line(web):
    """The access line says all there is; Django's "Not Found" warning would repeat it."""
    cases = {
        "not found": ("GET", "/products/absent-product", {}, 404),
        "method": ("PUT", "/checkout", {}, 405),
        "invalid": ("POST", "/cart", {"json": {"qty": "many"}}, 400),
        "bad host": ("GET", "/products", {"headers": {"Host": "evil.example"}}, 400),
    }
    rids = {case: f"rid-{uuid.uuid4().hex}" for case in cases}
    for case, (method, path, kwargs, status) in cases.items():
        headers = {"X-Request-ID": rids[case], **kwargs.pop("headers", {})}
        response = requests.request(method, f"{web.url}{path}", headers=headers, timeout=30, **kwargs)
        assert response.status_code == status, response.text
    for case, (_method, _path, _kwargs, status) in cases.items():
        lines = [(line["logger"], line.get("status")) for line in _logged(web, rids[case])]
        assert lines == [("gunicorn.access", status)], (case, lines)


def _logged(web, rid: str) -> list[dict]:
    """The JSON lines of request `rid`, once its access line is written (gunicorn writes it after
    the answer has gone, so a client can read the log before it is there)."""
    deadline = time.monotonic() + 60
    while True:
        lines = [json.loads(line) for line in web.log_path.read_text().splitlines() if rid in line]
        if any(line["logger"] == "gunicorn.access" for line in lines):
            return lines
        assert time.monotonic() < deadline, f"no access line for {rid}"
        time.sleep(0.05)


def test_logs_hold_no_cart_ids_or_secrets(web, make_product):
    from django.conf import settings

    product = make_product(stock=5)
    header_cart = f"cart{uuid.uuid4().hex}"
    requests.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}, headers={"X-Cart-Id": header_cart})
    minted = requests.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}).cookies["cart_id"]
    requests.post(
        f"{web.url}/cart", json={"id": "missing-product", "qty": 1}, headers={"X-Cart-Id": header_cart}
    )
    log = web.log_path.read_text()
    assert header_cart not in log
    assert minted not in log
    assert settings.SECRET_KEY not in log


def test_checkout_request_id_rides_in_the_celery_message_headers(api, make_product):
    """The published task's headers carry the checkout's request id (the worker restores it)."""
    import base64

    from cloudcart.task_context import HEADER
    from tests.orders.support import OrdersQueue

    queue = OrdersQueue()
    product = make_product(stock=5)
    rid = f"rid-{uuid.uuid4().hex}"
    response = api.post(
        "/checkout", {"items": [{"id": product.id, "qty": 1}]}, format="json", HTTP_X_REQUEST_ID=rid
    )
    assert response.status_code == 202, response.content
    assert response["X-Request-ID"] == rid
    order_id = response.json()["id"]
    deadline = time.monotonic() + 60
    envelope = None
    while envelope is None and time.monotonic() < deadline:
        for message in queue._take(queue.url):
            candidate = json.loads(base64.b64decode(message["Body"]))
            args = json.loads(base64.b64decode(candidate["body"]))[0]
            if args == [order_id]:
                envelope = candidate
    assert envelope is not None, "the checkout's task was not on the queue"
    assert envelope["headers"][HEADER] == rid
