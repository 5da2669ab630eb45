"""Production settings fail fast, and unexpected errors answer JSON without leaking internals."""

import logging
import os
import subprocess
import sys

from django.conf import settings

from cloudcart import aws
from tests.processes import ROOT


def _manage(*args, env):
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS")}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", env={"DJANGO_ENV": "production", "ALLOWED_HOSTS": "shop.example.com"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_allowed_hosts():
    result = _manage("check", env={"DJANGO_ENV": "production", "SECRET_KEY": "x" * 60})
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


def test_production_never_turns_debug_on():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        env={"DJANGO_ENV": "production", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "a", "DEBUG": "true"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_corrupt_product_gives_json_500_and_a_logged_traceback(api, caplog):
    # An item written outside the app with no price: a real bug path, not client input.
    aws.client("dynamodb").put_item(
        TableName=settings.PRODUCTS_TABLE,
        Item={"id": {"S": "corrupt-1"}, "name": {"S": "Broken"}, "category": {"S": "x"}},
    )
    with caplog.at_level(logging.ERROR, logger="cloudcart.errors"):
        response = api.get("/products/corrupt-1")

    assert response.status_code == 500
    assert response.json() == {"code": "internal_error", "detail": "An unexpected error occurred."}
    assert "Traceback" not in response.content.decode()
    assert any(record.exc_info for record in caplog.records), "the traceback was not logged"


def test_aws_clients_are_built_once_per_process():
    assert aws.client("dynamodb") is aws.client("dynamodb")


def test_the_local_endpoints_follow_moto_port_and_web_port_when_no_url_is_set():
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    show = (
        "from django.conf import settings; "
        "print(settings.AWS_ENDPOINT_URL, settings.SES_ENDPOINT_URL, settings.SQS_ENDPOINT_URL, "
        "settings.SHOP_URL)"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", show],
        cwd=ROOT,
        env={**clean, "MOTO_HOST": "127.0.0.2", "MOTO_PORT": "14566", "WEB_PORT": "18123"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    moto = "http://127.0.0.2:14566"
    assert result.stdout.splitlines()[-1].split() == [moto, moto, moto, "http://127.0.0.1:18123"]
