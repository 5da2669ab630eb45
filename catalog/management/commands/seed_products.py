"""`manage.py seed_products [--count N]`: load the sample catalog, plus N synthetic products."""

import time

from django.core.management.base import BaseCommand

from catalog.services import products_seed_sample, products_seed_synthetic


class Command(BaseCommand):
    help = "Load the sample catalog (idempotent); --count N adds N synthetic products."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=0, help="Synthetic products to add.")
        parser.add_argument("--threads", type=int, default=4, help="Parallel batch writers.")

    def handle(self, *args, count: int, threads: int, **options):
        created = products_seed_sample()
        self.stdout.write(f"Sample catalog: {created} new products.")
        if count <= 0:
            return
        started = time.monotonic()

        def progress(written: int) -> None:
            if written % 10_000 < 500 or written == count:
                rate = written / max(time.monotonic() - started, 1e-6)
                self.stdout.write(f"  {written}/{count} synthetic products ({rate:.0f}/s)")

        written = products_seed_synthetic(count=count, threads=threads, progress=progress)
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"Wrote {written} synthetic products in {elapsed:.1f} s."))
