"""`manage.py ledger_migrate`: wait for the database, then apply migrations, one process at a time."""

import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection

# Any constant that no other advisory lock of ours uses.
MIGRATE_LOCK = 0x0C1A_C0DE


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
        # Tasks starting together (a deploy) each run this: one migrates, the others wait for it
        # and then find nothing to apply.
        locked = connection.vendor == "postgresql"
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
        try:
            call_command(
                "migrate", interactive=False, verbosity=options.get("verbosity", 1), stdout=self.stdout
            )
        finally:
            if locked:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])
