"""`manage.py ledger_project`: the long-running projector that keeps the order ledger current."""

import signal

from django.core.management.base import BaseCommand

from backoffice.projector import Projector


class Command(BaseCommand):
    help = "Consume the order events (the ledger's SQS queue) and upsert the ledger, until stopped."

    def add_arguments(self, parser):
        parser.add_argument(
            "--threads", type=int, default=None, help="Receive loops (LEDGER_PROJECTOR_THREADS)."
        )
        parser.add_argument(
            "--until-idle", action="store_true", help="Stop once the queue is empty (drain it, then exit)."
        )

    def handle(self, *args, threads: int | None, until_idle: bool, **options):
        projector = Projector(threads=threads, until_idle=until_idle)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: projector.stop())
        self.stdout.write(f"Ledger projector on {projector.queue_url} ({projector.threads} loops)")
        self.stdout.flush()
        projector.run()
        self.stdout.write(f"Ledger projector stopped: {projector.lag.projected} events projected")
