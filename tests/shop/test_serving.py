"""The web shop on the API's origin: index.html for every shop path, immutable assets, the browser
settings endpoint that sets the CSRF cookie, and CSRF still required for the shop's writes."""

import re

import requests

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"}


def test_every_shop_path_answers_index_html_never_cached_with_the_security_policy(web):
    for path in ("/shop", "/shop/", "/shop/products/anything", "/shop/orders/abc/deeper"):
        response = requests.get(f"{web.url}{path}", timeout=10)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"].startswith("text/html")
        assert '<div id="app">' in response.text
        assert response.headers["Cache-Control"] == "no-store"
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy
        assert re.search(r"script-src 'self' https://js\.stripe\.com", policy)
    refused = requests.post(f"{web.url}/shop/cart", timeout=10)
    assert refused.status_code == 405 and refused.json()["code"] == "method_not_allowed"


def test_the_shop_assets_are_hashed_compressed_and_cached_for_a_year(web):
    index = requests.get(f"{web.url}/shop/", timeout=10).text
    scripts = re.findall(r'src="(/shop/assets/[^"]+\.js)"', index)
    styles = re.findall(r'href="(/shop/assets/[^"]+\.css)"', index)
    assert scripts and styles, index
    for asset in scripts + styles:
        assert re.search(r"-[A-Za-z0-9_-]{8}\.(js|css)$", asset), asset  # content hash in the name
        response = requests.get(f"{web.url}{asset}", headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert response.status_code == 200, asset
        assert "immutable" in response.headers["Cache-Control"]
        assert int(re.search(r"max-age=(\d+)", response.headers["Cache-Control"])[1]) >= 365 * 24 * 3600
        assert response.headers.get("Content-Encoding") == "gzip"


def test_shop_config_names_the_payment_settings_and_sets_the_csrf_cookie(web):
    response = requests.get(f"{web.url}/shop/config.json", timeout=10)
    assert response.status_code == 200
    assert set(response.json()) == {"payments_provider", "stripe_js_url", "stripe_publishable_key"}
    assert response.cookies.get("csrftoken")
    assert "no-store" in response.headers["Cache-Control"]


def test_the_shops_writes_need_the_csrf_token_from_its_cookie(web, make_product):
    product = make_product(stock=3)
    session = requests.Session()
    session.headers.update({**BROWSER, "Origin": web.url})
    session.get(f"{web.url}/shop/config.json", timeout=10)
    token = session.cookies["csrftoken"]

    refused = session.post(f"{web.url}/cart", json={"id": product.id, "qty": 1}, timeout=10)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    from_another_site = session.post(
        f"{web.url}/cart",
        json={"id": product.id, "qty": 1},
        headers={"X-CSRFToken": token, "Origin": "https://evil.example"},
        timeout=10,
    )
    assert from_another_site.status_code == 403
    accepted = session.post(
        f"{web.url}/cart", json={"id": product.id, "qty": 1}, headers={"X-CSRFToken": token}, timeout=10
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["items"][0]["qty"] == 1
