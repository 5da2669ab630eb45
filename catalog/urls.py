"""Catalog routes (root paths, as in the original CloudCart)."""

from django.urls import re_path

from catalog import views

# Ids and category names are bounded here, so an absurd path is a 404, never a DynamoDB error.
PRODUCT_ID = r"(?P<product_id>[A-Za-z0-9._-]{1,64})"
CATEGORY = r"(?P<category>[^/]{1,100})"

urlpatterns = [
    re_path(r"^products$", views.ProductListView.as_view(), name="product-list"),
    re_path(rf"^products/{PRODUCT_ID}$", views.ProductDetailView.as_view(), name="product-detail"),
    re_path(rf"^categories/{CATEGORY}$", views.CategoryProductListView.as_view(), name="category-products"),
]
