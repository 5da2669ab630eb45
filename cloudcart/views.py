"""The API root: where a person (or a browser on the browsable API) finds every endpoint."""

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView


class ApiRootView(APIView):
    """CloudCart: a product catalog, carts, checkout and asynchronous order processing."""

    @extend_schema(
        summary="Links to every endpoint",
        responses={200: OpenApiTypes.OBJECT},
        tags=["root"],
    )
    def get(self, request):
        def url(name: str, **kwargs) -> str:
            return request.build_absolute_uri(reverse(name, kwargs=kwargs or None))

        return Response(
            {
                "products": url("product-list"),
                "product": url("product-detail", product_id="1"),
                "category": url("category-products", category="electronics"),
                "product_stock": url("product-stock", product_id="1"),
                "product_image": url("product-image", product_id="1"),
                "upload_sign": url("upload-sign"),
                "cart": url("cart"),
                "checkout": url("checkout"),
                "orders": url("order-list"),
                "login": url("auth-login"),
                "register": url("auth-register"),
                "me": url("me"),
                "docs": url("swagger-ui"),
                "schema": url("schema"),
                "health": url("healthz"),
                "ready": url("readyz"),
            }
        )
