"""A staff member in a real browser (chromium via Playwright, gunicorn, moto's Cognito) runs the
catalog through the browsable API's forms; a customer then sees the product in the listing."""

import json

import pytest

from tests.accounts.support import PASSWORD, email_new, user_create
from tests.ops.test_browser import ARTIFACTS, browser  # noqa: F401 - the shared browser fixture


def _response_json(page) -> dict:
    text = page.locator(".response-info pre").inner_text()
    return json.loads(text[text.index("{") :])


def _sign_in(page, url: str, email: str) -> None:
    page.goto(f"{url}/auth/login")
    form = page.locator("#post-object-form form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("button", has_text="POST").click()
    page.wait_for_load_state()
    assert "HTTP 200 OK" in page.locator(".response-info").inner_text()


@pytest.mark.slow
def test_staff_create_edit_and_restock_in_the_browser_and_a_customer_sees_it(web, browser):  # noqa: F811
    email = email_new("staff-browser")
    user_create(email=email, staff=True)
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, web.url, email)

    # Create, with the HTML form of /products (no id: one is generated).
    page.goto(f"{web.url}/products")
    form = page.locator("#post-object-form form")
    form.locator("input[name=name]").fill("Browser Lamp")
    form.locator("input[name=category]").fill("browser-staff")
    form.locator("input[name=price]").fill("19.90")
    form.locator("input[name=stock]").fill("4")
    form.locator("button", has_text="POST").click()
    page.wait_for_load_state()
    assert "HTTP 201 Created" in page.locator(".response-info").inner_text()
    product_id = _response_json(page)["id"]

    # Edit: the form comes filled in with the product and the version it was read at.
    page.goto(f"{web.url}/products/{product_id}")
    form = page.locator("#put-object-form form")
    assert form.locator("input[name=version]").input_value() == "1"
    form.locator("input[name=price]").fill("17.50")
    form.locator("button", has_text="PUT").click()
    # The PUT form posts with script and shows the answer in place: wait for the new price.
    page.locator(".response-info", has_text="17.50").wait_for(timeout=30_000)
    assert (_response_json(page)["price"], _response_json(page)["version"]) == ("17.50", 2)

    # Restock.
    page.goto(f"{web.url}/products/{product_id}/stock")
    form = page.locator("#post-object-form form")
    form.locator("input[name=delta]").fill("6")
    form.locator("button", has_text="POST").click()
    page.wait_for_load_state()
    assert _response_json(page)["stock"] == 10
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-staff-stock.png"), full_page=True)
    context.close()

    # A customer (here: anyone) sees it in its category, at the new price.
    guest = browser.new_context().new_page()
    guest.goto(f"{web.url}/categories/browser-staff")
    listing = _response_json(guest)["results"]
    assert [(p["id"], p["price"], p["stock"]) for p in listing] == [(product_id, "17.50", 10)]
    assert guest.locator("#post-object-form").count() == 0  # no staff forms for a guest
