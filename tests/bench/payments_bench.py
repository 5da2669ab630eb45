"""Calls per paid order: the AWS and Stripe calls of checkout, the payment call and the worker's
stock + capture, counted in this process (cloudcart.aws's per-request counter) against the
bench's own DynamoDB/moto and a localstripe of its own. `make bench` runs it after the worker
cases; alone (a minute): `.venv/bin/python -m tests.bench.payments_bench`.
"""

import os
import statistics
import subprocess
import sys

import requests

from tests import aws_env  # before Django: the local AWS environment of this process
from tests.aws_env import free_port
from tests.processes import ROOT, LocalAws, LocalStripe

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudcart.settings")

STEPS = ("checkout", "payment", "worker")


def _card(base: str) -> str:
    """A test card's PaymentMethod, made as the browser's Stripe.js would (not counted)."""
    from django.conf import settings

    answer = requests.post(
        f"{base}/v1/payment_methods",
        auth=(settings.STRIPE_SECRET_KEY, ""),
        data={
            "type": "card",
            "card[number]": "4242424242424242",
            "card[exp_month]": "12",
            "card[exp_year]": "2034",
            "card[cvc]": "123",
        },
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["id"]


def payment_calls(*, product_id: str, orders: int = 5) -> dict:
    """Per step, the median calls per order by service (dynamodb, sqs, stripe) over `orders`
    orders, each checked out, paid with a test card and processed to CONFIRMED."""
    from django.conf import settings

    from cloudcart.aws import aws_calls_counted
    from orders.models import Order
    from orders.services import LineRequest, order_place, order_process
    from payments.services import order_pay

    stripe = LocalStripe(free_port(), log_name="bench-localstripe")
    stripe.start()
    saved = (settings.PAYMENTS_PROVIDER, settings.STRIPE_API_BASE)
    settings.PAYMENTS_PROVIDER, settings.STRIPE_API_BASE = "stripe", stripe.url
    per_step: dict[str, list[dict[str, int]]] = {step: [] for step in STEPS}
    try:
        for _ in range(orders):
            with aws_calls_counted() as calls:
                placed = order_place(
                    lines=[LineRequest(product_id, 1)], client_total_cents=None, cart_id=None
                )
            per_step["checkout"].append(calls.by_service())
            method = _card(stripe.url)
            with aws_calls_counted() as calls:
                order_pay(order_id=placed.order_id, payment_method=method)
            per_step["payment"].append(calls.by_service())
            with aws_calls_counted() as calls:
                order_process(order_id=placed.order_id)
            per_step["worker"].append(calls.by_service())
            status = Order.get(placed.order_id, consistent_read=True).status
            assert status == Order.CONFIRMED, f"bench order {placed.order_id} ended {status}"
    finally:
        settings.PAYMENTS_PROVIDER, settings.STRIPE_API_BASE = saved
        stripe.stop()
    result = {}
    for step, counts in per_step.items():
        services = sorted({name for count in counts for name in count})
        result[step] = {name: statistics.median(count.get(name, 0) for count in counts) for name in services}
    result["per_order"] = {
        name: sum(result[step].get(name, 0) for step in STEPS)
        for name in sorted({name for step in STEPS for name in result[step]})
    }
    result["orders"] = orders
    return result


def payment_calls_print(result: dict) -> None:
    print(f"\ncalls per paid order (median of {result['orders']}; checkout -> payment -> worker capture):")
    for step in (*STEPS, "per_order"):
        print(f"  {step:<10} " + ", ".join(f"{name}={count:g}" for name, count in result[step].items()))


def main() -> None:
    """On its own: local AWS servers and one product of its own, then the count."""
    os.environ["TABLE_PREFIX"] = f"bench-{os.environ['TABLE_PREFIX'].removeprefix('test-')}"
    import django

    django.setup()
    from catalog.services import product_build

    aws = LocalAws(moto_port=aws_env.MOTO_PORT, dynamodb_port=aws_env.DYNAMODB_PORT, log_prefix="bench-")
    aws.start()
    try:
        subprocess.run([sys.executable, "manage.py", "bootstrap_aws"], cwd=ROOT, check=True)
        product_build(
            product_id="bench-paid", name="Bench", category="bench", price_cents=1999, stock=1000
        ).save()
        payment_calls_print(payment_calls(product_id="bench-paid"))
    finally:
        aws.stop()


if __name__ == "__main__":
    main()
