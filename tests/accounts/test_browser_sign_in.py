"""A person in a real browser (chromium via Playwright, gunicorn, moto's Cognito): signs in on the
browsable API, browses, fills the cart, checks out and sees their orders; the tokens live in
HttpOnly cookies and browser writes still need the CSRF token."""

import json
import re

import pytest
import requests

from tests.accounts.support import PASSWORD, email_new, user_create
from tests.ops.test_browser import ARTIFACTS, browser  # noqa: F401 - the shared browser fixture

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"


def _response_json(page) -> dict:
    """The JSON body the browsable API shows under its response headers."""
    text = page.locator(".response-info pre").inner_text()
    return json.loads(text[text.index("{") :])


@pytest.mark.slow
def test_a_person_signs_in_shops_checks_out_and_sees_their_orders(web, browser, make_product):  # noqa: F811
    product = make_product(name="Browser Teapot", price_cents=1999, stock=9)
    email = email_new("browser")
    user_create(email=email)
    context = browser.new_context()
    page = context.new_page()

    # A guest puts something in the cart first: it follows the person into their account.
    page.goto(f"{web.url}/cart")
    form = page.locator("#post-object-form form")
    form.locator("input[name=id]").fill(product.id)
    form.locator("input[name=qty]").fill("1")
    form.locator("button", has_text="POST").click()
    page.wait_for_load_state()

    page.goto(f"{web.url}/auth/login")
    form = page.locator("#post-object-form form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button", has_text="POST").click()
    page.wait_for_load_state()
    assert "HTTP 200 OK" in page.locator(".response-info").inner_text()
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    assert cookies["access_token"]["httpOnly"] and cookies["access_token"]["sameSite"] == "Lax"
    assert cookies["refresh_token"]["httpOnly"] and cookies["refresh_token"]["path"] == "/auth/"
    assert "cart_id" not in cookies  # merged into the account's cart
    assert page.evaluate("document.cookie").find("access_token") == -1  # no script can read it

    page.goto(f"{web.url}/me")
    assert _response_json(page)["email"] == email

    page.goto(f"{web.url}/cart")
    form = page.locator("#post-object-form form")
    form.locator("input[name=id]").fill(product.id)
    form.locator("input[name=qty]").fill("2")
    form.locator("button", has_text="POST").click()
    page.wait_for_load_state()
    cart = _response_json(page)
    assert cart["items"][0]["qty"] == 3  # the guest's 1 + 2

    page.goto(f"{web.url}/checkout")
    page.locator("a[href='#post-generic-content-form']").click()  # the "Raw data" tab
    raw = page.locator("#post-generic-content-form")
    raw.locator("textarea[name=_content]").fill("{}")
    raw.locator("button", has_text="POST").click()
    # The raw form posts with script and then shows the answer in place: wait for it.
    page.locator(".response-info", has_text="HTTP 202 Accepted").wait_for(timeout=30_000)
    order_id = _response_json(page)["id"]

    page.goto(f"{web.url}/orders")
    orders = _response_json(page)["results"]
    assert [order["id"] for order in orders] == [order_id]
    assert orders[0]["items"][0]["qty"] == 3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-orders.png"), full_page=True)

    # Sign out: the cookies go, and the browser is a guest again.
    page.goto(f"{web.url}/auth/logout")
    page.locator("a[href='#post-object-form']").click()  # back to the "HTML form" tab
    page.locator("#post-object-form form button", has_text="POST").click()
    page.locator(".response-info", has_text="HTTP 204").wait_for(timeout=30_000)
    assert "access_token" not in {cookie["name"] for cookie in context.cookies()}
    page.goto(f"{web.url}/orders")
    assert "HTTP 401" in page.locator(".response-info").inner_text()
    context.close()


def test_a_signed_in_browsers_write_without_the_csrf_token_is_refused(web, make_product):
    """The access cookie makes a browser's requests count as the customer's: so they need CSRF."""
    product = make_product(stock=5)
    email = email_new("csrf")
    user_create(email=email)
    session = requests.Session()
    session.headers["User-Agent"] = BROWSER_UA
    page = session.get(f"{web.url}/auth/login", headers={"Accept": "text/html"}, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    signed_in = session.post(
        f"{web.url}/auth/login",
        data={"email": email, "password": PASSWORD, "csrfmiddlewaretoken": token},
        headers={"Origin": web.url, "Accept": "application/json"},
        timeout=30,
    )
    assert signed_in.status_code == 200, signed_in.text
    assert session.cookies.get("access_token")
    assert session.get(f"{web.url}/me", timeout=10).json()["email"] == email

    forged = session.post(
        f"{web.url}/cart",
        json={"id": product.id, "qty": 1},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        timeout=10,
    )
    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf_failed"
    no_token = session.post(f"{web.url}/checkout", json={"items": [{"id": product.id, "qty": 1}]}, timeout=10)
    assert no_token.status_code == 403
    assert no_token.json()["code"] == "csrf_failed"


def test_api_clients_get_no_cookies_and_a_stale_cookie_is_anonymous(web):
    email = email_new("api")
    user_create(email=email)
    response = requests.post(f"{web.url}/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200
    assert "access_token" not in response.cookies
    stale = requests.get(f"{web.url}/cart", cookies={"access_token": "expired.or.forged"}, timeout=10)
    assert stale.status_code == 200  # a guest again, not locked out
    assert requests.get(f"{web.url}/me", cookies={"access_token": "x.y.z"}, timeout=10).status_code == 401
