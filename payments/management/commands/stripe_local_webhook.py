"""`manage.py stripe_local_webhook`: register the local web's webhook endpoint with localstripe.

`make run` runs it at start-up (after bootstrap_aws): localstripe keeps its webhooks in memory,
so each start registers `http://HOST:WEB_PORT/webhooks/stripe` with STRIPE_WEBHOOK_SECRET again.
Local only: Stripe itself has its endpoints configured in its dashboard.
"""

import os
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

WEBHOOK_ID = "cloudcart"


def local_webhook_register(*, api_base: str, url: str, secret: str, wait_seconds: float = 30) -> None:
    """POST /_config/webhooks/{id} (localstripe's own configuration API), waiting for it to serve."""
    body = urllib.parse.urlencode({"url": url, "secret": secret}).encode()
    request = urllib.request.Request(f"{api_base}/_config/webhooks/{WEBHOOK_ID}", data=body)  # noqa: S310
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - http(s) from settings
                return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class Command(BaseCommand):
    help = "Register the local web's /webhooks/stripe with localstripe (make run does it)."

    def add_arguments(self, parser):
        host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("WEB_PORT", "8000")
        parser.add_argument("--url", default=f"http://{host}:{port}/webhooks/stripe")
        parser.add_argument("--wait", type=float, default=30)

    def handle(self, *args, url: str, wait: float, **options):
        if settings.PAYMENTS_PROVIDER != "stripe" or not settings.STRIPE_API_BASE:
            self.stdout.write("Payments are off or on Stripe itself: no local webhook to register.")
            return
        try:
            local_webhook_register(
                api_base=settings.STRIPE_API_BASE,
                url=url,
                secret=settings.STRIPE_WEBHOOK_SECRET,
                wait_seconds=wait,
            )
        except (urllib.error.URLError, ConnectionError) as exc:
            raise CommandError(f"localstripe at {settings.STRIPE_API_BASE} did not answer: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"localstripe sends its webhooks to {url}."))
