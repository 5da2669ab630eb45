"""`manage.py bootstrap_aws`: create the local tables and queues if missing (idempotent)."""

from django.core.management.base import BaseCommand

from cloudcart.bootstrap import aws_bootstrap


class Command(BaseCommand):
    help = "Create the DynamoDB tables and SQS queues if they are missing. Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=30, help="Seconds to wait for the endpoint.")

    def handle(self, *args, wait: float, **options):
        aws_bootstrap(wait_seconds=wait)
        self.stdout.write(self.style.SUCCESS("AWS resources ready."))
