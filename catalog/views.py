"""Catalog endpoints: `GET /products`, `GET /products/{id}`, `GET /categories/{name}`, and the
staff writes on the same paths (`POST /products`, `PATCH`/`DELETE /products/{id}`).

Public JSON answers come from the bounded-staleness cache (catalog/cache.py) with an `ETag` (304
on a matching `If-None-Match`) and `Cache-Control: max-age` within the staleness bound, so a CDN
or the load balancer may cache them too. Staff reads skip the cache (they read their own writes
at once) and see archived products. The browsable API (HTML) is rendered by DRF as usual, with
the staff forms for a staff caller.
"""

from django.http import HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils.http import parse_etags, urlencode
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsStaff, request_is_staff
from catalog.cache import catalog_json_cached
from catalog.models import CATEGORY_PATTERN, PRODUCT_ID_PATTERN
from catalog.selectors import product_get, products_by_category, products_page
from catalog.serializers import PRODUCT_EXAMPLE, ProductPageSerializer, ProductSerializer, product_data
from catalog.services import product_archive, product_create, product_update
from catalog.staff import (
    IF_MATCH_PARAMETER,
    PRODUCT_ID_PATH,
    STAFF_EDIT_RESPONSES,
    STAFF_PRODUCT,
    PriceField,
    StrictIntegerField,
    category_field,
    currency_field,
    description_field,
    expected_version,
    name_field,
    product_id_field,
    staff_response,
    stock_field,
)
from cloudcart.inputs import InputForm, validated
from cloudcart.openapi import BODY_ERRORS, CURSOR_PARAMETER, LIMIT_PARAMETER, STAFF_ONLY, errors
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
    """A public catalog read: subclasses say what `data()` is; this serves it fast and cacheable.

    Writes on the same path (subclasses' post/patch/put/delete) are for staff only.
    """

    staff = False  # set per request by get(): staff reads include archived products

    def get_permissions(self):
        method = self.request.method.lower()
        if method in ("get", "head", "options") or not hasattr(self, method):
            return super().get_permissions()  # reads, and 405 for a method the path lacks
        return [IsStaff()]

    def data(self, request, **kwargs):
        raise NotImplementedError

    def staff_headers(self, data) -> dict:
        return {}

    def get(self, request, **kwargs):
        if request_is_staff(request):
            # Never from the cache, never kept by a CDN: staff see their own writes at once.
            self.staff = True
            data = self.data(request, **kwargs)
            return Response(data, headers={"Cache-Control": "private, no-store", **self.staff_headers(data)})
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
    ),
    post=extend_schema(
        operation_id="products_create",
        tags=["staff"],
        summary="Create a product (staff)",
        examples=[
            OpenApiExample(
                "A new product",
                value={"name": "Desk lamp", "category": "home", "price": "39.90", "stock": 12},
                request_only=True,
            )
        ],
        responses={201: STAFF_PRODUCT, **BODY_ERRORS, **STAFF_ONLY, 409: errors(409, "product_exists")},
    ),
)
class ProductListView(InputForm, CatalogReadView):
    """All products, a page at a time (`limit` 1-100, default 20; follow `next`).

    Staff: POST creates a product (`id` optional, generated when absent; `price` a decimal string).
    """

    class ProductCreateInput(serializers.Serializer):
        id = product_id_field(required=False, help_text="Optional: generated when absent.")
        name = name_field()
        category = category_field()
        description = description_field(required=False, default="")
        price = PriceField(help_text='A decimal string >= 0 with at most two decimals, e.g. "19.99".')
        currency = currency_field(required=False)
        stock = stock_field()

    input_serializer = ProductCreateInput

    def data(self, request):
        page = products_page(
            limit=page_size(request.GET.get("limit")),
            cursor=request.GET.get("cursor"),
            include_archived=self.staff,
        )
        return _page_data(request, page)

    def post(self, request):
        data = validated(self.ProductCreateInput, request.data)
        product = product_create(
            product_id=data.get("id"),
            name=data["name"],
            category=data["category"],
            description=data["description"],
            price_cents=data["price"],
            currency=data.get("currency"),
            stock=data["stock"],
        )
        location = request.build_absolute_uri(reverse("product-detail", kwargs={"product_id": product.id}))
        return staff_response(product, status=201, headers={"Location": location})


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
    ),
    patch=extend_schema(
        operation_id="products_update",
        tags=["staff"],
        summary="Change a product's fields, naming the version you read (staff)",
        parameters=[PRODUCT_ID_PATH, IF_MATCH_PARAMETER],
        examples=[OpenApiExample("A new price", value={"price": "34.90"}, request_only=True)],
        responses=STAFF_EDIT_RESPONSES,
    ),
    put=extend_schema(
        operation_id="products_update_put",
        tags=["staff"],
        summary="Same as PATCH (gives the browsable API an HTML form for editing)",
        parameters=[PRODUCT_ID_PATH, IF_MATCH_PARAMETER],
        responses=STAFF_EDIT_RESPONSES,
    ),
    delete=extend_schema(
        operation_id="products_archive",
        tags=["staff"],
        summary="Archive a product: out of the shop, kept for orders and carts (staff)",
        parameters=[PRODUCT_ID_PATH, IF_MATCH_PARAMETER],
        request=None,
        responses={
            200: STAFF_PRODUCT,
            **STAFF_ONLY,
            404: errors(404, "product_not_found"),
            412: errors(412, "precondition_failed"),
        },
    ),
)
class ProductDetailView(CatalogReadView):
    """One product by id.

    Staff: PATCH changes fields, naming the version read (`If-Match: "3"`, or `version` in the
    form; PUT is the same, for the browser's form); DELETE archives the product.
    """

    class ProductEditInput(serializers.Serializer):
        name = name_field(required=False)
        category = category_field(required=False)
        description = description_field(required=False)
        price = PriceField(required=False, help_text='A decimal string >= 0, e.g. "19.99".')
        currency = currency_field(required=False)
        archived = serializers.BooleanField(required=False, help_text="false puts it back on sale.")
        version = StrictIntegerField(
            min_value=1, required=False, help_text="The version you read (forms; API clients send If-Match)."
        )

        def validate(self, attrs):
            if not set(attrs) - {"version"}:
                raise serializers.ValidationError("Give at least one field to change.")
            return attrs

    def get_serializer(self, *args, **kwargs):
        """The edit form of the browsable API, filled in with the product and its version."""
        instance = kwargs.pop("instance", None) or getattr(self, "product", None)
        return self.ProductEditInput(instance, *args, **kwargs)

    def data(self, request, product_id: str):
        self.product = product_data(product_get(product_id=product_id, include_archived=self.staff))
        return self.product

    def staff_headers(self, data) -> dict:
        return {"ETag": f'"{data["version"]}"'}

    def patch(self, request, product_id: str):
        data = validated(self.ProductEditInput, request.data)
        version = expected_version(request, body_version=data.pop("version", None), required=True)
        changes = {("price_cents" if field == "price" else field): value for field, value in data.items()}
        product = product_update(product_id=product_id, expected_version=version, changes=changes)
        return staff_response(product)

    def put(self, request, product_id: str):
        # Its own method, not `put = patch`: the schema decorators would otherwise give both
        # operations one operationId.
        return self.patch(request, product_id)

    def delete(self, request, product_id: str):
        version = expected_version(request, body_version=None, required=False)
        return staff_response(product_archive(product_id=product_id, expected_version=version))


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
            include_archived=self.staff,
        )
        return _page_data(request, page)
