"""Celery task: the thin, idempotent door to sending an order's notifications."""

from celery import shared_task
from django.conf import settings

from notifications.services import NotifyRetryLater, order_notifications_send


@shared_task(
    name="notifications.tasks.notify_order",
    # Routed to the notifications queue (CELERY_TASK_ROUTES). Acked after the work; a killed
    # worker's message comes back, and the markers make the repeat harmless.
    acks_late=True,
    reject_on_worker_lost=True,
    # Retries exhausted (SES down for long): the message stays, is received again and, after
    # NOTIFICATIONS_MAX_RECEIVES receives, moves to the notifications DLQ (alarmed).
    acks_on_failure=False,
    autoretry_for=(NotifyRetryLater,),
    retry_backoff=1,
    retry_backoff_max=settings.NOTIFY_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.NOTIFY_MAX_RETRIES,
    time_limit=settings.NOTIFY_TASK_TIME_LIMIT,
)
def notify_order(order_id: str) -> None:
    order_notifications_send(order_id=order_id)
