"""`manage.py outbox`: the latest e-mails and text messages the local SES and SNS (moto's server) accepted."""

import html
import json
import re
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.html import strip_tags


def _moto_data(*, endpoint: str) -> dict:
    # The standard library's client: `make run` installs the runtime requirements only.
    with urllib.request.urlopen(f"{endpoint.rstrip('/')}/moto-api/data.json", timeout=10) as answer:  # noqa: S310 - our own endpoint setting
        return json.load(answer)


def outbox_messages(*, endpoint: str) -> list[dict]:
    """Every e-mail moto's SES has accepted, oldest first (moto's own inspection API)."""
    return _moto_data(endpoint=endpoint).get("ses", {}).get("Message", [])


def outbox_sms(*, endpoint: str) -> list[dict]:
    """Every SMS moto's SNS has accepted (`phone_number`, `message`, `message_id`), oldest first."""
    return _moto_data(endpoint=endpoint).get("sns", {}).get("SMS", [])


class Command(BaseCommand):
    help = (
        "Print the latest e-mails and text messages sent through the local SES and SNS "
        "(moto's server keeps them in memory)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "-n", "--count", type=int, default=5, help="How many of the latest of each to show."
        )
        parser.add_argument("--to", help="Only e-mails to this address (SMS: this phone number).")

    def handle(self, *args, count: int, to: str | None, **options):
        endpoint = settings.SES_ENDPOINT_URL
        if not endpoint:
            raise CommandError("No SES endpoint is set: the outbox is the local moto server's (make run).")
        try:
            messages = outbox_messages(endpoint=endpoint)
            texts = outbox_sms(endpoint=settings.SNS_ENDPOINT_URL or endpoint)
        except OSError as exc:
            raise CommandError(f"The local SES/SNS at {endpoint} did not answer: {exc}") from exc
        if to:
            messages = [m for m in messages if to in _recipients(m)]
            texts = [t for t in texts if t.get("phone_number") == to]
        latest = messages[-count:] if count > 0 else []
        if not latest:
            self.stdout.write(f"No e-mails yet (SES at {endpoint}).")
        for message in latest:
            self.stdout.write("=" * 72)
            self.stdout.write(f"From:    {message.get('source')}")
            self.stdout.write(f"To:      {', '.join(_recipients(message))}")
            self.stdout.write(f"Subject: {message.get('subject')}")
            self.stdout.write("")
            self.stdout.write(_as_text(message.get("body") or ""))
        self.stdout.write(f"({len(latest)} of {len(messages)} e-mails; SES at {endpoint})")
        latest_texts = texts[-count:] if count > 0 else []
        for text in latest_texts:
            self.stdout.write("=" * 72)
            self.stdout.write(f"SMS to:  {text.get('phone_number')}")
            self.stdout.write(text.get("message") or "")
        self.stdout.write(f"({len(latest_texts)} of {len(texts)} text messages)")


def _recipients(message: dict) -> list[str]:
    destinations = message.get("destinations") or {}
    return [
        address
        for key in ("ToAddresses", "CcAddresses", "BccAddresses")
        for address in destinations.get(key, [])
    ]


def _as_text(body: str) -> str:
    """moto keeps the HTML part when there is one: shown as text (cells and links kept apart)."""
    body = re.sub(r"<title>.*?</title>", "", body, flags=re.S)
    body = re.sub(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', r"\2: \1", body, flags=re.S)
    body = re.sub(r"<tr>(.*?)</tr>", lambda row: row.group(1).replace("\n", " "), body, flags=re.S)
    body = re.sub(r"</t[dh]>", "  ", body)
    lines = [" ".join(line.split()) for line in html.unescape(strip_tags(body)).splitlines()]
    return "\n".join(line for line in lines if line)
