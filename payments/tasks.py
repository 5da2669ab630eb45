"""Celery tasks: the payments reconciler (beat), a thin door to its service."""

from celery import shared_task
from django.conf import settings

from payments.services import payments_reconcile


@shared_task(name="payments.tasks.payments_reconcile", time_limit=settings.ORDER_TASK_TIME_LIMIT)
def reconcile_awaiting_payment() -> dict:
    """Beat's periodic task: ask Stripe about orders AWAITING_PAYMENT past
    PAYMENTS_RECONCILE_AFTER_SECONDS; authorised ones go on to the worker, those unpaid past
    PAYMENT_TIMEOUT_SECONDS expire."""
    return payments_reconcile()
