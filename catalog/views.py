"""Catalog endpoints: `GET /products`, `GET /products/{id}`, `GET /categories/{name}`.

JSON answers come from the bounded-staleness cache (catalog/cache.py) with an `ETag` (304 on a
matching `If-None-Match`) and `Cache-Control: max-age` within the staleness bound, so a CDN or
the load balancer may cache them too. The browsable API (HTML) is rendered by DRF as usual.
"""

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.http import parse_etags, urlencode
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.cache import catalog_json_cached
from catalog.models import CATEGORY_PATTERN, PRODUCT_ID_PATTERN
from catalog.selectors import product_get, products_by_category, products_page
from catalog.serializers import product_data
from cloudcart.openapi import (
    CURSOR_PARAMETER,
    LIMIT_PARAMETER,
    PRODUCT_EXAMPLE,
    ProductPageSerializer,
    ProductSerializer,
    errors,
)
from cloudcart.pagination import Page, page_size

_PAGE_EXAMPLE = OpenApiExample(
    "A page",
    value={"results": [PRODUCT_EXAMPLE], "next": "http://127.0.0.1:8000/products?limit=1&cursor=eyJsIjoi..."},
)
_PAGE_ERRORS = {400: errors(400, "invalid", "invalid_cursor")}


def _page_data(request, page: Page) -> dict:
    next_url = None
    if page.next_cursor:
        query = request.GET.copy()
        query["cursor"] = page.next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")
    return {"results": [product_data(p) for p in page.items], "next": next_url}


def _etag_matches(request, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): a proxy may have added `W/`."""
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    tags = parse_etags(header)
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


def _cache_key(request) -> tuple:
    """The whole URL: `next` links carry scheme and host, and every query parameter counts.

    The raw Host header is safe here: CommonMiddleware has already checked it against
    ALLOWED_HOSTS (and it is cheaper than building the absolute URI on every hit).
    """
    meta = request.META
    return (request.scheme, meta.get("HTTP_HOST", ""), request.path, meta.get("QUERY_STRING", ""))


class CatalogReadView(APIView):
    """A public catalog read: subclasses say what `data()` is; this serves it fast and cacheable."""

    def data(self, request, **kwargs):
        raise NotImplementedError

    def get(self, request, **kwargs):
        if not isinstance(request.accepted_renderer, JSONRenderer):
            return Response(self.data(request, **kwargs))  # the browsable API
        rendered = catalog_json_cached(key=_cache_key(request), load=lambda: self.data(request, **kwargs))
        if _etag_matches(request, rendered.etag):
            response = HttpResponseNotModified()
        else:
            # Already JSON: skip DRF's renderer, which would encode the same data again.
            response = HttpResponse(rendered.body, content_type="application/json")
        response["ETag"] = rendered.etag
        # A CDN or the ALB may keep it for what is left of the bound, so the staleness a client
        # sees stays within CATALOG_CACHE_SECONDS end to end.
        response["Cache-Control"] = f"public, max-age={rendered.fresh_for()}"
        if rendered.stale:
            # The last good answer, served because DynamoDB failed (stale-if-error): how old it is.
            response["Cache-Control"] = "public, max-age=0"
            response["Age"] = str(int(rendered.age()))
        return response


@extend_schema_view(
    get=extend_schema(
        operation_id="products_list",
        tags=["catalog"],
        summary="List products",
        parameters=[LIMIT_PARAMETER, CURSOR_PARAMETER],
        responses={200: ProductPageSerializer, **_PAGE_ERRORS},
        examples=[_PAGE_EXAMPLE],
    )
)
class ProductListView(CatalogReadView):
    """All products, a page at a time (`limit` 1-100, default 20; follow `next`)."""

    def data(self, request):
        page = products_page(limit=page_size(request.GET.get("limit")), cursor=request.GET.get("cursor"))
        return _page_data(request, page)


@extend_schema_view(
    get=extend_schema(
        operation_id="products_get",
        tags=["catalog"],
        summary="Get one product",
        parameters=[
            OpenApiParameter("product_id", str, OpenApiParameter.PATH, pattern=f"^{PRODUCT_ID_PATTERN}$"),
        ],
        responses={200: ProductSerializer, 404: errors(404, "product_not_found", "not_found")},
        examples=[OpenApiExample("A product", value=PRODUCT_EXAMPLE)],
    )
)
class ProductDetailView(CatalogReadView):
    """One product by id."""

    def data(self, request, product_id: str):
        return product_data(product_get(product_id=product_id))


@extend_schema_view(
    get=extend_schema(
        operation_id="categories_products_list",
        tags=["catalog"],
        summary="List the products of a category",
        parameters=[
            OpenApiParameter("category", str, OpenApiParameter.PATH, pattern=f"^{CATEGORY_PATTERN}$"),
            LIMIT_PARAMETER,
            CURSOR_PARAMETER,
        ],
        responses={200: ProductPageSerializer, **_PAGE_ERRORS},
        examples=[_PAGE_EXAMPLE],
    )
)
class CategoryProductListView(CatalogReadView):
    """Products of one category, by name (`limit` 1-100, default 20; follow `next`)."""

    def data(self, request, category: str):
        page = products_by_category(
            category=category,
            limit=page_size(request.GET.get("limit")),
            cursor=request.GET.get("cursor"),
        )
        return _page_data(request, page)
