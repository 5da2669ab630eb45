"""Celery tasks: the payments reconciler (beat), a thin door to its service."""

from celery import shared_task
from django.conf import settings

from cloudcart.metrics import OLDEST_AWAITING_PAYMENT_AGE, metric_put
from orders.models import Order
from orders.services import orders_oldest_pending_age
from payments.services import payments_reconcile


@shared_task(name="payments.tasks.payments_reconcile", time_limit=settings.ORDER_TASK_TIME_LIMIT)
def reconcile_awaiting_payment() -> dict:
    """Beat's periodic task: ask Stripe about orders AWAITING_PAYMENT past
    PAYMENTS_RECONCILE_AFTER_SECONDS; authorised ones go on to the worker, those unpaid past
    PAYMENT_TIMEOUT_SECONDS expire. Then (even when the run raised) it reports how long the oldest
    order AWAITING_PAYMENT has waited: the AwaitingPaymentStuck alarm watches it."""
    try:
        return payments_reconcile()
    finally:
        age = orders_oldest_pending_age(status=Order.AWAITING_PAYMENT)
        metric_put(name=OLDEST_AWAITING_PAYMENT_AGE, value=age, unit="Seconds")
