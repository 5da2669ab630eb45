"""`manage.py ledger_rebuild`: rebuild the order ledger from DynamoDB (paged, resumable)."""

from django.core.management.base import BaseCommand

from backoffice.ledger import ledger_rebuild


class Command(BaseCommand):
    help = "Upsert every DynamoDB order into the ledger, page by page; a rerun resumes where one stopped."

    def add_arguments(self, parser):
        parser.add_argument("--page-size", type=int, default=500)
        parser.add_argument("--restart", action="store_true", help="Start from the first page again.")

    def handle(self, *args, page_size: int, restart: bool, **options):
        result = ledger_rebuild(
            page_size=page_size,
            restart=restart,
            on_page=lambda pages, done: self.stdout.write(f"page {pages}: {done} orders", ending="\n"),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Ledger rebuilt{' (resumed)' if result.resumed else ''}: {result.orders} orders read, "
                f"{result.written} rows written, {result.pages} pages."
            )
        )
