"""Back-office fixtures: signed-in admin clients (staff, customer) over the session's Cognito."""

import pytest
from django.test import Client

from tests.accounts.support import PASSWORD, email_new, user_create


def signed_in_client(*, staff: bool) -> tuple[Client, str]:
    email = email_new("staff" if staff else "customer")
    user_create(email=email, staff=staff)
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/")
    client.post(
        "/admin/login/?next=/admin/",
        {"username": email, "password": PASSWORD, "csrfmiddlewaretoken": page.cookies["csrftoken"].value},
    )
    return client, email


@pytest.fixture
def staff_client(ledger_db) -> Client:
    client, _ = signed_in_client(staff=True)
    return client


def csrf_post(client: Client, url: str, data: dict):
    """POST like the browser's form: with the CSRF token from the cookie."""
    return client.post(url, {**data, "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
