"""The JSON shortcut in content negotiation picks exactly what DRF's own negotiation picks."""

import pytest
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.test import APIRequestFactory

from cloudcart.negotiation import JSONFirstNegotiation


def _choice(negotiation, accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/products", **headers))
    renderers = [renderer() for renderer in api_settings.DEFAULT_RENDERER_CLASSES]
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers)
    except exceptions.NotAcceptable:
        return "406"
    return type(renderer), media_type


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/json; indent=4",
        "text/html",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "application/xml",
        "",
    ],
)
def test_shortcut_agrees_with_drf(accept):
    assert _choice(JSONFirstNegotiation(), accept) == _choice(DefaultContentNegotiation(), accept)


def test_it_is_the_configured_negotiation():
    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is JSONFirstNegotiation
