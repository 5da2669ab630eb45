"""`manage.py error_codes [--write]`: print (or write into docs/api.md) the error-code table."""

from django.core.management.base import BaseCommand

from cloudcart.error_codes import API_DOC, doc_with_table, error_codes_markdown


class Command(BaseCommand):
    help = "Print the error-code table; --write puts it into docs/api.md between its markers."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true")

    def handle(self, *args, write: bool = False, **options):
        if write:
            API_DOC.write_text(doc_with_table(API_DOC.read_text()))
            self.stdout.write(f"Wrote the table into {API_DOC}")
        else:
            self.stdout.write(error_codes_markdown())
