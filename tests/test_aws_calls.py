"""The per-request AWS call counter: what it counts, and the header the app answers with it."""

import threading

import pytest
import requests
from django.test import override_settings

from catalog.models import Product
from cloudcart import aws
from cloudcart.aws import aws_calls_counted


def test_counts_pynamodb_and_boto3_calls_by_service_and_operation(make_product):
    product = make_product()
    with aws_calls_counted() as calls:
        Product.get(product.id, consistent_read=True)  # PynamoDB's own botocore client
        Product.get(product.id)
        aws.client("sqs").list_queues(MaxResults=1)  # a boto3 client from cloudcart.aws

    assert calls == {"dynamodb.GetItem": 2, "sqs.ListQueues": 1}
    assert calls.service("dynamodb") == 2
    assert calls.header_value() == "dynamodb=2, sqs=1"


def test_counts_belong_to_the_context_that_made_them(make_product):
    """Two requests served at once on two threads each see only their own calls."""
    product = make_product()
    seen = {}
    barrier = threading.Barrier(2)

    def request(name: str, gets: int) -> None:
        with aws_calls_counted() as calls:
            barrier.wait(timeout=10)
            for _ in range(gets):
                Product.get(product.id)
        seen[name] = calls.service("dynamodb")

    threads = [threading.Thread(target=request, args=(name, gets)) for name, gets in (("a", 1), ("b", 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert seen == {"a": 1, "b": 3}


def test_calls_outside_a_counting_context_are_not_counted(make_product):
    product = make_product()
    with aws_calls_counted() as calls:
        pass
    Product.get(product.id)
    assert calls.header_value() == "none"


def test_a_request_answers_its_dynamodb_calls_in_a_header(api, make_product):
    product = make_product()
    response = api.get(f"/products/{product.id}")  # the read cache is off in tests: one GetItem

    assert response.status_code == 200
    assert response["X-AWS-Calls"] == "dynamodb=1"


def test_gunicorn_answers_the_header_and_counts_the_checkout_publish(web, make_product):
    """Through real gunicorn: the checkout's SQS send (kombu's own client) is counted too."""
    product = make_product(price_cents=500, stock=5)
    response = requests.post(
        f"{web.url}/checkout", json={"items": [{"id": product.id, "qty": 1}]}, timeout=30
    )

    assert response.status_code == 202, response.text
    counts = dict(pair.split("=") for pair in response.headers["X-AWS-Calls"].split(", "))
    assert int(counts["sqs"]) >= 1
    assert int(counts["dynamodb"]) >= 2  # read the prices, write the order


def test_counting_refuses_to_run_when_the_setting_is_off():
    # The hook is installed only with the setting: a count of zero must never pass for "no calls".
    with override_settings(AWS_CALL_COUNTING=False), pytest.raises(RuntimeError, match="AWS_CALL_COUNTING"):
        with aws_calls_counted():
            pass
