"""Hostile bodies: too large (with or without Content-Length), nested too deep, not UTF-8."""

import io
import json

import pytest
import requests
from django.conf import settings
from rest_framework.exceptions import ParseError

from cloudcart.parsers import MAX_JSON_DEPTH, StrictJSONParser, json_depth


def _parse(raw: bytes):
    return StrictJSONParser().parse(io.BytesIO(raw), "application/json", {})


def test_parser_accepts_ordinary_json():
    assert _parse(b'{"items": [{"id": "1", "qty": 2}], "total": "1.00"}')["items"][0]["qty"] == 2


def test_parser_refuses_deep_nesting_without_recursion_error():
    with pytest.raises(ParseError):
        _parse(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(ParseError):
        _parse(b'{"a":' * (MAX_JSON_DEPTH + 1) + b"1" + b"}" * (MAX_JSON_DEPTH + 1))
    assert json_depth(_parse(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)) == MAX_JSON_DEPTH


def test_parser_refuses_non_utf8_and_nan():
    with pytest.raises(ParseError, match="UTF-8"):
        _parse('{"id": "caf\u00e9"}'.encode("latin-1"))
    with pytest.raises(ParseError):
        _parse(b'{"total": NaN}')


def test_oversized_body_is_413_json_before_routing(api):
    body = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = api.generic("POST", "/products", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_oversized_bodies_are_413_under_gunicorn_with_and_without_content_length(web):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    big = b"[" + b"1," * limit + b"1]"
    declared = requests.post(f"{web.url}/products", data=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413, declared.text
    assert declared.json()["code"] == "request_too_large"

    def chunks():  # a generator makes requests send Transfer-Encoding: chunked, no Content-Length
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    chunked = requests.post(
        f"{web.url}/products", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert chunked.status_code == 413, chunked.text
    assert chunked.json()["code"] == "request_too_large"
    # A small chunked body is read (not mistaken for an empty one): here it reaches the 405.
    small = requests.put(f"{web.url}/products", data=iter([b'{"a":', b"1}"]))
    assert small.status_code == 405
    assert small.json()["code"] == "method_not_allowed"


def test_hostile_cart_bodies_are_400_json_over_http(web):
    headers = {"Content-Type": "application/json", "X-Cart-Id": "n" * 32}
    deep = b"[" * 20_000 + b"]" * 20_000  # under the size limit, far over the depth
    for body in [deep, b'{"id": "caf\xe9", "qty": 1}', b'{"id": "1", "qty": NaN}', b'{"id": "1"']:
        response = requests.post(f"{web.url}/cart", data=body, headers=headers, timeout=10)
        assert response.status_code == 400, (body[:20], response.text)
        assert response.json()["code"] == "parse_error"


def test_wrong_media_types_and_hosts_get_json_errors(web):
    cases = [
        (
            "POST",
            "/cart",
            {"data": b"id=1", "headers": {"Content-Type": "text/plain", "X-Cart-Id": "m" * 32}},
            415,
        ),
        ("GET", "/products", {"headers": {"Accept": "image/png"}}, 406),
        ("GET", "/products", {"headers": {"Host": "evil.example"}}, 400),
        ("TRACE", "/cart", {}, 405),
    ]
    for method, path, kwargs, status in cases:
        response = requests.request(method, f"{web.url}{path}", timeout=10, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text[:200])
        assert response.headers["Content-Type"].startswith("application/json"), (method, path)
        assert response.json()["code"]


def test_gunicorns_own_refusals_are_json(web):
    too_long_line = requests.get(f"{web.url}/products?x={'a' * 9000}", timeout=10)
    too_big_header = requests.get(f"{web.url}/products", headers={"X-Big": "b" * 9000}, timeout=10)
    for response, status in [(too_long_line, 414), (too_big_header, 431)]:
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["code"] == "bad_request"


def test_every_error_body_is_the_same_compact_json(web):
    """Django's own handlers (an unknown path, a bad Host), DRF's views and gunicorn's refusals
    write `{"code":...,"detail":...}` alike: no spaces after separators."""
    answers = [
        requests.get(f"{web.url}/no-such-path", timeout=30),
        requests.get(f"{web.url}/products/absent-product", timeout=30),
        requests.get(f"{web.url}/products", headers={"Host": "evil.example"}, timeout=30),
        requests.get(f"{web.url}/products", headers={"X-Big": "b" * 9000}, timeout=30),
    ]
    assert [response.status_code for response in answers] == [404, 404, 400, 431]
    for response in answers:
        body = response.json()
        assert set(body) >= {"code", "detail"}
        assert response.content == json.dumps(body, separators=(",", ":")).encode(), response.content
