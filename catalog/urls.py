"""Catalog routes (root paths, as in the original CloudCart)."""

from django.urls import re_path

from catalog import staff_views, views
from catalog.models import CATEGORY_PATTERN, PRODUCT_ID_PATTERN

PRODUCT_ID = rf"(?P<product_id>{PRODUCT_ID_PATTERN})"
CATEGORY = rf"(?P<category>{CATEGORY_PATTERN})"

urlpatterns = [
    re_path(r"^products$", views.ProductListView.as_view(), name="product-list"),
    re_path(rf"^products/{PRODUCT_ID}$", views.ProductDetailView.as_view(), name="product-detail"),
    re_path(rf"^categories/{CATEGORY}$", views.CategoryProductListView.as_view(), name="category-products"),
    re_path(rf"^products/{PRODUCT_ID}/stock$", staff_views.ProductStockView.as_view(), name="product-stock"),
    re_path(rf"^products/{PRODUCT_ID}/image$", staff_views.ProductImageView.as_view(), name="product-image"),
    re_path(r"^uploads/sign$", staff_views.ImageUploadSignView.as_view(), name="upload-sign"),
]
