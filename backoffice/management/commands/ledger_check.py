"""`manage.py ledger_check`: compare the order ledger with DynamoDB; print every difference, exit 1 on any."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from backoffice.ledger import ledger_differences


class Command(BaseCommand):
    help = "Print every difference between the ledger and DynamoDB's orders; exit status 1 when any."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="Only orders created at or after this ISO 8601 time (UTC).")
        parser.add_argument("--page-size", type=int, default=500)

    def handle(self, *args, since: str | None, page_size: int, **options):
        start = None
        if since:
            start = parse_datetime(since)
            if start is None or start.tzinfo is None:
                raise CommandError(
                    "--since takes an ISO 8601 time with its offset, e.g. 2026-12-01T00:00:00Z."
                )
        count = 0
        for difference in ledger_differences(since=start, page_size=page_size):
            count += 1
            self.stdout.write(difference)
        if count:
            raise CommandError(f"{count} difference(s) between the ledger and DynamoDB.", returncode=1)
        self.stdout.write(self.style.SUCCESS("The ledger matches DynamoDB."))
