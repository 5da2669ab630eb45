"""Celery tasks: thin, idempotent doors to the order services."""

from celery import shared_task
from django.conf import settings

from cloudcart.metrics import OLDEST_PENDING_ORDER_AGE, metric_put
from notifications.services import order_notify
from orders.services import OrderRetryLater, order_process, orders_oldest_pending_age, orders_reconcile


@shared_task(
    name="orders.tasks.process_order",
    # Ack only after the work: a worker that dies mid-task leaves the message to SQS, which hands
    # it out again after the visibility timeout (or at once, when only the pool child died).
    acks_late=True,
    reject_on_worker_lost=True,
    # An unexpected error leaves the message in the queue too: redelivered until the redrive
    # policy moves it to the DLQ after ORDERS_MAX_RECEIVES receives (kombu keeps rejected
    # messages only for queues with a redrive policy). Ordinary outcomes return normally.
    acks_on_failure=False,
    autoretry_for=(OrderRetryLater,),
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=8,
    # The hard limit stays below the queue's visibility timeout (checked by bootstrap_aws).
    time_limit=settings.ORDER_TASK_TIME_LIMIT,
)
def process_order(order_id: str) -> None:
    order_process(order_id=order_id)
    # Every delivery that finds the order final enqueues its notifications, not only the one that
    # finalized it: a worker that died between the order's transaction and this enqueue left its
    # message unacked, and the redelivery lands here. The notification markers make repeats
    # harmless. If the enqueue fails, the retry (or the unacked message) comes back to it.
    if not order_notify(order_id=order_id):
        raise OrderRetryLater(f"order {order_id}: notifications not enqueued")


@shared_task(name="orders.tasks.orders_reconcile", time_limit=settings.ORDER_TASK_TIME_LIMIT)
def reconcile_pending_orders() -> int:
    """Beat's periodic task: republish orders still PENDING after ORDERS_RECONCILE_AFTER_SECONDS
    (FAIL those past ORDERS_MAX_PUBLISHES), then report how long the oldest PENDING order has
    waited (the alarm on PENDING age watches it), also when the republishing raised: a
    reconciler that fails every run must still show the orders it leaves stuck."""
    try:
        return len(orders_reconcile())
    finally:
        metric_put(name=OLDEST_PENDING_ORDER_AGE, value=orders_oldest_pending_age(), unit="Seconds")
