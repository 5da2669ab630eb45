"""The OpenAPI schema: valid, complete, and its Swagger UI served with local assets only."""

import re

import pytest
import requests
from openapi_spec_validator import validate

from cloudcart.errors import ERROR_CODES

OPENAPI_JSON = "application/vnd.oai.openapi+json"


@pytest.fixture(scope="module")
def schema(web) -> dict:
    response = requests.get(f"{web.url}/api/schema/", headers={"Accept": OPENAPI_JSON}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_every_operation_documents_request_id_errors_and_503(schema):
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert {"/products", "/products/{product_id}", "/categories/{category}", "/healthz", "/readyz"} <= set(
        schema["paths"]
    )
    for path, method, op in operations:
        names = {p["name"] for p in op.get("parameters", [])}
        assert "X-Request-ID" in names, (path, method)
        assert "503" in op["responses"], (path, method)
        assert "Retry-After" in op["responses"]["503"]["headers"]
        for status, response in op["responses"].items():
            assert "X-Request-ID" in response["headers"], (path, method, status)


def test_error_examples_use_only_known_codes(schema):
    code = schema["components"]["schemas"]["Error"]["properties"]["code"]
    ref = (code.get("allOf") or [code])[0]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ref]["enum"]) == set(ERROR_CODES)
    for item in schema["paths"].values():
        for op in item.values():
            for status, response in op["responses"].items():
                if not status.startswith(("4", "5")):
                    continue
                for media in response.get("content", {}).values():
                    examples = [e["value"] for e in media.get("examples", {}).values()]
                    examples += [media["example"]] if "example" in media else []
                    for example in examples:
                        assert example["code"] in ERROR_CODES


def test_swagger_ui_assets_are_served_by_the_app(web):
    page = requests.get(f"{web.url}/api/docs/", timeout=10)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert any("swagger-ui" in asset for asset in assets)
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by the app"
        got = requests.get(f"{web.url}{asset}", timeout=10)
        assert got.status_code == 200, asset
