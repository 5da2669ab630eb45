"""Payment settings fail fast in production, and localstripe runs as the session's local process."""

import os
import subprocess
import sys

import requests

from tests.processes import ROOT

STRIPE_KEYS = ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET")


def _production_check(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PAYMENTS_PROVIDER", *STRIPE_KEYS)}
    production = {"DJANGO_ENV": "production", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "shop.example.com"}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**clean, **production, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_with_stripe_and_a_key_missing():
    result = _production_check(STRIPE_SECRET_KEY="sk_live_x", STRIPE_PUBLISHABLE_KEY="pk_live_x")
    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr
    assert "STRIPE_SECRET_KEY" not in result.stderr.split("needs", 1)[-1]


def test_production_starts_with_the_three_keys_or_with_payments_off():
    keys = {"STRIPE_SECRET_KEY": "sk_x", "STRIPE_PUBLISHABLE_KEY": "pk_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"}
    assert _production_check(**keys).returncode == 0
    assert _production_check(PAYMENTS_PROVIDER="none").returncode == 0


def test_an_unknown_provider_is_refused():
    result = _production_check(PAYMENTS_PROVIDER="paypal")
    assert result.returncode != 0 and "PAYMENTS_PROVIDER" in result.stderr


def test_localstripe_serves_on_loopback_in_memory(localstripe):
    # The Stripe.js shim and the API (any sk_ key) answer; the store is the process's own.
    assert requests.get(f"{localstripe.url}/js.stripe.com/v3/", timeout=5).status_code == 200
    created = requests.post(
        f"{localstripe.url}/v1/customers", auth=("sk_test_x", ""), data={"email": "a@example.com"}, timeout=5
    )
    assert created.status_code == 200
    listed = requests.get(f"{localstripe.url}/v1/customers", auth=("sk_test_x", ""), timeout=5).json()
    assert created.json()["id"] in [customer["id"] for customer in listed["data"]]
    # Not on the machine's other addresses (the stock server binds every interface).
    with open("/proc/net/tcp") as table:
        listening = [line.split()[1] for line in table.readlines()[1:] if line.split()[3] == "0A"]
    assert f"0100007F:{localstripe.port:04X}" in listening
    assert f"00000000:{localstripe.port:04X}" not in listening
