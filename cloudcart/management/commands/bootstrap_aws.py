"""`manage.py bootstrap_aws`: create the local tables and queues if missing (idempotent)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from cloudcart.bootstrap import aws_bootstrap


class Command(BaseCommand):
    help = "Create the DynamoDB tables and SQS queues if they are missing. Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=30, help="Seconds to wait for the endpoint.")
        parser.add_argument(
            "--then",
            action="append",
            default=[],
            metavar="COMMAND",
            help="Then run this management command (no arguments) in the same process; repeatable. "
            "`make run` seeds this way: one Python start and one set of AWS clients, not three.",
        )

    def handle(self, *args, wait: float, then: list[str], **options):
        aws_bootstrap(wait_seconds=wait)
        self.stdout.write(self.style.SUCCESS("AWS resources ready."))
        for command in then:
            call_command(command, stdout=self.stdout, stderr=self.stderr)
