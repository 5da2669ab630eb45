"""`manage.py error_codes [--write]`: print (or write into README.md) the error-code table."""

from django.core.management.base import BaseCommand

from cloudcart.error_codes import README, error_codes_markdown, readme_with_table


class Command(BaseCommand):
    help = "Print the error-code table; --write puts it into README.md between its markers."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true")

    def handle(self, *args, write: bool = False, **options):
        if write:
            README.write_text(readme_with_table(README.read_text()))
            self.stdout.write(f"Wrote the table into {README}")
        else:
            self.stdout.write(error_codes_markdown())
