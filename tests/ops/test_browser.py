"""A real browser (Debian's chromium via Playwright) uses the browsable API served by gunicorn."""

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",  # we run as root in CI; the sandbox refuses root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


@pytest.fixture
def browser(chromium):
    """The session's one Chromium (tests/conftest.py): Playwright's sync API runs once per process."""
    return chromium


@pytest.mark.slow
def test_browsable_api_styled_and_cart_form_post_works(web, browser, make_product):
    product = make_product(name="Browser Kettle", price_cents=2599, stock=7)
    page = browser.new_page()
    failed_assets = []
    page.on("requestfailed", lambda request: failed_assets.append((request.url, request.failure)))
    page.on(
        "response",
        lambda response: (
            failed_assets.append((response.url, response.status))
            if response.status >= 400
            and response.request.resource_type in {"stylesheet", "script", "font", "image"}
            else None
        ),
    )

    # The product page, styled by the browsable API's own (locally served) Bootstrap.
    page.goto(f"{web.url}/products/{product.id}")
    assert "Browser Kettle" in page.content()
    navbar_color = page.eval_on_selector(".navbar", "el => getComputedStyle(el).backgroundColor")
    assert navbar_color not in ("", "rgba(0, 0, 0, 0)"), "Bootstrap's CSS did not apply"

    # The cart page's HTML form: fill it and press POST, as a person would.
    page.goto(f"{web.url}/cart")
    form = page.locator("#post-object-form form")
    form.locator("input[name=id]").fill(product.id)
    form.locator("input[name=qty]").fill("2")
    form.locator("button", has_text="POST").click()
    page.wait_for_load_state()
    assert "HTTP 200 OK" in page.locator(".response-info").inner_text(), page.locator(
        ".response-info"
    ).inner_text()[:2000]

    page.goto(f"{web.url}/cart")
    body = page.locator(".response-info").inner_text()
    assert "Browser Kettle" in body
    assert '"qty": 2' in body
    assert '"subtotal": "51.98"' in body

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-cart.png"), full_page=True)

    # Swagger UI renders the schema with assets served by the app (no CDN is reachable here).
    page.goto(f"{web.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock-tag", timeout=15_000)
    assert "CloudCart API" in page.locator(".swagger-ui .info").inner_text()
    assert page.locator(".opblock").count() >= 10
    page.screenshot(path=str(ARTIFACTS / "browser-api-docs.png"))
    assert failed_assets == []
    page.close()
