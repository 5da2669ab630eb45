"""`manage.py ledger_migrate`: wait for the database, then apply migrations (local stack and deploys)."""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection


class Command(BaseCommand):
    help = "Wait until the database answers (it may start beside us), then run `migrate`."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=60, help="Seconds to wait for the database.")

    def handle(self, *args, wait: float = 60, **options):
        deadline = time.monotonic() + wait
        while True:
            try:
                connection.ensure_connection()
                break
            except OperationalError as exc:
                connection.close()
                if time.monotonic() > deadline:
                    raise CommandError(f"The database did not answer within {wait} s: {exc}") from exc
                time.sleep(0.3)
        call_command("migrate", interactive=False, verbosity=options.get("verbosity", 1), stdout=self.stdout)
