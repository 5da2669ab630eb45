"""Catalog endpoints: `GET /products`, `GET /products/{id}`, `GET /categories/{name}`."""

from django.utils.http import urlencode
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.selectors import product_get, products_by_category, products_page
from catalog.serializers import product_data
from cloudcart.pagination import Page, page_size


def _page_response(request, page: Page) -> Response:
    next_url = None
    if page.next_cursor:
        query = request.GET.copy()
        query["cursor"] = page.next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query, doseq=True)}")
    return Response({"results": [product_data(p) for p in page.items], "next": next_url})


class ProductListView(APIView):
    """All products, a page at a time (`limit` 1-100, default 20; follow `next`)."""

    def get(self, request):
        page = products_page(limit=page_size(request.GET.get("limit")), cursor=request.GET.get("cursor"))
        return _page_response(request, page)


class ProductDetailView(APIView):
    """One product by id."""

    def get(self, request, product_id: str):
        return Response(product_data(product_get(product_id=product_id)))


class CategoryProductListView(APIView):
    """Products of one category, by name (`limit` 1-100, default 20; follow `next`)."""

    def get(self, request, category: str):
        page = products_by_category(
            category=category,
            limit=page_size(request.GET.get("limit")),
            cursor=request.GET.get("cursor"),
        )
        return _page_response(request, page)
