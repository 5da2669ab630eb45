"""Answers that carry tokens are never cached, and never written into an HTML page."""

import uuid

from tests.accounts.support import PASSWORD, email_new, user_create


def _login(api, email: str, **extra):
    address = f"198.18.0.{uuid.uuid4().int % 250 + 1}"
    return api.post("/auth/login", {"email": email, "password": PASSWORD}, REMOTE_ADDR=address, **extra)


def test_sign_in_and_refresh_answers_are_never_stored(api):
    email = email_new("nostore")
    user_create(email=email)
    signed_in = _login(api, email, format="json")
    refreshed = api.post("/auth/refresh", {"refresh_token": signed_in.json()["refresh_token"]}, format="json")
    for response in (signed_in, refreshed):
        assert response.status_code == 200, response.content
        assert "no-store" in response["Cache-Control"]
        assert response["Pragma"] == "no-cache"


def test_the_browsable_api_never_shows_the_tokens_in_its_page(api):
    email = email_new("page")
    user_create(email=email)
    page = _login(api, email, HTTP_ACCEPT="text/html", HTTP_SEC_FETCH_SITE="same-origin")
    assert page.status_code == 200, page.content
    assert page["Content-Type"].startswith("text/html")
    access, refresh = page.cookies["access_token"].value, page.cookies["refresh_token"].value
    html = page.content.decode()
    for secret in (access, refresh, access[-40:], refresh[-40:], PASSWORD):
        assert secret not in html
    assert "Signed in" in html  # the page says what happened instead
    assert "no-store" in page["Cache-Control"]
    refreshed = api.post(
        "/auth/refresh",
        {},
        HTTP_ACCEPT="text/html",
        HTTP_SEC_FETCH_SITE="same-origin",
        HTTP_COOKIE=f"refresh_token={refresh}",
    )
    assert refreshed.status_code == 200, refreshed.content
    new_access = refreshed.cookies["access_token"].value
    assert new_access not in refreshed.content.decode()
