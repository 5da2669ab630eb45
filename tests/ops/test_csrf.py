"""CSRF over real HTTP: browser writes need Django's check, header-only API clients do not."""

import re

import pytest
import requests


@pytest.fixture
def product(make_product):
    return make_product(name="CSRF target", stock=20)


@pytest.mark.parametrize("path", ["/cart", "/checkout"])
def test_cross_site_form_post_is_refused_with_json_403(web, product, path):
    response = requests.post(
        f"{web.url}{path}",
        data={"id": product.id, "qty": "1"},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "csrf_failed"


BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"


def test_cookie_write_without_token_is_refused(web, product):
    response = requests.post(
        f"{web.url}/cart",
        json={"id": product.id, "qty": 1},
        cookies={"cart_id": "k" * 32},
        headers={"User-Agent": BROWSER_UA},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"


def test_curl_with_a_cookie_jar_is_not_a_browser(web, product):
    """The documented `curl -c jar -b jar` cart flow: cookies, no browser headers, no token."""
    jar = requests.Session()
    jar.headers["User-Agent"] = "curl/8.5.0"
    for _ in range(2):
        response = jar.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}, timeout=10)
        assert response.status_code == 200, response.text
    assert response.json()["items"][0]["qty"] == 2


def test_header_and_cookieless_api_clients_are_not_affected(web, product):
    by_header = requests.post(
        f"{web.url}/cart",
        json={"id": product.id, "qty": 1},
        headers={"X-Cart-Id": "h" * 32},
        cookies={"cart_id": "h" * 32},
        timeout=10,
    )
    assert by_header.status_code == 200, by_header.text
    first_write = requests.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}, timeout=10)
    assert first_write.status_code == 200, first_write.text
    assert first_write.cookies.get("cart_id")


def test_same_origin_form_post_with_the_pages_token_works(web, product):
    session = requests.Session()
    page = session.get(f"{web.url}/cart", headers={"Accept": "text/html"}, timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(
        f"{web.url}/cart",
        data={"id": product.id, "qty": "2", "csrfmiddlewaretoken": token},
        headers={"Origin": web.url, "Accept": "application/json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["qty"] == 2


def test_a_write_django_itself_refuses_is_json_too(web):
    """A plain Django view (not DRF's) behind Django's CSRF middleware: its refusal was an HTML page."""
    response = requests.put(f"{web.url}/healthz", timeout=30)
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["code"] == "csrf_failed"
