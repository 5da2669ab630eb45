"""Catalog endpoints: `GET /products`, `GET /products/{id}`, `GET /categories/{name}`."""

from django.utils.http import urlencode
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.response import Response
from rest_framework.views import APIView

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


def _page_response(request, page: Page) -> Response:
    next_url = None
    if page.next_cursor:
        query = request.GET.copy()
        query["cursor"] = page.next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")
    return Response({"results": [product_data(p) for p in page.items], "next": next_url})


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
class ProductListView(APIView):
    """All products, a page at a time (`limit` 1-100, default 20; follow `next`)."""

    def get(self, request):
        page = products_page(limit=page_size(request.GET.get("limit")), cursor=request.GET.get("cursor"))
        return _page_response(request, page)


@extend_schema_view(
    get=extend_schema(
        operation_id="products_get",
        tags=["catalog"],
        summary="Get one product",
        parameters=[
            OpenApiParameter("product_id", str, OpenApiParameter.PATH, pattern=r"^[A-Za-z0-9._-]{1,64}$"),
        ],
        responses={200: ProductSerializer, 404: errors(404, "product_not_found", "not_found")},
        examples=[OpenApiExample("A product", value=PRODUCT_EXAMPLE)],
    )
)
class ProductDetailView(APIView):
    """One product by id."""

    def get(self, request, product_id: str):
        return Response(product_data(product_get(product_id=product_id)))


@extend_schema_view(
    get=extend_schema(
        operation_id="categories_products_list",
        tags=["catalog"],
        summary="List the products of a category",
        parameters=[
            OpenApiParameter("category", str, OpenApiParameter.PATH, pattern=r"^[^/]{1,100}$"),
            LIMIT_PARAMETER,
            CURSOR_PARAMETER,
        ],
        responses={200: ProductPageSerializer, **_PAGE_ERRORS},
        examples=[_PAGE_EXAMPLE],
    )
)
class CategoryProductListView(APIView):
    """Products of one category, by name (`limit` 1-100, default 20; follow `next`)."""

    def get(self, request, category: str):
        page = products_by_category(
            category=category,
            limit=page_size(request.GET.get("limit")),
            cursor=request.GET.get("cursor"),
        )
        return _page_response(request, page)
