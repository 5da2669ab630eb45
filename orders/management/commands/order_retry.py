"""`manage.py order_retry ORDER_ID [ORDER_ID ...]`: give FAILED orders another go.

Each FAILED order goes back to PENDING with a fresh publish budget and is published at once
(fix what made it fail first: the worker's log line for the order says why).
"""

from django.core.management.base import BaseCommand, CommandError

from orders.models import Order
from orders.services import order_retry


class Command(BaseCommand):
    help = "Move FAILED orders back to PENDING with a fresh publish budget, and publish them."

    def add_arguments(self, parser):
        parser.add_argument("order_ids", nargs="+", metavar="ORDER_ID")

    def handle(self, *args, order_ids: list[str], **options):
        refused = []
        for order_id in order_ids:
            if order_retry(order_id=order_id) is not None:
                self.stdout.write(f"{order_id}: PENDING again, published")
                continue
            try:
                status = Order.get(order_id, consistent_read=True).status
            except Order.DoesNotExist:
                status = "unknown order"
            self.stderr.write(f"{order_id}: not retried ({status}; only FAILED orders are)")
            refused.append(order_id)
        if refused:
            raise CommandError(f"{len(refused)} of {len(order_ids)} orders were not FAILED")
