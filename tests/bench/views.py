"""The two baselines (the framework's ceiling and the uncached DynamoDB floor), and the switch
that has callgrind count a gunicorn worker's requests (tests/bench/instructions.py).

The baselines are bare Django views (no DRF), so a ratio against them shows what our code and DRF
add.
"""

import ctypes
import functools
import json
import os

from django.conf import settings
from django.http import Http404, HttpResponse

from cloudcart import aws

# The same bytes our product detail answers with, so both sides move the same payload.
_CONSTANT = json.dumps(
    {
        "id": "1",
        "name": "Smartphone X",
        "category": "electronics",
        "description": "6.1-inch OLED phone with 128 GB storage.",
        "price": "199.99",
        "currency": "USD",
        "stock": 42,
        "image_key": None,
        "image_url": None,
        "version": 1,
        "archived": False,
        "updated_at": "2026-01-01T00:00:00Z",
    }
).encode()


def constant_json(request):
    """Ceiling: Django's request/response cycle with nothing else."""
    return HttpResponse(_CONSTANT, content_type="application/json")


def one_getitem(request):
    """Floor: one eventually consistent GetItem of product "1" with boto3, raw item as JSON."""
    item = aws.client("dynamodb").get_item(TableName=settings.PRODUCTS_TABLE, Key={"id": {"S": "1"}})
    return HttpResponse(json.dumps(item.get("Item", {})), content_type="application/json")


@functools.cache
def _callgrind() -> ctypes.CDLL:
    return ctypes.CDLL(os.environ["BENCH_CALLGRIND_LIBRARY"])


def callgrind_counting(request, action: str):
    """Start or stop callgrind's count of this process (tests/bench/instructions.py)."""
    if "BENCH_CALLGRIND_LIBRARY" not in os.environ or action not in ("start", "stop"):
        raise Http404
    getattr(_callgrind(), f"counting_{action}")()
    return HttpResponse(status=204)
