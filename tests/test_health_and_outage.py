"""Health endpoints, and what clients see when DynamoDB cannot be reached (real processes)."""

import socket
import time

import requests

from tests.aws_env import free_port
from tests.processes import Gunicorn


def test_healthz_is_200_without_dependencies(api):
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_readyz_is_200_when_dynamodb_answers(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["dynamodb"] == "ok"


def test_unreachable_dynamodb_gives_503_with_retry_after_quickly():
    """gunicorn pointed at a closed port: every AWS-backed answer is a fast 503, never a 500."""
    # A socket bound but never listening keeps the port closed (connections are refused) and
    # keeps any other process on this machine from taking it during the test.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed_url = f"http://127.0.0.1:{closed_port}"
    env = {"AWS_ENDPOINT_URL": closed_url, "AWS_ENDPOINT_URL_DYNAMODB": closed_url}
    server = Gunicorn(free_port(), env=env, name="outage")
    try:
        for path in ["/products/1", "/products", "/categories/books", "/readyz"]:
            started = time.monotonic()
            response = requests.get(server.url + path, timeout=30)
            elapsed = time.monotonic() - started
            assert response.status_code == 503, (path, response.text)
            assert response.headers["Retry-After"].isdigit()
            assert response.json()["code"] == "service_unavailable"
            assert elapsed < 10, f"{path} took {elapsed:.1f} s"
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
        closed.close()


def test_browsable_api_is_html_with_reachable_stylesheet(web, make_product):
    product = make_product(name="Browsable")
    response = requests.get(f"{web.url}/products/{product.id}", headers={"Accept": "text/html"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Browsable" in response.text
    assert "/static/rest_framework/css/bootstrap.min.css" in response.text

    css = requests.get(f"{web.url}/static/rest_framework/css/bootstrap.min.css", timeout=10)
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    assert len(css.content) > 10_000


def test_api_root_links_to_every_endpoint(api):
    body = api.get("/").json()
    assert body["products"].endswith("/products")
    assert body["product"].endswith("/products/1")
    assert body["cart"].endswith("/cart")
    assert body["checkout"].endswith("/checkout")
    assert body["docs"].endswith("/api/docs/")
    for link in ("products", "category", "health", "docs"):
        assert api.get(body[link]).status_code == 200, link
